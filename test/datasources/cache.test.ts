import { pino } from 'pino';
import { describe, expect, it } from 'vitest';
import {
  approximateBytes,
  FallbackCache,
  withFallback,
  type CacheObserver,
  type CacheSettings,
} from '../../datasources/cache.js';
import type { Account, Balance, Transaction } from '../../domain/model.js';
import { encodeId } from '../../domain/ids.js';
import type { AccountsProvider, CallContext } from '../../domain/providers.js';
import { ConsentRequiredError, PartnerError } from '../../domain/errors.js';

const logger = pino({ level: 'silent' });
const ctx = (subject: string): CallContext => ({ subject, correlationId: 'c-1', logger });
const live = (at: number) => ({
  source: 'LIVE' as const,
  asOf: new Date(at),
  provider: 'openbanking' as const,
});
const down = () => new PartnerError({ partner: 'openbanking', code: 'PARTNER_UNAVAILABLE', retryable: true });

function account(subject: string, partnerId: string): Account {
  return {
    id: encodeId('Account', 'openbanking', partnerId),
    provider: 'openbanking',
    partnerId,
    ownerId: subject,
    name: `${subject} ${partnerId}`,
    type: 'CURRENT',
    currency: 'GBP',
    maskedNumber: '1234',
    freshness: live(0),
  };
}

function balance(partnerId: string, minor: bigint): Balance {
  return {
    accountId: encodeId('Account', 'openbanking', partnerId),
    current: { minor, currency: 'GBP' },
    available: null,
    asOf: new Date(0),
    freshness: live(0),
  };
}

function transaction(subject: string, accountPartnerId: string, id: string, day: number): Transaction {
  return {
    id: encodeId('Transaction', 'openbanking', id),
    provider: 'openbanking',
    partnerId: id,
    ownerId: subject,
    accountId: encodeId('Account', 'openbanking', accountPartnerId),
    amount: { minor: -100n, currency: 'GBP' },
    status: 'BOOKED',
    description: id,
    merchantName: null,
    bookedAt: new Date(Date.UTC(2025, 0, day)),
    valueDate: null,
    freshness: live(0),
    category: null,
  };
}

/** A partner whose health the test switches, serving each subject two accounts. */
function partner() {
  const state = { healthy: true, error: down as () => Error, calls: 0 };
  const guard = () => {
    state.calls++;
    if (!state.healthy) throw state.error();
  };
  const provider: AccountsProvider = {
    name: 'openbanking',
    async listAccounts(call) {
      guard();
      return [account(call.subject, `${call.subject}-a`), account(call.subject, `${call.subject}-b`)];
    },
    async getBalances(_call, ids) {
      guard();
      return new Map(ids.map((id, index) => [id, balance(id, BigInt(100 * (index + 1)))]));
    },
    async listTransactions(call, ids) {
      guard();
      return ids.flatMap((id, index) => [transaction(call.subject, id, `${id}-t`, index + 1)]);
    },
  };
  return { state, provider };
}

function setup(settings: CacheSettings = { maxBytes: 1024 * 1024, maxStalenessSeconds: 60 }) {
  const clock = { now: 1_000_000 };
  const counts = { hits: 0, misses: 0, served: 0 };
  const observer: CacheObserver = {
    lookup: (_provider, _resource, hit) => void (hit ? counts.hits++ : counts.misses++),
    staleServe: () => void counts.served++,
  };
  const cache = new FallbackCache(settings, observer, () => clock.now);
  const { state, provider } = partner();
  return { clock, counts, cache, state, reads: withFallback(provider, cache) };
}

