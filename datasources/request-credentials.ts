/**
 * How a request's own CredentialStore (CallContext.credentials, a ConsentSnapshot's) reaches the
 * providers, which were handed one process-wide store when the registry built them: the registry runs
 * every provider call inside `withCallCredentials`, and gives providers `routedCredentials`, which
 * answers from the store of the call in progress, or from the process-wide store outside any call
 * that carries one (payments, webhooks, seeding).
 */
import { AsyncLocalStorage } from 'node:async_hooks';
import type { AccountsProvider, CallContext, CredentialStore } from '../domain/providers.js';

const current = new AsyncLocalStorage<CredentialStore>();

/** Runs `fn` with the call's credential store, when it carries one, as the one providers see. */
function withCallCredentials<T>(ctx: CallContext, fn: () => Promise<T>): Promise<T> {
  return ctx.credentials ? current.run(ctx.credentials, fn) : fn();
}

/** A CredentialStore that asks the store of the call in progress, else `fallback`. */
export function routedCredentials(fallback: CredentialStore): CredentialStore {
  const store = () => current.getStore() ?? fallback;
  return {
    get: (subject, provider) => store().get(subject, provider),
    update: (credential) => store().update(credential),
  };
}

/** The accounts capability with every call made under its call's credential store. */
export function withRequestCredentials(accounts: AccountsProvider): AccountsProvider {
  return {
    name: accounts.name,
    listAccounts: (ctx) => withCallCredentials(ctx, () => accounts.listAccounts(ctx)),
    getBalances: (ctx, ids) => withCallCredentials(ctx, () => accounts.getBalances(ctx, ids)),
    listTransactions: (ctx, ids, query) =>
      withCallCredentials(ctx, () => accounts.listTransactions(ctx, ids, query)),
  };
}
