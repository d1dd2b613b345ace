/**
 * One set of DataLoaders per request, built in the context. Every loader is bound to the request's
 * subject, so nothing loaded for one customer can be handed to another, and every batch function asks
 * each provider once: a query over N accounts, or `_entities` with N references, costs one partner
 * call per provider and resource kind whatever N is.
 *
 * Batch functions return results in key order; a key the subject does not own resolves to null,
 * exactly like a key that does not exist (ownership is checked here, in the data layer, too: only the
 * subject's own accounts are ever asked about, and anything a partner returns for another subject is
 * dropped).
 *
 * Consent: no partner is called for a subject's data without an active consent with that partner
 * holding the canonical permission for the kind of data (`accounts:read`, `balances:read`,
 * `transactions:read`); otherwise the load fails with CONSENT_REQUIRED (also for an expired or revoked
 * consent). The subject's consents are read once per request, into a ConsentSnapshot that answers
 * every permission check, and that is also the credential store the request's partner calls read
 * their tokens from (CallContext.credentials): one read per request, one decryption per partner.
 *
 * No waterfall: a listing of accounts can start the balance and transactions reads of the accounts
 * it will show before it answers (`prefetch`, for the accounts last listed); the loaders use such a
 * read only for accounts the fresh listing confirms.
 *
 * The loaders are built from narrow ports (LoaderPorts), not from the process's services: what they
 * read is exactly what they are given.
 */
import DataLoader from 'dataloader';
import type { Logger } from 'pino';
import { ConsentRequiredError, UnauthenticatedError } from '../domain/errors.js';
import { ConsentSnapshot } from '../store/consent-snapshot.js';
import type { Account, Balance, Dispute, Payment, ProviderName, Transaction } from '../domain/model.js';
import type { Principal } from '../domain/principal.js';
import { decodeId, encodeId, type DecodedId, type EntityKind } from '../domain/ids.js';
import type { AccountsProvider, CallContext } from '../domain/providers.js';
import { asError, covering, loadPerProvider, unique, type Ahead } from './support/batching.js';

export interface TransactionWindow {
  from?: Date;
  to?: Date;
}

/** What a query will read of the accounts it lists, so those reads can start with the listing. */
export interface AccountReads {
  balances: boolean;
  /** One entry per window the query asks transactions in. */
  transactionWindows: readonly TransactionWindow[];
  /** The most accounts the listing shows: nothing is started for a subject who held more. */
  accountsAtMost?: number;
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
  /**
   * Resolves when the subject holds an active consent with the provider carrying the permission;
   * rejects with ConsentRequiredError otherwise. Answered from the request's consent snapshot.
   */
  requireConsent(provider: ProviderName, permission: DataPermission): Promise<void>;
  /** The partners the subject holds an active consent with, from the request's consent snapshot. */
  consentedProviders(): Promise<ProviderName[]>;
  /**
   * Starts the reads a listing of the provider's accounts leads to (balances, transactions per
   * window) now, for the accounts the subject held when last listed, instead of after the listing
   * answers: one round of partner calls instead of two. Only reads the request may make (its
   * token's scopes, the subject's consents) are started; the balance and transactions loaders take a
   * started read only when it covers every account the fresh listing confirms, and ask again
   * otherwise. Nothing is started before the subject's first listing.
   */
  prefetch(provider: ProviderName, reads: AccountReads): void;
  /** The subject's payments by global id (from our ledger); another subject's or an unknown id is null. */
  payment: DataLoader<string, Payment | null>;
  /** The disputes of the subject's payments by payment id (from our store), oldest first; one query per batch. */
  disputes: DataLoader<string, Dispute[]>;
  /**
   * The request's partner-call context: the subject, and their credentials from the request's consent
   * snapshot (no database read on a warm subject). Mutations call partners with it too.
   */
  call(): CallContext;
}

/** What the loaders read, and nothing more. */
export interface LoaderPorts {
  /** Where the request's consent snapshot reads the subject's consents and credentials. */
  consents: ConstructorParameters<typeof ConsentSnapshot>[1];
  partners: {
    /** The accounts capability of a partner (behind the cached fallback). */
    accounts(name: ProviderName): AccountsProvider;
    /** Whether a name belongs to a partner of the module list (ids naming others are not found). */
    isPartner(name: ProviderName): boolean;
  };
  payments: {
    /** The subject's payments among `ids`; the rest are absent. */
    paymentsById(subject: string, ids: readonly string[]): Promise<Map<string, Payment>>;
  };
  disputes: {
    /** The disputes of the subject's payments among `paymentIds`; other subjects' payments have none. */
    byPayments(subject: string, paymentIds: readonly string[]): Promise<Map<string, Dispute[]>>;
  };
}

