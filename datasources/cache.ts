/**
 * The cached fallback (DESIGN §7): the last good answer of every partner read, kept per instance in
 * an LRU bounded by bytes, and served — marked `freshness { source: CACHED, asOf }` — only when the
 * partner fails (an error, a timeout, an open breaker, a full bulkhead), never instead of asking it.
 *
 * - Keys start with the subject (length-prefixed, so no subject can spell another's prefix), then
 *   provider, resource and arguments: a value fetched for one customer can never reach another.
 * - The entry's TTL is the configured maximum staleness: older values are never served, and evicted.
 * - Only PartnerErrors fall back. CONSENT_REQUIRED, authentication and input errors propagate: a
 *   customer who revoked a consent gets no data from the cache either.
 * - Values are stored per account (balances, transactions), so a later call over a subset of the
 *   accounts can still be answered; a fallback that cannot cover every account asked for is a miss.
 *
 * Freshness as a product feature: per resource kind, a maximum age (`maxAgeSeconds`, 0 by default:
 * always ask the partner) within which the last good value answers without asking the partner, marked
 * `CACHED` with its `asOf`. A request may lower it (`CallContext.maxAgeSeconds`; `Cache-Control:
 * no-cache` or `max-age=0` on the HTTP request asks for live data). Consent, ownership and scopes are
 * checked before a read reaches this layer, cached or not.
 *
 * Not lru-cache's fetchMethod: whether a failure may fall back depends on the error, which
 * fetchMethod's rejection path cannot tell.
 */
import { LRUCache } from 'lru-cache';
import { PartnerError } from '../domain/errors.js';
import type { Account, Balance, Freshness, ProviderName, Transaction } from '../domain/model.js';
import { encodeId } from '../domain/ids.js';
import type { AccountsProvider, CallContext } from '../domain/providers.js';

export interface CacheSettings {
  /** Upper bound of the cache's estimated size in bytes. */
  maxBytes: number;
  /** The oldest value the fallback may serve; 0 turns the fallback off. */
  maxStalenessSeconds: number;
  /** Per resource kind, how old a value may be and still answer without asking the partner; 0: always ask. */
  maxAgeSeconds?: Partial<Record<CachedResource, number>>;
}

/** Resource kinds, the label of every cache metric. */
export type CachedResource = 'accounts' | 'balances' | 'transactions';

/** How the cache reports lookups; server/metrics.ts implements it. */
export interface CacheObserver {
  /** A fallback lookup found (hit) or did not find (miss) a usable entry. */
  lookup(provider: ProviderName, resource: CachedResource, hit: boolean): void;
  /** A failed partner read was answered from the cache. */
  staleServe(provider: ProviderName, resource: CachedResource): void;
}

/**
 * A remembered value and when the partner gave it. `served` is the value as the cache serves it
 * (marked CACHED as of `fetchedAt`), made on its first serve and shared by every later one, so a warm
 * read allocates nothing per account or balance; the byte bound counts its shells. Values are never
 * changed once remembered.
 */
type Entry = { value: object; fetchedAt: number; served?: object };

const SILENT: CacheObserver = { lookup: () => undefined, staleServe: () => undefined };

export class FallbackCache {
  private readonly lru: LRUCache<string, Entry>;
  private readonly enabled: boolean;
  private readonly maxAgeMs: number;
  private readonly freshFor: Record<CachedResource, number>;

  constructor(
    settings: CacheSettings,
    private readonly observer: CacheObserver = SILENT,
    private readonly now: () => number = Date.now,
  ) {
    const fresh = settings.maxAgeSeconds ?? {};
    this.freshFor = {
      accounts: (fresh.accounts ?? 0) * 1000,
      balances: (fresh.balances ?? 0) * 1000,
      transactions: (fresh.transactions ?? 0) * 1000,
    };
    const keepMs = Math.max(settings.maxStalenessSeconds * 1000, ...Object.values(this.freshFor));
    this.enabled = keepMs > 0;
    this.maxAgeMs = settings.maxStalenessSeconds * 1000;
    this.lru = new LRUCache<string, Entry>({
      maxSize: settings.maxBytes,
      sizeCalculation: (entry, key) =>
        key.length * 2 + approximateBytes(entry.value) + shellBytes(entry.value),
      // lru-cache reads a ttl of 0 as "forever"; a disabled cache stores nothing instead.
      ttl: Math.max(1_000, keepMs),
      perf: { now },
    });
  }

