import { afterAll, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import type { Payment } from '../../domain/model.js';
import { encodeId } from '../../domain/ids.js';
import type { Db } from '../../store/db.js';
import { minimalCreditor, PaymentRepository } from '../../store/payments.js';
import { testBackends } from '../helpers/db.js';

let serial = 0;

function payment(overrides: Partial<Payment> = {}): Payment {
  serial += 1;
  const partnerId = `pay_${serial}`;
  return {
    id: encodeId('Payment', 'openbanking', partnerId),
    provider: 'openbanking',
    partnerId,
    ownerId: 'cust_alice',
    status: 'PENDING',
    amount: { minor: 1050n, currency: 'GBP' },
    debtorAccountId: encodeId('Account', 'openbanking', 'acc-1'),
    creditor: { name: 'Bob Builder', sortCode: '112233', accountNumber: '12345678', iban: null },
    reference: 'Rent March',
    createdAt: new Date(Date.UTC(2025, 2, 1, 9, 0, serial)),
    updatedAt: new Date(Date.UTC(2025, 2, 1, 9, 0, serial)),
    failureReason: null,
    nextAction: null,
    events: [],
    refunds: [],
    ...overrides,
  };
}

describe.each(testBackends())('payments ledger repository on $kind', (backend) => {
  let db: Db;
  let repo: PaymentRepository;
  beforeAll(async () => {
    db = await backend.open();
    repo = new PaymentRepository(db);
  });
  beforeEach(async () => {
    await db.query('DELETE FROM payments');
  });
  afterAll(async () => {
    await db.close();
  });

  it('records a payment once, keeping only the last four digits of the creditor account', async () => {
    const p = payment();
    expect(await repo.insert(db, p)).toBe(true);
    expect(await repo.insert(db, { ...p, amount: { minor: 1n, currency: 'GBP' } })).toBe(false);
    const stored = await repo.get('cust_alice', p.id);
    expect(stored).toMatchObject({
      id: p.id,
      partnerId: p.partnerId,
      status: 'PENDING',
      amount: { minor: 1050n, currency: 'GBP' },
      creditor: { name: 'Bob Builder', sortCode: '112233', accountNumber: '5678', iban: null },
      reference: 'Rent March',
      events: [],
      refunds: [],
    });
    const [raw] = await db.query<Record<string, unknown>>('SELECT * FROM payments WHERE id = $1', [p.id]);
    expect(JSON.stringify(raw)).not.toContain('12345678');
  });

  it('minimises an IBAN to its country code and last four characters', () => {
    expect(
      minimalCreditor({
        name: 'A',
        sortCode: null,
        accountNumber: null,
        iban: 'GB82 WEST 1234 5698 7654 32',
      }),
    ).toEqual({
      name: 'A',
      sortCode: null,
      accountNumber: null,
      iban: 'GB5432',
    });
  });

  it("hides another subject's payments", async () => {
    const p = payment();
    await repo.insert(db, p);
    expect(await repo.get('cust_bob', p.id)).toBeNull();
    expect((await repo.getMany('cust_bob', [p.id])).size).toBe(0);
    expect(await repo.list('cust_bob', { limit: 10 })).toEqual([]);
  });

  it('keeps one history entry per status, and refuses to edit history', async () => {
    const p = payment();
    await repo.insert(db, p);
    const at = new Date('2025-03-01T10:00:00Z');
    expect(await repo.appendEvent(db, p.id, { status: 'PENDING', at, source: 'API', detail: null })).toBe(
      true,
    );
    expect(await repo.appendEvent(db, p.id, { status: 'PENDING', at, source: 'WEBHOOK', detail: null })).toBe(
      false,
    );
    await repo.appendEvent(db, p.id, {
      status: 'SETTLED',
      at: new Date('2025-03-01T11:00:00Z'),
      source: 'WEBHOOK',
      detail: 'x',
    });
    const stored = await repo.get('cust_alice', p.id);
    expect(stored?.events).toEqual([
      { status: 'PENDING', at, source: 'API', detail: null },
      { status: 'SETTLED', at: new Date('2025-03-01T11:00:00Z'), source: 'WEBHOOK', detail: 'x' },
    ]);
    await expect(
      db.query(`UPDATE payment_events SET status = 'FAILED' WHERE payment_id = $1`, [p.id]),
    ).rejects.toThrow(/append-only/);
  });

  it('locks a payment for a status decision, and moves it with its history only from the status read', async () => {
    const p = payment();
    await repo.insert(db, p);
    const at = new Date('2025-03-02T00:00:00Z');
    const nextAction = { type: 'REDIRECT_TO_BANK' as const, url: 'https://bank.example/auth' };
    const toAction = { status: 'REQUIRES_ACTION' as const, at, source: 'API' as const, detail: 'x' };
    await db.transaction(async (tx) => {
      const locked = await repo.lockForStatus(tx, p.id);
      expect(locked).toMatchObject({
        status: 'PENDING',
        amountMinor: 1050n,
        refundedMinor: 0n,
        currency: 'GBP',
      });
      const move = { from: 'PENDING' as const, to: 'REQUIRES_ACTION' as const, at, events: [toAction] };
      expect(await repo.moveStatus(tx, p.id, { ...move, patch: { nextAction } })).toBe(true);
    });
    expect(await repo.get('cust_alice', p.id)).toMatchObject({
      status: 'REQUIRES_ACTION',
      nextAction,
      updatedAt: at,
      events: [toAction],
    });
    // A move from a status the payment no longer holds writes nothing: no status, no history.
    const later = new Date('2025-03-03T00:00:00Z');
    const settled = { status: 'SETTLED' as const, at: later, source: 'WEBHOOK' as const, detail: null };
    expect(
      await repo.moveStatus(db, p.id, { from: 'PENDING', to: 'SETTLED', at: later, events: [settled] }),
    ).toBe(false);
    expect(await repo.get('cust_alice', p.id)).toMatchObject({
      status: 'REQUIRES_ACTION',
      events: [toAction],
    });
    expect(await repo.lockForStatus(db, 'missing')).toBeNull();
  });

  it('upserts refunds, moving their status only on from PENDING, and keeps the refunded total', async () => {
    const p = payment({ status: 'SETTLED' });
    await repo.insert(db, p);
    const at = new Date();
    const refund = {
      id: 're_1',
      amount: { minor: 300n, currency: 'GBP' },
      status: 'PENDING' as const,
      createdAt: at,
    };
    await repo.upsertRefund(db, p.id, refund, at);
    await repo.upsertRefund(db, p.id, { ...refund, status: 'SUCCEEDED' }, at);
    await repo.upsertRefund(db, p.id, { ...refund, status: 'PENDING' }, at);
    await repo.upsertRefund(
      db,
      p.id,
      { ...refund, id: 're_2', amount: { minor: 200n, currency: 'GBP' }, status: 'FAILED' },
      at,
    );
    const stored = await repo.get('cust_alice', p.id);
    expect(stored?.refunds.map((r) => [r.id, r.status])).toEqual([
      ['re_1', 'SUCCEEDED'],
      ['re_2', 'FAILED'],
    ]);
    // Read back with the payment in one statement: amounts stay bigint, times stay Dates.
    expect(stored?.refunds[0]).toEqual({ ...refund, status: 'SUCCEEDED' });
    const locked = await repo.lockForStatus(db, p.id);
    expect(locked?.refundedMinor).toBe(300n);
    await expect(
      repo.upsertRefund(
        db,
        p.id,
        { ...refund, id: 're_3', amount: { minor: 751n, currency: 'GBP' }, status: 'SUCCEEDED' },
        at,
      ),
    ).rejects.toThrow();
  });

  it('lists newest first, in pages, optionally by status', async () => {
    const payments = [
      payment(),
      payment({ status: 'SETTLED' }),
      payment(),
      payment({ status: 'SETTLED' }),
      payment(),
    ];
    for (const p of payments) {
      await repo.insert(db, p);
      if (p.status !== 'PENDING')
        await repo.moveStatus(db, p.id, { from: 'PENDING', to: p.status, at: p.createdAt, events: [] });
    }
    const newest = [...payments].reverse().map((p) => p.id);
    const first = await repo.list('cust_alice', { limit: 2 });
    expect(first.map((p) => p.id)).toEqual(newest.slice(0, 2));
    const second = await repo.list('cust_alice', { limit: 2, afterId: first[1]!.id });
    expect(second.map((p) => p.id)).toEqual(newest.slice(2, 4));
    const settled = await repo.list('cust_alice', { limit: 10, statuses: ['SETTLED'] });
    expect(settled.map((p) => p.id)).toEqual([payments[3]!.id, payments[1]!.id]);
    expect(await repo.exists('cust_alice', payments[0]!.id)).toBe(true);
    expect((await repo.ledger('openbanking')).map((entry) => entry.id)).toEqual(payments.map((p) => p.id));
  });

  it('refuses amounts that are not positive and unknown statuses', async () => {
    await expect(repo.insert(db, payment({ amount: { minor: 0n, currency: 'GBP' } }))).rejects.toThrow();
    const p = payment();
    await repo.insert(db, p);
    await expect(
      repo.moveStatus(db, p.id, { from: 'PENDING', to: 'LOST' as never, at: new Date(), events: [] }),
    ).rejects.toThrow();
  });
});
