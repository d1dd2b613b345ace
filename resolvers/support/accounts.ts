/**
 * The subject's accounts across partners: only partners the subject holds an active consent with
 * are asked, each once per request (the loader batches), and the list has one stable order.
 */
import type { Account, ProviderName } from '../../datasources/canonical.js';
import type { RequestContext } from '../../server/context.js';
import { UnauthenticatedError } from '../../server/errors.js';

export async function accountsOf(
  context: RequestContext,
  provider: ProviderName | null | undefined,
): Promise<Account[]> {
  const principal = context.principal;
  if (!principal) throw new UnauthenticatedError();
  const consents = await context.services.consents.listBySubject(principal.subject);
  const providers = [
    ...new Set(
      consents
        .filter(
          (consent) => consent.status === 'ACTIVE' && context.services.registry.hasAccounts(consent.provider),
        )
        .map((consent) => consent.provider),
    ),
  ].filter((name) => !provider || name === provider);
  const lists = await Promise.all(providers.map((name) => context.loaders.accountsByProvider.load(name)));
  return lists.flat().sort(byProviderThenName);
}

function byProviderThenName(a: Account, b: Account): number {
  return a.provider.localeCompare(b.provider) || a.name.localeCompare(b.name) || a.id.localeCompare(b.id);
}