  /**
   * The values of every key when each is within the resource's maximum age (lowered by the request's
   * own), so the partner need not be asked; null when one is missing or older.
   */
  fresh(resource: CachedResource, keys: readonly string[], requestMaxAgeSeconds?: number): Entry[] | null {
    const limit = Math.min(
      this.freshFor[resource],
      requestMaxAgeSeconds === undefined ? Infinity : requestMaxAgeSeconds * 1000,
    );
    if (!(limit > 0) || keys.length === 0) return null;
    const entries: Entry[] = [];
    const now = this.now();
    for (const key of keys) {
      const entry = this.lru.get(key);
      if (!entry || now - entry.fetchedAt > limit) return null;
      entries.push(entry);
    }
    return entries;
  }

  /** The key of one value: subject first, then provider, resource and arguments. */
  static key(subject: string, provider: ProviderName, resource: CachedResource, args = ''): string {
    return `${subject.length}:${subject}|${provider}|${resource}|${args}`;
  }

  remember(key: string, value: object): void {
    if (this.enabled) this.lru.set(key, { value, fetchedAt: this.now() });
  }

  /** The last good value, if it is not older than the maximum staleness. */
  recall(key: string): Entry | undefined {
    const entry = this.lru.get(key);
    // The TTL evicts; this check is exact to the millisecond (lru-cache reads its clock coarsely).
    return entry && this.now() - entry.fetchedAt <= this.maxAgeMs ? entry : undefined;
  }

  /** Drops everything held for a subject (erasure, a revoked link). */
  forgetSubject(subject: string): void {
    const prefix = `${subject.length}:${subject}|`;
    for (const key of [...this.lru.keys()]) if (key.startsWith(prefix)) this.lru.delete(key);
  }

  /** Estimated bytes held and entry count, for the gauges. */
  usage(): { bytes: number; entries: number } {
    return { bytes: this.lru.calculatedSize, entries: this.lru.size };
  }

  /** Feeds the observer; the wrapper below reports through here. */
  report(provider: ProviderName, resource: CachedResource, outcome: 'hit' | 'miss' | 'served'): void {
    if (outcome === 'served') this.observer.staleServe(provider, resource);
    else this.observer.lookup(provider, resource, outcome === 'hit');
  }
}

/**
 * The provider's reads, remembered when they succeed and answered from the cache when the partner
 * fails. The registry wraps every accounts capability with this, so all callers get the same rule.
 */
export function withFallback(provider: AccountsProvider, cache: FallbackCache): AccountsProvider {
  const name = provider.name;
  const key = (ctx: CallContext, resource: CachedResource, args?: string) =>
    FallbackCache.key(ctx.subject, name, resource, args);
  /** The entries of every key, or null (a miss) when one is missing or too old. */
  const recallAll = (resource: CachedResource, keys: readonly string[]) => {
    const entries: Entry[] = [];
    for (const k of keys) {
      const entry = cache.recall(k);
      cache.report(name, resource, entry ? 'hit' : 'miss');
      if (!entry) return null;
      entries.push(entry);
    }
    cache.report(name, resource, 'served');
    return entries;
  };

  return {
    name,

    async listAccounts(ctx) {
      const k = key(ctx, 'accounts');
      const recent = cache.fresh('accounts', [k], ctx.maxAgeSeconds)?.[0];
      if (recent) return servedAccounts(name, recent);
      try {
        const accounts = await provider.listAccounts(ctx);
        cache.remember(k, accounts);
        return accounts;
      } catch (error) {
        const entry = canFallBack(error) ? recallAll('accounts', [k])?.[0] : undefined;
        if (!entry) throw error;
        return servedAccounts(name, entry);
      }
    },

    knownAccountIds(ctx) {
      const entry = cache.recall(key(ctx, 'accounts'));
      return entry ? (entry.value as Account[]).map((account) => account.partnerId) : null;
    },

    async getBalances(ctx, partnerAccountIds) {
      const keys = partnerAccountIds.map((id) => key(ctx, 'balances', id));
      const recent = cache.fresh('balances', keys, ctx.maxAgeSeconds);
      if (recent) return balancesFrom(name, partnerAccountIds, recent);
      try {
        const balances = await provider.getBalances(ctx, partnerAccountIds);
        partnerAccountIds.forEach((id, index) => {
          const balance = balances.get(id);
          if (balance) cache.remember(keys[index]!, balance);
        });
        return balances;
      } catch (error) {
        const entries = canFallBack(error) ? recallAll('balances', keys) : null;
        if (!entries) throw error;
        return balancesFrom(name, partnerAccountIds, entries);
      }
    },

    async listTransactions(ctx, partnerAccountIds, query) {
      const window = `${query.from?.toISOString() ?? ''}..${query.to?.toISOString() ?? ''}`;
      const keys = partnerAccountIds.map((id) => key(ctx, 'transactions', `${id}|${window}`));
      const recent = cache.fresh('transactions', keys, ctx.maxAgeSeconds);
      if (recent) return transactionsFrom(recent);
      try {
        const transactions = await provider.listTransactions(ctx, partnerAccountIds, query);
        const byAccount = new Map<string, Transaction[]>();
        // Kept already marked as the copies they will be when served (CACHED, as of the partner's
        // answer), so serving them allocates nothing per transaction.
        for (const transaction of asCached(transactions)) {
          const list = byAccount.get(transaction.accountId);
          if (list) list.push(transaction);
          else byAccount.set(transaction.accountId, [transaction]);
        }
        partnerAccountIds.forEach((id, index) => {
          cache.remember(keys[index]!, byAccount.get(encodeId('Account', name, id)) ?? []);
        });
        return transactions;
      } catch (error) {
        const entries = canFallBack(error) ? recallAll('transactions', keys) : null;
        if (!entries) throw error;
        return transactionsFrom(entries);
      }
    },
  };
}

