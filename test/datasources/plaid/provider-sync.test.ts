import { afterAll, beforeAll, describe, expect, it, vi } from 'vitest';
import { encodeId } from '../../../domain/ids.js';
import { PartnerError } from '../../../domain/errors.js';
import { SEEDED_ACCOUNTS } from '../../../sandboxes/plaid/index.js';
import { startHarness, type Harness } from './harness.js';

const ALICE = SEEDED_ACCOUNTS.cust_alice as [string, string];
const BOB = SEEDED_ACCOUNTS.cust_bob as [string];
/** Seeded transactions: alice 16 + 15, bob 15. */
const ALICE_SEEDED = 31;

describe('plaid provider: transactions through /transactions/sync', () => {
  let h: Harness;
  let itemId: string;
  const syncCalls = async (since: number) =>
    (await h.calls()).slice(since).filter((c) => c.route === '/transactions/sync');
  // These reads ask for live data (as `Cache-Control: no-cache` does), so each one syncs first.
  const list = (subject = 'cust_alice', accounts: readonly string[] = ALICE, query = {}) =>
    h.accounts.listTransactions({ ...h.ctx(subject), maxAgeSeconds: 0 }, accounts, query);

  beforeAll(async () => {
    h = await startHarness({ provider: { syncPageSize: 10 } });
    itemId = (await h.link('cust_alice')).externalRef;
    await h.link('cust_bob');
  });
  afterAll(async () => {
    await h?.close();
  });

  it('pulls the whole history page by page while has_more, then serves it newest first', async () => {
    const before = (await h.calls()).length;
    const transactions = await list();
    const calls = await syncCalls(before);
    expect(calls.map((c) => [c.sync?.added, c.sync?.hasMore, c.sync?.count])).toEqual([
      [10, true, 10],
      [10, true, 10],
      [10, true, 10],
      [1, false, 10],
    ]);
    expect(calls[0]?.sync?.cursor).toBeNull();
    expect(new Set(calls.map((c) => c.sync?.cursor)).size).toBe(4);
    expect(transactions).toHaveLength(ALICE_SEEDED);
    const times = transactions.map((t) => t.bookedAt.getTime());
    expect(times).toEqual([...times].sort((a, b) => b - a));
    expect(transactions.every((t) => t.ownerId === 'cust_alice' && t.provider === 'plaid')).toBe(true);
    const accountIds = new Set(ALICE.map((id) => encodeId('Account', 'plaid', id)));
    expect(transactions.every((t) => accountIds.has(t.accountId))).toBe(true);
    expect(transactions.filter((t) => t.status === 'PENDING')).toHaveLength(4);
    const payroll = transactions.find((t) => t.description.includes('PAYROLL'));
    expect(payroll?.amount.minor).toBeGreaterThan(0n);
    const coffee = transactions.find((t) => t.merchantName === 'Starbucks');
    expect(coffee?.amount.minor).toBeLessThan(0n);
  });

  it('persists the cursor, so the next read asks Plaid only for changes', async () => {
    const cursor = await h.store.cursor('cust_alice', itemId);
    expect(cursor).not.toBeNull();
    const before = (await h.calls()).length;
    const again = await list();
    const calls = await syncCalls(before);
    expect(calls).toHaveLength(1);
    expect(calls[0]?.sync).toMatchObject({ cursor, added: 0, modified: 0, removed: 0, hasMore: false });
    expect(again).toHaveLength(ALICE_SEEDED);
  });

  it('shares one sync between concurrent reads of the same Item', async () => {
    const before = (await h.calls()).length;
    const [recent, all] = await Promise.all([
      list('cust_alice', ALICE, { from: new Date('2025-03-01T00:00:00Z') }),
      list('cust_alice', ALICE, {}),
    ]);
    expect(await syncCalls(before)).toHaveLength(1);
    expect(all).toHaveLength(ALICE_SEEDED);
    expect(recent.length).toBeGreaterThan(0);
    expect(recent.length).toBeLessThan(all.length);
  });

  it('answers concurrent live reads of the same accounts and window with the copy their one sync read', async () => {
    const reads = vi.spyOn(h.store, 'readCopy');
    const before = (await h.calls()).length;
    try {
      const answers = await Promise.all([1, 2, 3, 4].map(() => list('cust_alice', ALICE, {})));
      expect(await syncCalls(before)).toHaveLength(1);
      expect(reads).not.toHaveBeenCalled();
      for (const answer of answers) expect(answer).toEqual(answers[0]);
      expect(answers[0]).toHaveLength(ALICE_SEEDED);
      // A read of another window joins the same sync, then reads its own part of the copy.
      const [, other] = await Promise.all([
        list('cust_alice', ALICE, {}),
        list('cust_alice', [ALICE[0]], {}),
      ]);
      expect(reads).toHaveBeenCalledTimes(1);
      expect(other.length).toBeGreaterThan(0);
      expect(other.length).toBeLessThan(ALICE_SEEDED);
    } finally {
      reads.mockRestore();
    }
  });

  it("keeps alice's and bob's transactions apart", async () => {
    const bob = await list('cust_bob', BOB);
    expect(bob).toHaveLength(15);
    expect(
      bob.every((t) => t.ownerId === 'cust_bob' && t.accountId === encodeId('Account', 'plaid', BOB[0])),
    ).toBe(true);
    expect(await list('cust_alice', BOB)).toEqual([]);
    expect(await list('cust_bob', ALICE)).toEqual([]);
  });

  it('filters by account and by an inclusive booking window', async () => {
    const all = await list();
    const card = await list('cust_alice', [ALICE[1]]);
    expect(card).toHaveLength(15);
    const middle = all[10]?.bookedAt as Date;
    const window = await list('cust_alice', ALICE, { from: middle, to: middle });
    expect(window.length).toBeGreaterThan(0);
    expect(window.every((t) => t.bookedAt.getTime() === middle.getTime())).toBe(true);
  });

  it('applies added, modified and removed transactions to the local copy', async () => {
    const current = await list();
    const [modify, remove] = current.filter((t) => t.status === 'BOOKED') as [
      (typeof current)[0],
      (typeof current)[0],
    ];
    const answer = await h.control('transactions', {
      customer: 'cust_alice',
      add: [
        {
          account_id: ALICE[0],
          amount: 42.5,
          name: 'NEW SHOP',
          merchant_name: 'New Shop',
          date: '2025-03-14',
        },
      ],
      modify: [{ transaction_id: modify.partnerId, amount: -7.05, name: 'REFUND CORRECTED' }],
      remove: [remove.partnerId],
    });
    const before = (await h.calls()).length;
    const after = await list();
    expect((await syncCalls(before)).map((c) => c.sync)).toMatchObject([
      { added: 1, modified: 1, removed: 1 },
    ]);
    expect(after).toHaveLength(current.length);
    const added = after.find((t) => t.partnerId === (answer.added as string[])[0]);
    expect(added).toMatchObject({
      amount: { minor: -4250n, currency: 'USD' },
      merchantName: 'New Shop',
      status: 'BOOKED',
    });
    expect(after.find((t) => t.partnerId === modify.partnerId)).toMatchObject({
      amount: { minor: 705n, currency: 'USD' },
      description: 'REFUND CORRECTED',
    });
    expect(after.find((t) => t.partnerId === remove.partnerId)).toBeUndefined();
  });

  it('replaces a pending transaction by the posted one when it settles', async () => {
    const current = await list();
    const pending = current.find((t) => t.status === 'PENDING');
    if (!pending) throw new Error('no pending transaction left');
    const answer = await h.control('transactions', {
      customer: 'cust_alice',
      post: [{ transaction_id: pending.partnerId }],
    });
    const postedId = (answer.posted as { posted: string }[])[0]?.posted;
    const after = await list();
    expect(after).toHaveLength(current.length);
    expect(after.find((t) => t.partnerId === pending.partnerId)).toBeUndefined();
    expect(after.find((t) => t.partnerId === postedId)).toMatchObject({
      status: 'BOOKED',
      amount: pending.amount,
    });
  });

  it('restarts a paginated sync from the cursor it began with after a mutation during pagination', async () => {
    const start = await h.store.cursor('cust_alice', itemId);
    const add = Array.from({ length: 25 }, (_, i) => ({
      account_id: ALICE[0],
      amount: i + 1,
      name: `BATCH ${i}`,
    }));
    await h.control('transactions', { customer: 'cust_alice', add });
    await h.control('sync-mutation', { customer: 'cust_alice', times: 1 });
    const before = (await h.calls()).length;
    const after = await list();
    const calls = await syncCalls(before);
    expect(calls.map((c) => [c.errorCode ?? null, c.sync?.added])).toEqual([
      [null, 10],
      ['TRANSACTIONS_SYNC_MUTATION_DURING_PAGINATION', 0],
      [null, 10],
      [null, 10],
      [null, 5],
    ]);
    expect(calls[0]?.sync?.cursor).toBe(start);
    expect(calls[2]?.sync?.cursor).toBe(start);
    expect(after.filter((t) => t.description.startsWith('BATCH '))).toHaveLength(25);
    expect(h.logs.some((line) => line.includes('restarting the sync from its first cursor'))).toBe(true);
  });

  it('gives up after the restart limit and leaves the copy and cursor untouched', async () => {
    const start = await h.store.cursor('cust_alice', itemId);
    const current = await list();
    const add = Array.from({ length: 12 }, (_, i) => ({
      account_id: ALICE[1],
      amount: 1,
      name: `NEVER ${i}`,
    }));
    await h.control('transactions', { customer: 'cust_alice', add });
    await h.control('sync-mutation', { customer: 'cust_alice', times: 50 });
    try {
      const error = await list().catch((e: unknown) => e);
      expect(error).toBeInstanceOf(PartnerError);
      expect(error).toMatchObject({
        code: 'PARTNER_UNAVAILABLE',
        retryable: true,
        partnerCode: 'TRANSACTIONS_SYNC_MUTATION_DURING_PAGINATION',
      });
      expect(await h.store.cursor('cust_alice', itemId)).toBe(start);
      const stored = (await h.store.readCopy('cust_alice', itemId, ALICE))?.transactions ?? [];
      expect(stored).toHaveLength(current.length);
    } finally {
      await h.control('sync-mutation', { customer: 'cust_alice', times: 1 });
      await list().catch(() => undefined);
    }
  });
});

