/**
 * The Plaid provider's `refreshLink`, what a SYNC_UPDATES_AVAILABLE webhook runs: it syncs the subject's
 * Item into the local copy without a read, only for the Item the subject has linked, and never settles
 * for a sync that was already running when the change was announced.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { SEEDED_ACCOUNTS } from '../../../sandboxes/plaid/index.js';
import { startHarness, type Harness } from './harness.js';

const ALICE = SEEDED_ACCOUNTS.cust_alice as [string, string];

describe('plaid provider: refreshLink', () => {
  let h: Harness;
  let itemId: string;
  const syncCalls = async (since: number) =>
    (await h.calls()).slice(since).filter((c) => c.route === '/transactions/sync');
  const refresh = (subject: string, item: string, correlationId?: string) =>
    h.provider.refreshLink!(h.ctx(subject, correlationId), item);

  beforeAll(async () => {
    h = await startHarness({ provider: { syncPageSize: 10 } });
    itemId = (await h.link('cust_alice')).externalRef;
    await h.link('cust_bob');
  });
  afterAll(async () => {
    await h?.close();
  });

  it("syncs the subject's Item into the local copy and cursor without a read", async () => {
    expect(await h.store.cursor('cust_alice', itemId)).toBeNull();
    await h.control('transactions', {
      customer: 'cust_alice',
      add: [{ account_id: ALICE[0], amount: 3.2, name: 'Refreshed', transaction_id: 'txn_refreshed' }],
    });
    expect(await refresh('cust_alice', itemId)).toBe(true);
    expect(await h.store.cursor('cust_alice', itemId)).not.toBeNull();
    const stored = (await h.store.readCopy('cust_alice', itemId, ALICE))?.transactions ?? [];
    expect(stored.map((t) => t.transactionId)).toContain('txn_refreshed');
  });

  it('refuses an Item that is not the one the subject linked, without calling Plaid', async () => {
    const before = (await h.calls()).length;
    expect(await refresh('cust_bob', itemId)).toBe(false);
    expect(await refresh('cust_nobody', itemId)).toBe(false);
    expect(await syncCalls(before)).toEqual([]);
  });

  it('syncs again after a sync that was already running, instead of joining it', async () => {
    await h.control('transactions', {
      customer: 'cust_alice',
      add: [{ account_id: ALICE[0], amount: 1.1, name: 'Late', transaction_id: 'txn_late' }],
    });
    const before = (await h.calls()).length;
    const sent = () => h.sandbox.ledger().requests['POST /transactions/sync'] ?? 0;
    const sentBefore = sent();
    // The read's first page is held at the partner, so its sync is running when the webhook comes.
    h.sandbox.setFaults([{ match: '/transactions/sync', kind: 'latency', ms: 300, times: 1 }]);
    const read = h.accounts.listTransactions({ ...h.ctx('cust_alice', 'read'), maxAgeSeconds: 0 }, ALICE, {});
    while (sent() === sentBefore) await new Promise((resolve) => setTimeout(resolve, 5));
    expect(await refresh('cust_alice', itemId, 'webhook-1')).toBe(true);
    expect((await read).map((t) => t.partnerId)).toContain('txn_late');
    const calls = await syncCalls(before);
    expect(calls.map((c) => c.correlationId)).toEqual(['read', 'webhook-1']);
    expect(calls[1]?.sync?.cursor).toBe(await h.store.cursor('cust_alice', itemId));
  });
});