/** Cached accounts, each marked CACHED with when they were fetched (made once per entry). */
function servedAccounts(provider: ProviderName, entry: Entry): Account[] {
  if (!entry.served) {
    const freshness = cached(provider, entry);
    entry.served = (entry.value as Account[]).map((account) => ({ ...account, freshness }));
  }
  return entry.served as Account[];
}

/** Cached balances in the order asked, each marked CACHED with when it was fetched. */
function balancesFrom(provider: ProviderName, partnerAccountIds: readonly string[], entries: Entry[]) {
  return new Map(
    entries.map((entry, index) => {
      entry.served ??= { ...(entry.value as Balance), freshness: cached(provider, entry) };
      return [partnerAccountIds[index]!, entry.served as Balance];
    }),
  );
}

/** Transactions marked CACHED as of when the partner produced them (one freshness per distinct one). */
function asCached(transactions: readonly Transaction[]): Transaction[] {
  const marked = new Map<Freshness, Freshness>();
  return transactions.map((transaction) => {
    const live = transaction.freshness;
    if (live.source === 'CACHED') return transaction;
    let freshness = marked.get(live);
    if (!freshness) marked.set(live, (freshness = { ...live, source: 'CACHED' }));
    return { ...transaction, freshness };
  });
}

/** Cached transaction lists (already marked CACHED), newest first. */
function transactionsFrom(entries: Entry[]): Transaction[] {
  return entries
    .flatMap((entry) => entry.value as Transaction[])
    .sort((a, b) => b.bookedAt.getTime() - a.bookedAt.getTime());
}

/** Partner failures fall back; consent, authentication and input errors never do. */
function canFallBack(error: unknown): boolean {
  return error instanceof PartnerError;
}

function cached(provider: ProviderName, entry: Entry): Freshness {
  return { source: 'CACHED', asOf: new Date(entry.fetchedAt), provider };
}

/** What the shallow CACHED copy of a value (`Entry.served`) may add: one object shell per item. */
function shellBytes(value: object): number {
  const items = Array.isArray(value) ? value : [value];
  const first: unknown = items[0];
  return first && typeof first === 'object' ? items.length * (32 + 8 * Object.keys(first).length) : 0;
}

/**
 * A cheap size estimate for the byte bound: strings at two bytes a character, fixed costs for other
 * values and object slots, and arrays estimated from their first element times their length (canonical
 * lists are uniform), so sizing stays O(fields of one item) however long the list.
 */
export function approximateBytes(value: unknown): number {
  if (value === null || value === undefined) return 8;
  switch (typeof value) {
    case 'string':
      return 16 + value.length * 2;
    case 'object': {
      if (value instanceof Date) return 32;
      if (Array.isArray(value))
        return 16 + (value.length === 0 ? 0 : value.length * approximateBytes(value[0]));
      if (value instanceof Map) {
        const first = value.entries().next().value as [unknown, unknown] | undefined;
        return 32 + (first ? value.size * (approximateBytes(first[0]) + approximateBytes(first[1])) : 0);
      }
      let total = 16;
      for (const field in value) total += 8 + approximateBytes((value as Record<string, unknown>)[field]);
      return total;
    }
    default:
      return 8;
  }
}