describe('plaid provider: reads answer from the local copy', () => {
  let h: Harness;
  let itemId: string;
  const sent = () => h.sandbox.ledger().requests['POST /transactions/sync'] ?? 0;

  beforeAll(async () => {
    h = await startHarness({});
    itemId = (await h.link('cust_alice')).externalRef;
  });
  afterAll(async () => {
    await h?.close();
  });

  it('syncs on the first read, when there is no copy yet, and marks it LIVE', async () => {
    const first = await h.accounts.listTransactions(h.ctx('cust_alice'), ALICE, {});
    expect(sent()).toBe(1);
    expect(first).toHaveLength(ALICE_SEEDED);
    expect(first[0]?.freshness).toMatchObject({ source: 'LIVE', provider: 'plaid' });
  });

  it('answers later reads from the copy without calling Plaid, CACHED as of the last sync', async () => {
    const before = sent();
    const [state] = await h.store.staleItems(new Date(Date.now() + 60_000), 10);
    expect(state?.itemId).toBe(itemId);
    const read = await h.accounts.listTransactions(h.ctx('cust_alice'), ALICE, {});
    expect(sent()).toBe(before);
    expect(read).toHaveLength(ALICE_SEEDED);
    const asOf = read[0]!.freshness.asOf;
    expect(read.every((t) => t.freshness.source === 'CACHED' && t.freshness.asOf === asOf)).toBe(true);
    expect(asOf.getTime()).toBeLessThanOrEqual(Date.now());
  });

  it('does not see changes until a webhook or the schedule syncs, then does', async () => {
    await h.control('transactions', {
      customer: 'cust_alice',
      add: [{ account_id: ALICE[0], amount: 2.5, name: 'SCHEDULED', transaction_id: 'txn_scheduled' }],
    });
    const stale = await h.accounts.listTransactions(h.ctx('cust_alice'), ALICE, {});
    expect(stale.map((t) => t.partnerId)).not.toContain('txn_scheduled');
    // Nothing is older than a minute ago yet: the schedule leaves the fresh copy alone.
    expect(await h.provider.refreshStale!(h.ctx('cust_alice').logger, new Date(0), 10)).toEqual({
      refreshed: 0,
      forgotten: 0,
      failed: 0,
    });
    const outcome = await h.provider.refreshStale!(h.ctx('cust_alice').logger, new Date(Date.now() + 1), 10);
    expect(outcome).toEqual({ refreshed: 1, forgotten: 0, failed: 0 });
    const fresh = await h.accounts.listTransactions(h.ctx('cust_alice'), ALICE, {});
    expect(fresh.map((t) => t.partnerId)).toContain('txn_scheduled');
  });

  it('syncs before a read that asks for data younger than the copy', async () => {
    const before = sent();
    const live = await h.accounts.listTransactions({ ...h.ctx('cust_alice'), maxAgeSeconds: 0 }, ALICE, {});
    expect(sent()).toBe(before + 1);
    expect(live[0]?.freshness.source).toBe('LIVE');
    const young = await h.accounts.listTransactions(
      { ...h.ctx('cust_alice'), maxAgeSeconds: 3600 },
      ALICE,
      {},
    );
    expect(sent()).toBe(before + 1);
    expect(young[0]?.freshness.source).toBe('CACHED');
  });

  it('drops the copy of an Item its subject no longer has linked when the schedule reaches it', async () => {
    await h.store.applySync('cust_gone', 'item_gone', null, { upserted: [], removed: [] }, 'cursor-1');
    const outcome = await h.provider.refreshStale!(h.ctx('cust_gone').logger, new Date(Date.now() + 1), 10);
    expect(outcome.forgotten).toBe(1);
    expect(await h.store.cursor('cust_gone', 'item_gone')).toBeNull();
  });
});
