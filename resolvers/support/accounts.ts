/**
 * The subject's accounts across partners: only partners the subject holds an active consent with
 * are asked, each once per request (the loader batches), and the list has one stable order.
 *
 * Partial results: when some partners fail (and have nothing cached), the others' accounts are still
 * returned and each failure is reported as an error on the field's path (support/partial-errors.ts);
 * the field fails only when every partner did.
 */
import type { GraphQLResolveInfo } from 'graphql';
import type { Account, ProviderName } from '../../domain/model.js';
import type { RequestContext } from '../context.js';
import type { AccountReads } from '../loaders.js';
import { UnauthenticatedError } from '../../domain/errors.js';
import { reportPartialFailure } from './partial-errors.js';

export async function accountsOf(
  context: RequestContext,
  provider: ProviderName | null | undefined,
  info: GraphQLResolveInfo,
  /** What the operation reads under the listed accounts, started with the listing (Loaders.prefetch). */
  reads?: AccountReads,
): Promise<Account[]> {
  const principal = context.principal;
  if (!principal) throw new UnauthenticatedError();
  const providers = (await context.loaders.consentedProviders()).filter(
    (name) => context.services.partners.hasAccounts(name) && (!provider || name === provider),
  );
  if (reads) for (const name of providers) context.loaders.prefetch(name, reads);
  const settled = await Promise.allSettled(
    providers.map((name) => context.loaders.accountsByProvider.load(name)),
  );
  const failures = settled.flatMap((outcome) => (outcome.status === 'rejected' ? [outcome.reason] : []));
  if (failures.length > 0 && failures.length === settled.length) throw failures[0];
  for (const failure of failures) {
    reportPartialFailure(context, info, failure instanceof Error ? failure : new Error(String(failure)));
  }
  return settled
    .flatMap((outcome) => (outcome.status === 'fulfilled' ? outcome.value : []))
    .sort(byProviderThenName);
}

function byProviderThenName(a: Account, b: Account): number {
  return a.provider.localeCompare(b.provider) || a.name.localeCompare(b.name) || a.id.localeCompare(b.id);
}
