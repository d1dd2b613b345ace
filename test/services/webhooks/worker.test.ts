/**
 * The inbox worker with the real payments state machine (PaymentService.applyStatus) on both
 * backends: order independence over shuffled and tripled streams, crash recovery by lease, retries
 * with backoff into the dead-letter state, and replay.
 */
import pino from 'pino';
import { afterAll, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import type { Payment, PaymentStatus } from '../../../domain/model.js';
import { encodeId } from '../../../domain/ids.js';
import { PaymentService } from '../../../services/payments/index.js';
import {
  paymentWebhookHandler,
  type PaymentFetcher,
  type WebhookHandler,
} from '../../../services/webhooks/handler.js';
import { WebhookOperations } from '../../../services/webhooks/operations.js';
import { backoffMs, inLanes, WebhookWorker, type WorkerOptions } from '../../../services/webhooks/worker.js';
import { AuditLog } from '../../../store/audit.js';
import type { Db } from '../../../store/db.js';
import { WebhookRepository, type WebhookEventRecord } from '../../../store/webhooks.js';
import { recordingDb, testBackends } from '../../helpers/db.js';
import { deliver as deliverEvent, shuffled } from './partner.js';

const logger = pino({ level: 'silent' });
const OPTIONS: WorkerOptions = {
  maxAttempts: 3,
  retryBaseMs: 1_000,
  retryMaxMs: 60_000,
  leaseMs: 30_000,
  batch: 5,
  pollMs: 50,
};
/** One real history of a card payment, as the partner reports it over time. */
const HISTORY: PaymentStatus[] = ['REQUIRES_ACTION', 'PROCESSING', 'AUTHORISED', 'SETTLED'];

describe.each(testBackends())('webhook worker on $kind', { timeout: 120_000 }, (backend) => {
  let db: Db;
  let clock: Date;
  let repo: WebhookRepository;
  let audit: AuditLog;
  let payments: PaymentService;
  /** What the partner answers for the event being processed: its state when that event was sent. */
  let partnerStatus: Map<string, PaymentStatus>;
  let partnerDown: boolean;
  let serial = 0;

  const fetchPayment: PaymentFetcher = async (provider, partnerId, call) => {
    if (partnerDown) throw new Error('partner unavailable');
    const status = partnerStatus.get(call.correlationId) ?? 'SETTLED';
    return { ...basePayment(partnerId), status };
  };

  function basePayment(partnerId: string): Payment {
    return {
      id: encodeId('Payment', 'stripe', partnerId),
      provider: 'stripe',
      partnerId,
      ownerId: 'cust_alice',
      status: 'PENDING',
      amount: { minor: 2500n, currency: 'GBP' },
      debtorAccountId: null,
      creditor: null,
      reference: 'Order 42',
      createdAt: new Date('2026-01-01T00:00:00Z'),
      updatedAt: new Date('2026-01-01T00:00:00Z'),
      failureReason: null,
      nextAction: null,
      events: [],
      refunds: [],
    };
  }

  /** The payments service on `on` (the test's database, or a recording view of it). */
  function paymentService(on: Db): PaymentService {
    return new PaymentService(
      {
        db: on,
        audit,
        providers: () => {
          throw new Error('no partner calls');
        },
        logger,
      },
      { partnerKeySecret: 'test', cardProvider: 'stripe' },
    );
  }

  /** A worker whose inbox, owner reads and ledger all go through `on`. */
  function worker(on: Db = db, service: PaymentService = payments): WebhookWorker {
    return new WebhookWorker(
      {
        repository: on === db ? repo : new WebhookRepository(on),
        handler: paymentWebhookHandler({ db: on, payments: service, fetchPayment }),
        audit,
        logger,
        now: () => clock,
        random: () => 0.5,
      },
      OPTIONS,
    );
  }

  async function deliver(partnerId: string, eventId: string, status: PaymentStatus) {
    const { id, inserted } = await deliverEvent(repo, partnerId, eventId, clock);
    if (inserted) partnerStatus.set(`webhook-${id}`, status);
  }

  async function newPayment(): Promise<string> {
    serial += 1;
    const partnerId = `pi_${serial}`;
    await db.transaction((tx) => payments.ledger.record(tx, basePayment(partnerId), { source: 'API' }));
    return partnerId;
  }

  const statusOf = async (partnerId: string) =>
    (await payments.ledger.get('cust_alice', encodeId('Payment', 'stripe', partnerId)))!;

  beforeAll(async () => {
    db = await backend.open();
    repo = new WebhookRepository(db);
    audit = new AuditLog(db);
    payments = paymentService(db);
  });
  beforeEach(() => {
    clock = new Date('2026-01-15T12:00:00Z');
    partnerStatus = new Map();
    partnerDown = false;
  });
  afterAll(async () => db.close());

  it('ends SETTLED with no repeated history entry in every shuffled, tripled order', async () => {
    for (const seed of [1, 7, 42, 1234]) {
      const partnerId = await newPayment();
      const stream = HISTORY.flatMap((status, i) =>
        [0, 1, 2].map(() => ({ id: `evt_${partnerId}_${i}`, status })),
      );
      for (const event of shuffled(stream, seed)) await deliver(partnerId, event.id, event.status);
      // Two workers at once, as two replicas would run them.
      await Promise.all([worker().drain(), worker().drain()]);
      const payment = await statusOf(partnerId);
      expect(payment.status).toBe('SETTLED');
      // Each status at most once, and only statuses of the real history, in the chain's order.
      const seen = payment.events.map((event) => event.status);
      expect(new Set(seen).size).toBe(seen.length);
      const chain: PaymentStatus[] = ['PENDING', ...HISTORY];
      expect(seen.every((status) => chain.includes(status))).toBe(true);
      expect([...seen].sort((x, y) => chain.indexOf(x) - chain.indexOf(y)).at(-1)).toBe('SETTLED');
    }
    expect((await repo.list({ limit: 100, statuses: ['pending', 'processing', 'dead'] })).length).toBe(0);
  });

  it('reads a payment once per event: the owner read brings the status the ledger decides on', async () => {
    const recorded = recordingDb(db);
    const countedWorker = worker(recorded.db, paymentService(recorded.db));
    const words = (sql: string) => sql.trim().split(/\s+/).slice(0, 4).join(' ');
    const partnerId = await newPayment();

    // An event that moves the payment: the claim, the owner read, the move with its history (guarded
    // by the status the owner read brought), the mark with its audit entry.
    await deliver(partnerId, 'evt_reads_move', 'SETTLED');
    expect(await countedWorker.runOnce()).toBe(1);
    expect(recorded.statements.map(words)).toEqual([
      'UPDATE webhook_events SET status',
      'SELECT subject, status FROM',
      'WITH moved AS (',
      'WITH guarded AS (UPDATE',
    ]);
    expect((await statusOf(partnerId)).status).toBe('SETTLED');

    // A repeat of the status the ledger holds: the claim, the owner read, the mark with its audit entry.
    recorded.statements.length = 0;
    await deliver(partnerId, 'evt_reads_again', 'SETTLED');
    expect(await countedWorker.runOnce()).toBe(1);
    expect(recorded.statements.map(words)).toEqual([
      'UPDATE webhook_events SET status',
      'SELECT subject, status FROM',
      'WITH guarded AS (UPDATE',
    ]);
    expect(
      await db.query("SELECT status FROM webhook_events WHERE partner_event_id = 'evt_reads_again'"),
    ).toEqual([{ status: 'processed' }]);
    await audit.seal();
    const [entry] = await db.query<{ payload: string }>(
      "SELECT payload FROM audit_log WHERE action = 'webhook.processed' ORDER BY seq DESC LIMIT 1",
    );
    expect(JSON.parse(entry!.payload)).toMatchObject({
      details: { partnerEventId: 'evt_reads_again', from: 'SETTLED', to: 'SETTLED' },
    });
    expect((await statusOf(partnerId)).events.filter((event) => event.status === 'SETTLED')).toHaveLength(1);
  });

  it('asks the partner nothing about a payment in a final status, and records the event processed', async () => {
    const partnerId = await newPayment();
    await deliver(partnerId, 'evt_final_first', 'FAILED');
    expect(await worker().drain()).toBe(1);
    expect((await statusOf(partnerId)).status).toBe('FAILED');

    // The partner is down: a pull would fail and the event be retried. A final payment needs none.
    partnerDown = true;
    await deliver(partnerId, 'evt_final_late', 'SETTLED');
    expect(await worker().drain()).toBe(1);
    expect(
      await db.query("SELECT status, attempts FROM webhook_events WHERE partner_event_id = 'evt_final_late'"),
    ).toEqual([{ status: 'processed', attempts: 1 }]);
    expect((await statusOf(partnerId)).status).toBe('FAILED');
  });

  it('loses nothing when a worker dies mid-event: the lease lapses and the event is processed once', async () => {
    const partnerId = await newPayment();
    await deliver(partnerId, 'evt_crash', 'SETTLED');
    const doomed = worker();
    // The doomed worker claims the event and dies before handling it.
    const claimed = await repo.claim(doomed.owner, 5, clock, new Date(clock.getTime() + OPTIONS.leaseMs));
    expect(claimed).toHaveLength(1);
    expect(await worker().drain()).toBe(0);
    clock = new Date(clock.getTime() + OPTIONS.leaseMs + 1);
    expect(await worker().drain()).toBe(1);
    expect((await statusOf(partnerId)).status).toBe('SETTLED');
    expect(await repo.complete(claimed[0]!.id, doomed.owner, 'processed', clock)).toBe(false);
    const settled = (await statusOf(partnerId)).events.filter((event) => event.status === 'SETTLED');
    expect(settled).toHaveLength(1);
  });

  it('retries with backoff, dead-letters after the last attempt, and recovers on replay', async () => {
    const partnerId = await newPayment();
    await deliver(partnerId, 'evt_down', 'SETTLED');
    partnerDown = true;
    const w = worker();
    for (let attempt = 1; attempt <= OPTIONS.maxAttempts; attempt += 1) {
      expect(await w.runOnce()).toBe(1);
      expect(await w.runOnce()).toBe(0);
      clock = new Date(
        clock.getTime() + backoffMs(attempt, OPTIONS.retryBaseMs, OPTIONS.retryMaxMs, () => 0.5),
      );
    }
    const [dead] = await repo.list({ limit: 1, statuses: ['dead'] });
    expect(dead).toMatchObject({ attempts: 3, lastError: 'partner unavailable' });
    partnerDown = false;
    const ops = new WebhookOperations(repo, audit, () => clock);
    expect(await ops.replay(dead!.id, 'operator:test')).toMatchObject({
      ok: true,
      event: { status: 'pending' },
    });
    expect(await w.drain()).toBe(1);
    expect((await statusOf(partnerId)).status).toBe('SETTLED');
    expect((await repo.get(dead!.id))?.status).toBe('processed');
  });

  it('ignores events for payments Tributary never initiated, after a short wait for the ledger', async () => {
    await deliver('pi_foreign', 'evt_foreign', 'SETTLED');
    const w = worker();
    for (let i = 0; i < 3; i += 1) {
      await w.runOnce();
      clock = new Date(clock.getTime() + 60_000);
    }
    const [row] = await repo.list({ limit: 1, statuses: ['ignored'] });
    expect(row?.partnerEventId).toBe('evt_foreign');
  });

  it('backs off exponentially with jitter, capped', () => {
    expect(backoffMs(1, 1_000, 60_000, () => 0)).toBe(500);
    expect(backoffMs(3, 1_000, 60_000, () => 1)).toBe(4_000);
    expect(backoffMs(20, 1_000, 60_000, () => 1)).toBe(60_000);
  });
});

describe.each(testBackends())('webhook worker lanes on $kind', (backend) => {
  let db: Db;
  let repo: WebhookRepository;
  let audit: AuditLog;
  const start = new Date('2026-02-01T00:00:00Z');
  const second = (n: number) => new Date(start.getTime() + n * 1_000);

  beforeAll(async () => {
    db = await backend.open();
    repo = new WebhookRepository(db);
    audit = new AuditLog(db);
  });
  afterAll(async () => db.close());

  /** A handler noting which events it holds at once; each is held for a few turns of the event loop. */
  function watching() {
    const inHand = new Set<string>();
    const started: string[] = [];
    const heldTogether: string[][] = [];
    const handler: WebhookHandler = {
      async handle(event) {
        inHand.add(event.partnerEventId);
        started.push(event.partnerEventId);
        heldTogether.push([...inHand]);
        for (let turn = 0; turn < 3; turn++) await new Promise((resolve) => setImmediate(resolve));
        inHand.delete(event.partnerEventId);
        return { outcome: 'processed', detail: 'watched' };
      },
    };
    return { handler, started, heldTogether };
  }

  const lanesWorker = (handler: WebhookHandler, concurrency: number, now: Date) =>
    new WebhookWorker(
      { repository: repo, handler, audit, logger, now: () => now },
      { ...OPTIONS, batch: 10, concurrency },
    );

  it('handles the events of a batch about different resources at once, never more than its concurrency', async () => {
    for (let i = 0; i < 6; i++) await deliverEvent(repo, `pi_wide_${i}`, `evt_wide_${i}`, second(i));
    const { handler, heldTogether } = watching();
    expect(await lanesWorker(handler, 3, second(60)).runOnce()).toBe(6);
    expect(Math.max(...heldTogether.map((held) => held.length))).toBe(3);
    const left = await repo.counts();
    expect(left.pending + left.processing).toBe(0);
  });

  it('handles the events about one resource one after the other, in the order they were claimed', async () => {
    for (let i = 0; i < 4; i++) await deliverEvent(repo, 'pi_one', `evt_one_${i}`, second(100 + i));
    await deliverEvent(repo, 'pi_two', 'evt_two', second(104));
    const { handler, started, heldTogether } = watching();
    expect(await lanesWorker(handler, 4, second(160)).runOnce()).toBe(5);
    expect(started.filter((id) => id.startsWith('evt_one_'))).toEqual([
      'evt_one_0',
      'evt_one_1',
      'evt_one_2',
      'evt_one_3',
    ]);
    const ofOne = (held: string[]) => held.filter((id) => id.startsWith('evt_one_')).length;
    expect(heldTogether.every((held) => ofOne(held) <= 1)).toBe(true);
    // The other payment's event did not wait for that lane.
    expect(heldTogether.some((held) => held.includes('evt_two') && ofOne(held) === 1)).toBe(true);
  });
});

describe('webhook worker lanes when a handling fails', () => {
  const event = (id: string, payment: string) =>
    ({ id, provider: 'stripe', resource: { kind: 'payment', partnerId: payment } }) as WebhookEventRecord;

  it('ends only the failing lane, still handles every other lane, then throws the failure', async () => {
    const handled: string[] = [];
    const failure = new Error('database gone');
    const run = inLanes(
      [event('a1', 'pi_a'), event('a2', 'pi_a'), event('b1', 'pi_b'), event('c1', 'pi_c')],
      1,
      async (record) => {
        if (record.id === 'a1') throw failure;
        handled.push(record.id);
      },
    );
    await expect(run).rejects.toBe(failure);
    // One runner: the failed lane's later event is not handled, and the other lanes still are.
    expect(handled).toEqual(['b1', 'c1']);
  });
});