describe('the cached fallback', () => {
  it('passes live answers through and serves the last good one, marked CACHED, when the partner fails', async () => {
    const { clock, counts, state, reads } = setup();
    const fresh = await reads.listAccounts(ctx('alice'));
    expect(fresh.every((item) => item.freshness.source === 'LIVE')).toBe(true);
    clock.now += 5_000;
    state.healthy = false;
    const served = await reads.listAccounts(ctx('alice'));
    expect(served.map((item) => item.id)).toEqual(fresh.map((item) => item.id));
    for (const item of served) {
      expect(item.freshness).toEqual({
        source: 'CACHED',
        asOf: new Date(1_000_000),
        provider: 'openbanking',
      });
    }
    expect(counts).toEqual({ hits: 1, misses: 0, served: 1 });
  });

  it("never serves one subject's cached data to another", async () => {
    const { state, reads } = setup();
    await reads.listAccounts(ctx('alice'));
    await reads.getBalances(ctx('alice'), ['alice-a']);
    state.healthy = false;
    await expect(reads.listAccounts(ctx('bob'))).rejects.toMatchObject({ code: 'PARTNER_UNAVAILABLE' });
    await expect(reads.getBalances(ctx('bob'), ['alice-a'])).rejects.toMatchObject({
      code: 'PARTNER_UNAVAILABLE',
    });
    // A subject spelled to look like another's key prefix does not reach it either.
    await expect(reads.listAccounts(ctx('alice|openbanking'))).rejects.toBeInstanceOf(PartnerError);
  });

  it('does not fall back on consent or authentication errors', async () => {
    const { state, reads } = setup();
    await reads.listAccounts(ctx('alice'));
    state.healthy = false;
    state.error = () => new ConsentRequiredError('openbanking', 'accounts:read');
    await expect(reads.listAccounts(ctx('alice'))).rejects.toBeInstanceOf(ConsentRequiredError);
  });

  it('refuses values older than the maximum staleness', async () => {
    const { clock, state, reads } = setup({ maxBytes: 1024 * 1024, maxStalenessSeconds: 60 });
    await reads.listAccounts(ctx('alice'));
    state.healthy = false;
    clock.now += 59_000;
    await expect(reads.listAccounts(ctx('alice'))).resolves.toHaveLength(2);
    clock.now += 2_000;
    await expect(reads.listAccounts(ctx('alice'))).rejects.toMatchObject({ code: 'PARTNER_UNAVAILABLE' });
  });

  it('serves balances per account, and only when every account asked for is cached', async () => {
    const { counts, state, reads } = setup();
    await reads.getBalances(ctx('alice'), ['alice-a', 'alice-b']);
    state.healthy = false;
    const subset = await reads.getBalances(ctx('alice'), ['alice-b']);
    expect(subset.get('alice-b')).toMatchObject({
      current: { minor: 200n },
      freshness: { source: 'CACHED' },
    });
    await expect(reads.getBalances(ctx('alice'), ['alice-a', 'alice-c'])).rejects.toBeInstanceOf(
      PartnerError,
    );
    expect(counts.misses).toBe(1);
  });

  it('keys transactions by account and window', async () => {
    const { state, reads } = setup();
    const window = { from: new Date(Date.UTC(2025, 0, 1)) };
    await reads.listTransactions(ctx('alice'), ['alice-a', 'alice-b'], {});
    state.healthy = false;
    const served = await reads.listTransactions(ctx('alice'), ['alice-a', 'alice-b'], {});
    expect(served.map((item) => item.partnerId)).toEqual(['alice-b-t', 'alice-a-t']);
    expect(served.map((item) => item.freshness.source)).toEqual(['CACHED', 'CACHED']);
    await expect(reads.listTransactions(ctx('alice'), ['alice-a'], window)).rejects.toBeInstanceOf(
      PartnerError,
    );
  });

  it('stays within its byte bound, evicting the least recently used', async () => {
    const { cache, reads } = setup({ maxBytes: 4_000, maxStalenessSeconds: 60 });
    for (let i = 0; i < 50; i++) await reads.listAccounts(ctx(`subject-${i}`));
    expect(cache.usage().bytes).toBeLessThanOrEqual(4_000);
    expect(cache.usage().entries).toBeLessThan(50);
    expect(cache.recall(FallbackCache.key('subject-49', 'openbanking', 'accounts'))).toBeDefined();
    expect(cache.recall(FallbackCache.key('subject-0', 'openbanking', 'accounts'))).toBeUndefined();
  });

  it('forgets a subject on request, and stores nothing when the fallback is off', async () => {
    const { cache, state, reads } = setup();
    await reads.listAccounts(ctx('alice'));
    await reads.listAccounts(ctx('bob'));
    cache.forgetSubject('alice');
    state.healthy = false;
    await expect(reads.listAccounts(ctx('alice'))).rejects.toBeInstanceOf(PartnerError);
    await expect(reads.listAccounts(ctx('bob'))).resolves.toHaveLength(2);

    const off = setup({ maxBytes: 1024 * 1024, maxStalenessSeconds: 0 });
    await off.reads.listAccounts(ctx('alice'));
    expect(off.cache.usage().entries).toBe(0);
  });

  it('estimates sizes from one element of a list, not by serialising it', () => {
    const one = approximateBytes([account('alice', 'x')]);
    expect(approximateBytes(Array.from({ length: 100 }, () => account('alice', 'x')))).toBe(
      16 + 100 * (one - 16),
    );
    expect(one).toBeGreaterThan(200);
  });
});

