/**
 * The idempotent runner's replays: the first call's outcome, with the payment as the ledger holds it
 * now — read by the key's claim when the key names the payment, read separately when it does not.
 */
import pino from 'pino';
import { afterAll, beforeAll, describe, expect, it, vi } from 'vitest';
import type { Payment } from '../../../domain/model.js';
import { IdempotentRunner, type OperationKey } from '../../../services/payments/runner.js';
import { AuditLog } from '../../../store/audit.js';
import type { Db } from '../../../store/db.js';
import { IdempotencyStore } from '../../../store/idempotency.js';
import { PaymentRepository } from '../../../store/payments.js';
import { recordingDb, testBackends } from '../../helpers/db.js';
import { cardPayment } from '../../helpers/payments.js';

const HOUR = 3_600_000;
const created = new Date('2025-03-01T09:00:00Z');
const settled = new Date('2025-03-01T09:05:00Z');

const payment = (partnerId: string): Payment =>
  cardPayment(partnerId, created, {
    events: [{ status: 'PROCESSING', at: created, source: 'API', detail: null }],
  });

const operation = (key: string): OperationKey => ({
  subject: 'cust_alice',
  mutation: 'initiatePayment',
  key,
  fingerprint: 'f'.repeat(64),
  partnerKey: `trb1-${key}`,
});

describe('idempotent runner replays', () => {
  let db: Db;
  let payments: PaymentRepository;
  const current = vi.fn<(subject: string, known: Payment) => Promise<Payment>>();
  let runner: IdempotentRunner;

  beforeAll(async () => {
    db = await testBackends()[0]!.open();
    payments = new PaymentRepository(db);
    runner = new IdempotentRunner(db, new IdempotencyStore(db), {
      leaseMs: 30_000,
      retentionMs: HOUR,
      logger: pino({ level: 'silent' }),
      current,
    });
  });
  afterAll(() => db.close());

  /** Runs a first call that answers `answer` and finishes its key naming `paymentId`. */
  async function first(key: string, answer: Payment, paymentId: string | null) {
    const result = await runner.run(operation(key), (attempt) =>
      attempt.finish(async () => ({
        payload: { payment: answer, refund: null, userErrors: [] },
        paymentId,
      })),
    );
    expect(result.replayed).toBe(false);
  }

  /** Settles the payment in the ledger, as its webhook would after the first call answered. */
  async function settle(paid: Payment) {
    await payments.insertWithHistory(db, paid, paid.events, { failureReason: null, nextAction: null });
    await payments.moveStatus(db, paid.id, {
      from: paid.status,
      to: 'SETTLED',
      at: settled,
      events: [{ status: 'SETTLED', at: settled, source: 'WEBHOOK', detail: null }],
    });
  }

  it("answers the payment the key's claim read, without reading it again", async () => {
    const paid = payment('pi_claim_read');
    await first('runner-replay-0001', paid, paid.id);
    await settle(paid);
    current.mockClear();

    const replay = await runner.run(operation('runner-replay-0001'), () => {
      throw new Error('a finished key must not run again');
    });

    expect(replay.replayed).toBe(true);
    expect(replay.payload.payment).toMatchObject({ id: paid.id, status: 'SETTLED', updatedAt: settled });
    expect(current).not.toHaveBeenCalled();
  });

  it('reads the payment when the key was finished without naming it', async () => {
    const paid = payment('pi_unnamed');
    await first('runner-replay-0002', paid, null);
    await settle(paid);
    current.mockClear();
    const now = { ...paid, status: 'SETTLED' as const, updatedAt: settled };
    current.mockResolvedValueOnce(now);

    const replay = await runner.run(operation('runner-replay-0002'), () => {
      throw new Error('a finished key must not run again');
    });

    expect(current).toHaveBeenCalledWith('cust_alice', expect.objectContaining({ id: paid.id }));
    expect(replay.payload.payment).toEqual(now);
  });

  it('keeps the answer it stored when the payment is no longer in the ledger', async () => {
    const paid = payment('pi_gone');
    await first('runner-replay-0003', paid, paid.id);
    current.mockClear();

    const replay = await runner.run(operation('runner-replay-0003'), () => {
      throw new Error('a finished key must not run again');
    });

    expect(replay.payload.payment).toMatchObject({ id: paid.id, status: 'PROCESSING' });
    expect(current).not.toHaveBeenCalled();
  });
});

describe('idempotent runner finishing', () => {
  let db: Db;
  let audit: AuditLog;
  let recorded: ReturnType<typeof recordingDb>;
  let runner: IdempotentRunner;

  beforeAll(async () => {
    db = await testBackends()[0]!.open();
    audit = new AuditLog(db, { sealIntervalMs: 0, sealDelayMs: 60_000 });
    recorded = recordingDb(db);
    runner = new IdempotentRunner(recorded.db, new IdempotencyStore(recorded.db), {
      leaseMs: 30_000,
      retentionMs: HOUR,
      logger: pino({ level: 'silent' }),
      audit,
    });
  });
  afterAll(async () => {
    audit.close();
    await db.close();
  });

  const outcome = (key: string) => ({
    payload: { payment: null, refund: null, userErrors: [] },
    paymentId: null,
    audit: { actor: 'customer', action: 'payment.initiate', subject: 'cust_alice', target: key },
  });
  const staged = async (key: string) =>
    (await db.query<{ target: string }>('SELECT target FROM audit_pending WHERE target = $1', [key])).length;

  it('finishes the key and stages the outcome’s audit entry in one statement', async () => {
    const key = 'runner-finish-0001';
    recorded.statements.length = 0;
    const result = await runner.run(operation(key), (attempt) => attempt.finish(async () => outcome(key)));
    expect(result.replayed).toBe(false);
    const finishing = recorded.statements.filter((sql) =>
      /UPDATE idempotency_keys\s+SET state = 'finished'/.test(sql),
    );
    expect(finishing).toHaveLength(1);
    expect(finishing[0]).toMatch(/INSERT INTO audit_pending/);
    expect(recorded.statements.filter((sql) => /audit_pending/.test(sql))).toHaveLength(1);
    expect(await staged(key)).toBe(1);
  });

  it('stages nothing and rolls the outcome back when another attempt took the key over', async () => {
    const key = 'runner-finish-0002';
    const failure = await runner
      .run(operation(key), async (attempt) => {
        // Another attempt takes the key over before this one finishes.
        await db.query(
          `UPDATE idempotency_keys SET owner_token = '00000000-0000-4000-8000-000000000000' WHERE key = $1`,
          [key],
        );
        return attempt.finish(async (tx) => {
          // The outcome's own writes, which must roll back with the refused finish.
          await tx.query(
            `INSERT INTO audit_pending (at, actor, action, payload_digest) VALUES (now(), 'x', 'x', $1)`,
            [key],
          );
          return outcome(key);
        });
      })
      .catch((error: unknown) => error);
    expect(failure).toMatchObject({ code: 'IDEMPOTENCY_KEY_IN_USE' });
    expect(await staged(key)).toBe(0);
    expect(await db.query('SELECT 1 FROM audit_pending WHERE payload_digest = $1', [key])).toEqual([]);
  });
});
