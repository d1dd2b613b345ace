import { afterAll, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { randomUUID } from 'node:crypto';
import type { Db } from '../../store/db.js';
import { IdempotencyStore, LeaseLostError, type ClaimInput } from '../../store/idempotency.js';
import { PaymentRepository } from '../../store/payments.js';
import { testBackends } from '../helpers/db.js';
import { cardPayment } from '../helpers/payments.js';

const HOUR = 3_600_000;

function input(overrides: Partial<ClaimInput> = {}): ClaimInput {
  return {
    subject: 'cust_alice',
    mutation: 'initiatePayment',
    key: 'key-0000000000000001',
    fingerprint: 'f'.repeat(64),
    partnerKey: 'trb1-0000000000000001',
    leaseMs: 30_000,
    retentionMs: 72 * HOUR,
    ...overrides,
  };
}

describe.each(testBackends())('idempotency keys on $kind', (backend) => {
  let db: Db;
  let clock: Date;
  let store: IdempotencyStore;

  beforeAll(async () => {
    db = await backend.open();
  });
  beforeEach(async () => {
    await db.query('DELETE FROM idempotency_keys');
    clock = new Date('2025-03-01T09:00:00Z');
    store = new IdempotencyStore(db, { now: () => clock });
  });
  afterAll(async () => {
    await db.close();
  });

  const advanceClock = (ms: number) => {
    clock = new Date(clock.getTime() + ms);
  };

  it('gives a fresh key to the first attempt, at the started recovery point', async () => {
    const claim = await store.claim(input());
    expect(claim.kind).toBe('acquired');
    if (claim.kind !== 'acquired') return;
    expect(claim.takenOver).toBe(false);
    expect(claim.record).toMatchObject({ state: 'running', recoveryPoint: 'started', attempts: 1 });
    expect(claim.record.expiresAt.getTime() - clock.getTime()).toBe(72 * HOUR);
  });

  it('answers busy while the lease lives, and mismatch for other arguments even then', async () => {
    await store.claim(input());
    expect((await store.claim(input())).kind).toBe('busy');
    expect((await store.claim(input({ fingerprint: 'e'.repeat(64) }))).kind).toBe('mismatch');
  });

  it('keys are scoped by subject and mutation', async () => {
    await store.claim(input());
    const other = await store.claim(input({ subject: 'cust_bob', partnerKey: 'trb1-bob' }));
    const cancel = await store.claim(input({ mutation: 'cancelPayment', partnerKey: 'trb1-cancel' }));
    expect([other.kind, cancel.kind]).toEqual(['acquired', 'acquired']);
  });

  it('replays the stored response once finished, and keeps it for the retention from finishing', async () => {
    const claim = await store.claim(input());
    if (claim.kind !== 'acquired') throw new Error('not acquired');
    advanceClock(5_000);
    await store.finish(
      claim.lease,
      { payment: { id: 'p1', amount: '1000' } },
      { retentionMs: 72 * HOUR, paymentId: 'p1' },
    );
    const again = await store.claim(input());
    expect(again.kind).toBe('finished');
    expect(again.record.response).toEqual({ payment: { id: 'p1', amount: '1000' } });
    expect(again.record.paymentId).toBe('p1');
    expect(again.record.expiresAt.getTime()).toBe(clock.getTime() + 72 * HOUR);
    expect((await store.claim(input({ fingerprint: 'e'.repeat(64) }))).kind).toBe('mismatch');
  });

  it("brings a finished key's payment along as the ledger holds it now, exact to the minor unit", async () => {
    const payments = new PaymentRepository(db);
    const partnerId = `pay_${randomUUID()}`;
    const created = new Date('2025-03-01T09:00:00.123Z');
    // Beyond 2^53: a JSON number would come back as ...992.
    const paid = cardPayment(partnerId, created, {
      amount: { minor: 9_007_199_254_740_993n, currency: 'GBP' },
    });
    const processing = { status: 'PROCESSING' as const, at: created, source: 'API' as const, detail: null };
    await payments.insertWithHistory(db, paid, [processing], { failureReason: null, nextAction: null });
    const claim = await store.claim(input());
    if (claim.kind !== 'acquired') throw new Error('not acquired');
    await store.finish(claim.lease, { payment: null }, { retentionMs: HOUR, paymentId: paid.id });

    // Settled (and partly refunded) after the key finished: the replay's claim sees it.
    const settled = new Date('2025-03-01T09:05:00.456Z');
    await payments.moveStatus(db, paid.id, {
      from: 'PROCESSING',
      to: 'SETTLED',
      at: settled,
      events: [{ status: 'SETTLED', at: settled, source: 'WEBHOOK', detail: 'paid' }],
    });
    await payments.upsertRefund(
      db,
      paid.id,
      {
        id: `re_${partnerId}`,
        amount: { minor: 5n, currency: 'GBP' },
        status: 'PENDING',
        createdAt: settled,
      },
      settled,
    );
    const replay = await store.claim(input());
    expect(replay.kind).toBe('finished');
    if (replay.kind !== 'finished') return;
    expect(replay.payment).toEqual(await payments.get('cust_alice', paid.id));
    expect(replay.payment).toMatchObject({
      status: 'SETTLED',
      amount: { minor: 9_007_199_254_740_993n },
      updatedAt: settled,
      events: [processing, { status: 'SETTLED', at: settled, source: 'WEBHOOK', detail: 'paid' }],
      refunds: [{ amount: { minor: 5n, currency: 'GBP' }, createdAt: settled }],
    });

    // Another subject's key naming that payment gets nothing; a key still running reads no payment.
    const bob = await store.claim(input({ subject: 'cust_bob', partnerKey: 'trb1-bob' }));
    if (bob.kind !== 'acquired') throw new Error('not acquired');
    await store.finish(bob.lease, { payment: null }, { retentionMs: HOUR, paymentId: paid.id });
    const bobs = await store.claim(input({ subject: 'cust_bob', partnerKey: 'trb1-bob' }));
    expect(bobs).toMatchObject({ kind: 'finished', payment: null });
    await store.claim(input({ key: 'key-0000000000000002', partnerKey: 'trb1-2' }));
    const running = await store.claim(input({ key: 'key-0000000000000002', partnerKey: 'trb1-2' }));
    expect(running.kind).toBe('busy');
    expect('payment' in running).toBe(false);
  });

  it('moves through recovery points, stamping the first partner request once', async () => {
    const claim = await store.claim(input());
    if (claim.kind !== 'acquired') throw new Error('not acquired');
    await store.advance(claim.lease, 'partner_requested', { leaseMs: 30_000, recovery: { amount: '5' } });
    const firstRequest = clock;
    advanceClock(60_000);
    const taken = await store.claim(input());
    if (taken.kind !== 'acquired') throw new Error('not taken over');
    await store.advance(taken.lease, 'partner_requested', { leaseMs: 30_000 });
    await store.advance(taken.lease, 'partner_confirmed', { leaseMs: 30_000, paymentId: 'p9' });
    const record = await store.get('cust_alice', 'initiatePayment', input().key);
    expect(record).toMatchObject({
      recoveryPoint: 'partner_confirmed',
      paymentId: 'p9',
      recovery: { amount: '5' },
    });
    expect(record?.partnerRequestedAt).toEqual(firstRequest);
  });

  it('takes over a lapsed lease exactly once and fences the old owner out', async () => {
    const first = await store.claim(input());
    if (first.kind !== 'acquired') throw new Error('not acquired');
    advanceClock(30_001);
    const second = await store.claim(input());
    expect(second.kind).toBe('acquired');
    if (second.kind !== 'acquired') return;
    expect(second.takenOver).toBe(true);
    expect(second.record.attempts).toBe(2);
    expect((await store.claim(input())).kind).toBe('busy');
    await expect(store.advance(first.lease, 'partner_requested', { leaseMs: 1 })).rejects.toBeInstanceOf(
      LeaseLostError,
    );
    await expect(store.finish(first.lease, {}, { retentionMs: HOUR })).rejects.toBeInstanceOf(LeaseLostError);
    await store.finish(second.lease, { ok: true }, { retentionMs: 72 * HOUR });
  });

  it('lets the next attempt in at once after a release, at the same recovery point', async () => {
    const first = await store.claim(input());
    if (first.kind !== 'acquired') throw new Error('not acquired');
    await store.advance(first.lease, 'partner_requested', { leaseMs: 30_000 });
    await store.release(first.lease);
    const next = await store.claim(input());
    expect(next).toMatchObject({
      kind: 'acquired',
      takenOver: true,
      record: { recoveryPoint: 'partner_requested' },
    });
  });

  it('reaps finished keys past retention and never unfinished ones', async () => {
    const done = await store.claim(input({ key: 'done-000000000000001', partnerKey: 'trb1-a' }));
    const fresh = await store.claim(input({ key: 'fresh-00000000000001', partnerKey: 'trb1-b' }));
    const stuck = await store.claim(input({ key: 'stuck-00000000000001', partnerKey: 'trb1-c' }));
    if (done.kind !== 'acquired' || fresh.kind !== 'acquired' || stuck.kind !== 'acquired')
      throw new Error('claims');
    await store.finish(done.lease, {}, { retentionMs: 24 * HOUR });
    advanceClock(2 * HOUR);
    await store.finish(fresh.lease, {}, { retentionMs: 24 * HOUR });
    advanceClock(23 * HOUR);
    expect(await store.reap()).toBe(1);
    expect(await store.get('cust_alice', 'initiatePayment', 'done-000000000000001')).toBeNull();
    advanceClock(365 * 24 * HOUR);
    expect(await store.reap()).toBe(1);
    expect(await store.get('cust_alice', 'initiatePayment', 'stuck-00000000000001')).not.toBeNull();
    expect(await store.abandoned(clock)).toHaveLength(1);
  });

  it('a reaped key can be used again as a new operation', async () => {
    const claim = await store.claim(input());
    if (claim.kind !== 'acquired') throw new Error('not acquired');
    await store.finish(claim.lease, {}, { retentionMs: 24 * HOUR });
    advanceClock(25 * HOUR);
    await store.reap();
    expect((await store.claim(input({ fingerprint: 'e'.repeat(64) }))).kind).toBe('acquired');
  });

  it('refuses keys outside the documented format at the database too', async () => {
    await expect(store.claim(input({ key: 'short' }))).rejects.toThrow();
    await expect(store.claim(input({ key: 'has space in it 123' }))).rejects.toThrow();
  });

  it('lets exactly one of many simultaneous claims win, and one of many takeovers', async () => {
    const peer = backend.openPeer ? await backend.openPeer(db) : null;
    try {
      const stores = [store, new IdempotencyStore(peer ?? db, { now: () => clock })];
      // PGlite runs one statement at a time; the race is real on PostgreSQL, so it gets more rounds.
      for (let round = 0; round < (backend.kind === 'pg' ? 10 : 3); round += 1) {
        const key = input({ key: `race-${round}-000000000000`, partnerKey: `trb1-race-${round}` });
        const claims = await Promise.all(Array.from({ length: 40 }, (_, i) => stores[i % 2]!.claim(key)));
        expect(claims.filter((claim) => claim.kind === 'acquired')).toHaveLength(1);
        expect(claims.filter((claim) => claim.kind === 'busy')).toHaveLength(39);
        advanceClock(60_000);
        const takeovers = await Promise.all(Array.from({ length: 40 }, (_, i) => stores[i % 2]!.claim(key)));
        expect(takeovers.filter((claim) => claim.kind === 'acquired')).toHaveLength(1);
      }
    } finally {
      await peer?.close();
    }
  }, 90_000);
});