describe('freshness within a maximum age', () => {
  const settings: CacheSettings = {
    maxBytes: 1024 * 1024,
    maxStalenessSeconds: 60,
    maxAgeSeconds: { accounts: 30, balances: 10, transactions: 30 },
  };

  it('answers from the last good value within the age, marked CACHED with when it was fetched', async () => {
    const { clock, state, reads } = setup(settings);
    await reads.listAccounts(ctx('alice'));
    await reads.getBalances(ctx('alice'), ['alice-a']);
    await reads.listTransactions(ctx('alice'), ['alice-a'], {});
    const calls = state.calls;
    clock.now += 9_000;
    const accounts = await reads.listAccounts(ctx('alice'));
    const balances = await reads.getBalances(ctx('alice'), ['alice-a']);
    const transactions = await reads.listTransactions(ctx('alice'), ['alice-a'], {});
    expect(state.calls).toBe(calls);
    expect(accounts[0]!.freshness).toEqual({
      source: 'CACHED',
      asOf: new Date(1_000_000),
      provider: 'openbanking',
    });
    expect(balances.get('alice-a')!.freshness.source).toBe('CACHED');
    expect(transactions.map((item) => item.partnerId)).toEqual(['alice-a-t']);
    // A cached transaction keeps the time the partner produced it, not the time it was served.
    expect(transactions[0]!.freshness).toEqual({ ...live(0), source: 'CACHED' });
  });

  it('makes the CACHED copy of a value once and serves that same copy after, never changing the value kept', async () => {
    const { clock, reads } = setup(settings);
    const liveAccounts = await reads.listAccounts(ctx('alice'));
    const liveBalance = (await reads.getBalances(ctx('alice'), ['alice-a'])).get('alice-a');
    clock.now += 1_000;
    const first = await reads.listAccounts(ctx('alice'));
    const firstBalance = (await reads.getBalances(ctx('alice'), ['alice-a'])).get('alice-a');
    clock.now += 1_000;
    expect(await reads.listAccounts(ctx('alice'))).toBe(first);
    expect((await reads.getBalances(ctx('alice'), ['alice-a'])).get('alice-a')).toBe(firstBalance);
    expect(firstBalance!.freshness).toEqual({
      source: 'CACHED',
      asOf: new Date(1_000_000),
      provider: 'openbanking',
    });
    // What the partner answered is not touched by serving copies of it.
    expect(liveAccounts.map((account) => account.freshness.source)).toEqual(['LIVE', 'LIVE']);
    expect(liveBalance!.freshness.source).toBe('LIVE');
  });

  it('asks the partner once a value is older than its resource kind allows', async () => {
    const { clock, state, reads } = setup(settings);
    await reads.listAccounts(ctx('alice'));
    await reads.getBalances(ctx('alice'), ['alice-a']);
    clock.now += 11_000;
    const calls = state.calls;
    const balances = await reads.getBalances(ctx('alice'), ['alice-a']);
    expect(balances.get('alice-a')!.freshness.source).toBe('LIVE');
    expect(state.calls).toBe(calls + 1);
    await reads.listAccounts(ctx('alice'));
    expect(state.calls).toBe(calls + 1);
  });

  it('asks the partner when the request wants live data, and never serves another subject', async () => {
    const { state, reads } = setup(settings);
    await reads.listAccounts(ctx('alice'));
    const calls = state.calls;
    const liveAccounts = await reads.listAccounts({ ...ctx('alice'), maxAgeSeconds: 0 });
    expect(liveAccounts[0]!.freshness.source).toBe('LIVE');
    await reads.listAccounts(ctx('bob'));
    expect(state.calls).toBe(calls + 2);
  });

  it('serves nothing from memory while the maximum ages are 0', async () => {
    const { state, reads } = setup();
    await reads.listAccounts(ctx('alice'));
    await reads.listAccounts(ctx('alice'));
    expect(state.calls).toBe(2);
  });
});
