/**
 * CredentialStore.refreshing for the in-memory stores of unit tests, which one caller uses at a time:
 * no lock, the same steps otherwise (read the link's credential, run `fn`, save what it answers unless
 * it is the credential handed in).
 */
import type { ProviderName } from '../../domain/model.js';
import type { CredentialStore, PartnerCredential } from '../../domain/providers.js';

export async function refreshInPlace(
  store: Pick<CredentialStore, 'get' | 'update'>,
  subject: string,
  provider: ProviderName,
  fn: (current: PartnerCredential | null) => Promise<PartnerCredential>,
): Promise<PartnerCredential> {
  const current = await store.get(subject, provider);
  const next = await fn(current);
  if (next !== current) await store.update(next);
  return next;
}

/** The `refreshing` of a store a test never refreshes through. */
export const noRefreshing: CredentialStore['refreshing'] = () =>
  Promise.reject(new Error('This test store does not refresh credentials.'));
