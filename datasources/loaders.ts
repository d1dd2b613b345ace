/**
 * One set of DataLoaders per request, built in the context. Every loader is bound to the request's
 * subject, so nothing loaded for one customer can be handed to another, and every batch function asks
 * each provider once: a query over N accounts, or `_entities` with N references, costs one partner
 * call per provider and resource kind whatever N is.
 *
 * Batch functions return results in key order; a key the subject does not own resolves to null,
 * exactly like a key that does not exist (ownership is checked here, in the data layer, too).
 */
import DataLoader from 'dataloader';
import type { Logger } from 'pino';
import type { Principal } from '../server/context.js';
import { UnauthenticatedError } from '../server/errors.js';
import type { Services } from '../server/services.js';
import type { Account, Balance, ProviderName, Transaction } from './canonical.js';
import { decodeId, type DecodedId, type EntityKind } from './ids.js';
import type { CallContext } from './types.js';

export interface TransactionWindow {
  from?: Date;
  to?: Date;
}

export interface Loaders {
  /** Every account the subject holds at a provider (one bulk call per provider). */
  accountsByProvider: DataLoader<ProviderName, Account[]>;
  /** An account by global id; null when it does not exist or is not the subject's. */
  account: DataLoader<string, Account | null>;
  /** The balance of an account by global id. */
  balance: DataLoader<string, Balance | null>;
  /** Transactions of an account (global id) within a window, newest first. */
  transactions: DataLoader<{ accountId: string; window: TransactionWindow }, Transaction[], string>;
  /** A transaction by global id. */
  transaction: DataLoader<string, Transaction | null>;
}

interface LoaderScope {
  principal: Principal | null;
  correlationId: string;
  logger: Logger;
}

export function createLoaders(scope: LoaderScope, services: Pick<Services, 'registry'>): Loaders {
  const { registry } = services;
  const call = (): CallContext => {
    if (!scope.principal) throw new UnauthenticatedError();
    return { subject: scope.principal.subject, correlationId: scope.correlationId, logger: scope.logger };
  };

  const accountsByProvider = new DataLoader<ProviderName, Account[]>(async (providers) =>
    Promise.all(providers.map(async (name) => registry.accounts(name).listAccounts(call()).catch(asError))),
  );

  const account = new DataLoader<string, Account | null>(async (ids) => {
    const decoded = ids.map((id) => decodeId(id, 'Account'));
    const byProvider = await loadPerProvider(decoded, (name) => accountsByProvider.load(name));
    return decoded.map((key) => {
      if (!key) return null;
      const accounts = byProvider.get(key.provider);
      if (accounts instanceof Error) return accounts;
      return accounts?.find((candidate) => candidate.partnerId === key.partnerId) ?? null;
    });
  });

  const balance = new DataLoader<string, Balance | null>(async (ids) => {
    const decoded = ids.map((id) => decodeId(id, 'Account'));
    const byProvider = await loadPerProvider(decoded, (name, keys) =>
      registry.accounts(name).getBalances(call(), unique(keys.map((key) => key.partnerId))),
    );
    return decoded.map((key) => {
      if (!key) return null;
      const balances = byProvider.get(key.provider);
      if (balances instanceof Error) return balances;
      return balances?.get(key.partnerId) ?? null;
    });
  });

  const transactions = new DataLoader<
    { accountId: string; window: TransactionWindow },
    Transaction[],
    string
  >(
    async (keys) => {
      // One partner call per provider and window; results are split back per account.
      const groups = new Map<
        string,
        { provider: ProviderName; window: TransactionWindow; partnerIds: Set<string> }
      >();
      const decoded = keys.map((key) => decodeId(key.accountId, 'Account'));
      keys.forEach((key, index) => {
        const id = decoded[index];
        if (!id) return;
        const group = `${id.provider}|${windowKey(key.window)}`;
        const entry = groups.get(group) ?? {
          provider: id.provider,
          window: key.window,
          partnerIds: new Set<string>(),
        };
        entry.partnerIds.add(id.partnerId);
        groups.set(group, entry);
      });
      const results = new Map<string, Transaction[] | Error>();
      await Promise.all(
        [...groups].map(async ([group, entry]) => {
          const list = await (async () =>
            registry
              .accounts(entry.provider)
              .listTransactions(call(), [...entry.partnerIds], entry.window))().catch(asError);
          results.set(group, list);
        }),
      );
      return keys.map((key, index) => {
        const id = decoded[index];
        if (!id) return [];
        const list = results.get(`${id.provider}|${windowKey(key.window)}`);
        if (list instanceof Error) return list;
        return (list ?? []).filter((transaction) => transaction.accountId === key.accountId);
      });
    },
    { cacheKeyFn: (key) => `${key.accountId}|${windowKey(key.window)}` },
  );

  const transaction = new DataLoader<string, Transaction | null>(async (ids) => {
    const decoded = ids.map((id) => decodeId(id, 'Transaction'));
    const byProvider = await loadPerProvider(decoded, async (name) => {
      const accounts = await accountsByProvider.load(name);
      return registry.accounts(name).listTransactions(
        call(),
        accounts.map((owned) => owned.partnerId),
        {},
      );
    });
    return decoded.map((key) => {
      if (!key) return null;
      const list = byProvider.get(key.provider);
      if (list instanceof Error) return list;
      return list?.find((candidate) => candidate.partnerId === key.partnerId) ?? null;
    });
  });

  return { accountsByProvider, account, balance, transactions, transaction };
}

/** Runs `load` once per provider present among the keys; a provider's failure is kept as its value. */
async function loadPerProvider<T>(
  keys: readonly (DecodedId | null)[],
  load: (provider: ProviderName, keys: DecodedId[]) => Promise<T>,
): Promise<Map<ProviderName, T | Error>> {
  const groups = new Map<ProviderName, DecodedId[]>();
  for (const key of keys) {
    if (!key) continue;
    groups.set(key.provider, [...(groups.get(key.provider) ?? []), key]);
  }
  const results = new Map<ProviderName, T | Error>();
  await Promise.all(
    [...groups].map(async ([provider, group]) => {
      results.set(provider, await (async () => load(provider, group))().catch(asError));
    }),
  );
  return results;
}

function asError(error: unknown): Error {
  return error instanceof Error ? error : new Error(String(error));
}

function unique(values: string[]): string[] {
  return [...new Set(values)];
}

function windowKey(window: TransactionWindow): string {
  return `${window.from?.toISOString() ?? ''}..${window.to?.toISOString() ?? ''}`;
}

export type { EntityKind };