/** The canonical permissions a consent grants for reading partner data. */
export type DataPermission = 'accounts:read' | 'balances:read' | 'transactions:read';

interface LoaderScope {
  principal: Principal | null;
  correlationId: string;
  logger: Logger;
  /** The oldest cached partner data the request accepts (its `Cache-Control`); absent: the configured ages. */
  maxAgeSeconds?: number;
}

export function createLoaders(scope: LoaderScope, ports: LoaderPorts): Loaders {
  const { partners: registry, consents } = ports;
  /** A global id of a partner this process knows; anything else is simply not found. */
  const decode = (id: string, kind: EntityKind): DecodedId | null => {
    const decoded = decodeId(id, kind);
    return decoded && registry.isPartner(decoded.provider) ? decoded : null;
  };
  // Read on first use; nothing is read for a request that never reaches a partner.
  const snapshot = scope.principal ? new ConsentSnapshot(scope.principal.subject, consents) : null;
  const subjectConsents = (): ConsentSnapshot => {
    if (!snapshot) throw new UnauthenticatedError();
    return snapshot;
  };
  const call = (): CallContext => {
    const { subject, credentials } = subjectConsents();
    return {
      subject,
      correlationId: scope.correlationId,
      logger: scope.logger,
      credentials,
      ...(scope.maxAgeSeconds === undefined ? {} : { maxAgeSeconds: scope.maxAgeSeconds }),
    };
  };

  const requireConsent = async (provider: ProviderName, permission: DataPermission): Promise<void> => {
    const consent = await subjectConsents().findActive(provider, permission);
    if (!consent) throw new ConsentRequiredError(provider, permission);
  };

  /** Keeps what belongs to the subject; anything else is a partner or mapping bug, dropped and logged. */
  const ownedOnly = <T extends { ownerId: string; id: string }>(items: T[], what: string): T[] => {
    const subject = call().subject;
    const owned = items.filter((item) => item.ownerId === subject);
    if (owned.length !== items.length) {
      scope.logger.error(
        { dropped: items.length - owned.length, what },
        "a partner returned another subject's data",
      );
    }
    return owned;
  };

  // Reads started by prefetch, by provider (balances) and by provider and window (transactions).
  const balancesAhead = new Map<ProviderName, Ahead<Map<string, Balance>>>();
  const transactionsAhead = new Map<string, Ahead<Transaction[]>>();

  const prefetch = (provider: ProviderName, reads: AccountReads): void => {
    const held = scope.principal?.scopes;
    if (!held || !registry.isPartner(provider)) return;
    const partner = registry.accounts(provider);
    const known = partner.knownAccountIds?.(call());
    if (!known || known.length === 0 || known.length > (reads.accountsAtMost ?? Infinity)) return;
    const start = <T>(permission: DataPermission, read: () => Promise<T>): Ahead<T> => {
      const result = requireConsent(provider, permission).then(read);
      // A failure reaches whoever takes the read; one nobody takes is dropped with it.
      result.catch(() => undefined);
      return { ids: new Set(known), result };
    };
    if (reads.balances && held.has('balances:read') && !balancesAhead.has(provider)) {
      balancesAhead.set(
        provider,
        start('balances:read', () => partner.getBalances(call(), known)),
      );
    }
    if (!held.has('transactions:read')) return;
    for (const window of reads.transactionWindows) {
      const group = `${provider}|${windowKey(window)}`;
      if (transactionsAhead.has(group)) continue;
      transactionsAhead.set(
        group,
        start('transactions:read', () => partner.listTransactions(call(), known, window)),
      );
    }
  };

  const accountsByProvider = new DataLoader<ProviderName, Account[]>(async (providers) =>
    Promise.all(
      providers.map(async (name) => {
        try {
          await requireConsent(name, 'accounts:read');
          return ownedOnly(await registry.accounts(name).listAccounts(call()), 'accounts');
        } catch (error) {
          return asError(error);
        }
      }),
    ),
  );

  /** The partner ids among `keys` that are the subject's own accounts at the provider. */
  const ownedAccountIds = async (provider: ProviderName, keys: readonly DecodedId[]): Promise<string[]> => {
    const accounts = await accountsByProvider.load(provider);
    const owned = new Set(accounts.map((account) => account.partnerId));
    return unique(keys.map((key) => key.partnerId).filter((partnerId) => owned.has(partnerId)));
  };

  const account = new DataLoader<string, Account | null>(async (ids) => {
    const decoded = ids.map((id) => decode(id, 'Account'));
    // Indexed once per provider: `_entities` with N references is N lookups, not N scans of N accounts.
    const byProvider = await loadPerProvider(decoded, async (name) => {
      const index = new Map<string, Account>();
      for (const candidate of await accountsByProvider.load(name)) {
        if (!index.has(candidate.partnerId)) index.set(candidate.partnerId, candidate);
      }
      return index;
    });
    return decoded.map((key) => {
      if (!key) return null;
      const accounts = byProvider.get(key.provider);
      if (accounts instanceof Error) return accounts;
      return accounts?.get(key.partnerId) ?? null;
    });
  });

  const balance = new DataLoader<string, Balance | null>(async (ids) => {
    const decoded = ids.map((id) => decode(id, 'Account'));
    const byProvider = await loadPerProvider(decoded, async (name, keys) => {
      await requireConsent(name, 'balances:read');
      const owned = await ownedAccountIds(name, keys);
      if (owned.length === 0) return new Map<string, Balance>();
      const ahead = covering(balancesAhead.get(name), owned);
      if (!ahead) return registry.accounts(name).getBalances(call(), owned);
      const all = await ahead;
      const confirmed = new Map<string, Balance>();
      for (const id of owned) {
        const balance = all.get(id);
        if (balance) confirmed.set(id, balance);
      }
      return confirmed;
    });
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
        { provider: ProviderName; window: TransactionWindow; keys: DecodedId[] }
      >();
      const decoded = keys.map((key) => decode(key.accountId, 'Account'));
      keys.forEach((key, index) => {
        const id = decoded[index];
        if (!id) return;
        const group = `${id.provider}|${windowKey(key.window)}`;
        const entry = groups.get(group) ?? {
          provider: id.provider,
          window: key.window,
          keys: [],
        };
        entry.keys.push(id);
        groups.set(group, entry);
      });
      const results = new Map<string, Transaction[] | Error>();
      await Promise.all(
        [...groups].map(async ([group, entry]) => {
          const list = await (async () => {
            await requireConsent(entry.provider, 'transactions:read');
            const owned = await ownedAccountIds(entry.provider, entry.keys);
            if (owned.length === 0) return [];
            const ahead = covering(transactionsAhead.get(group), owned);
            let found: Transaction[];
            if (ahead) {
              // Started for every account last listed: keep the ones the listing confirms.
              const confirmed = new Set(owned.map((id) => encodeId('Account', entry.provider, id)));
              found = (await ahead).filter((transaction) => confirmed.has(transaction.accountId));
            } else {
              found = await registry.accounts(entry.provider).listTransactions(call(), owned, entry.window);
            }
            return ownedOnly(found, 'transactions');
          })().catch(asError);
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
    const decoded = ids.map((id) => decode(id, 'Transaction'));
    const byProvider = await loadPerProvider(decoded, async (name) => {
      await requireConsent(name, 'transactions:read');
      const accounts = await accountsByProvider.load(name);
      const found = await registry.accounts(name).listTransactions(
        call(),
        accounts.map((owned) => owned.partnerId),
        {},
      );
      return ownedOnly(found, 'transactions');
    });
    return decoded.map((key) => {
      if (!key) return null;
      const list = byProvider.get(key.provider);
      if (list instanceof Error) return list;
      return list?.find((candidate) => candidate.partnerId === key.partnerId) ?? null;
    });
  });

  const consentedProviders = (): Promise<ProviderName[]> => subjectConsents().providers();

  // Payments come from our ledger, not a partner: one query per request for every id asked.
  const payment = new DataLoader<string, Payment | null>(async (ids) => {
    const found = await ports.payments.paymentsById(subjectConsents().subject, ids);
    return ids.map((id) => found.get(id) ?? null);
  });

  // A list of N payments asks for their disputes in one query, not N.
  const disputes = new DataLoader<string, Dispute[]>(async (paymentIds) => {
    const found = await ports.disputes.byPayments(subjectConsents().subject, paymentIds);
    return paymentIds.map((id) => found.get(id) ?? []);
  });

  return {
    accountsByProvider,
    account,
    balance,
    transactions,
    transaction,
    requireConsent,
    consentedProviders,
    prefetch,
    payment,
    disputes,
    call,
  };
}

function windowKey(window: TransactionWindow): string {
  return `${window.from?.toISOString() ?? ''}..${window.to?.toISOString() ?? ''}`;
}

export type { EntityKind };
