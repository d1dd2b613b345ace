/**
 * A worker that dies between applying an event's status and marking the event processed, on both
 * backends: the event comes back when the lease lapses, the restarted worker applies it again (a no-op
 * for the state machine) and the event is recorded in the audit log once, on a chain that verifies.
 * The payments are real: initiated at the Stripe sandbox and pulled from it by the handler.
 */
import { afterAll, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import type { WebhookHandler } from '../../../services/webhooks/handler.js';
import { AuditLog, type AuditEntry } from '../../../store/audit.js';
import type { Db, GuardedStatement, Queryable } from '../../../store/db.js';
import { WebhookRepository } from '../../../store/webhooks.js';
import { testBackends } from '../../helpers/db.js';
import { startPaymentsHarness, type PaymentsHarness } from '../payments/harness.js';
import {
  deliver,
  initiateAwaitingAction,
  moveAtPartner,
  processedEntries,
  webhookWorker,
  WORKER_OPTIONS,
} from './partner.js';

/**
 * The process is killed as soon as `handle()` returns: the status is applied, but nothing after it runs
 * (no mark, no failure record, no lease release). `killed` resolves at that moment.
 */
function killedAfterHandle() {
  let died!: () => void;
  const killed = new Promise<void>((resolve) => (died = resolve));
  const wrap = (inner: WebhookHandler): WebhookHandler => ({
    async handle(event, log) {
      await inner.handle(event, log);
      died();
      return new Promise<never>(() => {});
    },
  });
  return { killed, wrap };
}

/** An audit log whose connection drops right after it writes a `webhook.processed` entry, `times` times. */
class DropsAfterProcessedEntry extends AuditLog {
  constructor(
    private readonly database: Db,
    private times: number,
  ) {
    super(database);
  }

  /** The marking statement runs in full, then the connection is lost before it commits. */
  override async stageWith(
    q: Queryable,
    guarded: GuardedStatement,
    entries: readonly AuditEntry[],
  ): Promise<boolean> {
    if (!entries.some((entry) => entry.action === 'webhook.processed') || this.times === 0)
      return super.stageWith(q, guarded, entries);
    this.times -= 1;
    return this.database.transaction(async (tx) => {
      await super.stageWith(tx, guarded, entries);
      throw new Error('connection lost before COMMIT');
    });
  }
}

describe.each(testBackends())('webhook worker crash recovery on $kind', { timeout: 180_000 }, (backend) => {
  let h: PaymentsHarness;
  let repo: WebhookRepository;
  let clock: Date;
  const now = () => clock;

  beforeAll(async () => {
    h = await startPaymentsHarness(backend);
    repo = new WebhookRepository(h.db);
  }, 180_000);
  beforeEach(() => {
    clock = new Date();
  });
  afterAll(async () => h?.close());

  /** Payments settled at the partner, with `events` stored events each (and each delivered twice). */
  async function settledWithEvents(count: number, events: number) {
    const payments = [];
    for (let i = 0; i < count; i += 1) {
      const payment = await initiateAwaitingAction(h);
      await moveAtPartner(h, payment.partnerId, 'succeeded');
      for (let n = 0; n < events * 2; n += 1)
        await deliver(repo, payment.partnerId, `evt_${payment.partnerId}_${n % events}`, clock);
      payments.push(payment);
    }
    return payments;
  }

  async function expectSettledOnce(payments: { id: string; subject: string }[]) {
    for (const payment of payments) {
      const recorded = await h.service().ledger.get(payment.subject, payment.id);
      expect(recorded?.status).toBe('SETTLED');
      expect(recorded?.events.filter((event) => event.status === 'SETTLED')).toHaveLength(1);
    }
  }

  it('records an event once when the worker was killed after applying it and before marking it', async () => {
    const before = await processedEntries(h.db);
    const payments = await settledWithEvents(2, 3);
    const crash = killedAfterHandle();
    void webhookWorker(h, h.db, { wrap: crash.wrap, now }).runOnce();
    await crash.killed;
    // The kill landed after the effect: one payment is already SETTLED, yet nothing was recorded.
    const applied = await Promise.all(
      payments.map((payment) => h.service().ledger.get(payment.subject, payment.id)),
    );
    expect(applied.filter((payment) => payment?.status === 'SETTLED')).toHaveLength(1);
    expect(await processedEntries(h.db)).toEqual(before);
    expect((await repo.counts()).processing).toBe(WORKER_OPTIONS.batch);

    clock = new Date(clock.getTime() + WORKER_OPTIONS.leaseMs + 1);
    expect(await webhookWorker(h, h.db, { now }).drain()).toBe(6);
    const recorded = (await processedEntries(h.db)).slice(before.length);
    expect(recorded).toHaveLength(6);
    expect(new Set(recorded).size).toBe(6);
    expect(await repo.counts()).toMatchObject({ pending: 0, processing: 0, dead: 0 });
    await expectSettledOnce(payments);
    expect((await h.audit.verify()).ok).toBe(true);
  });

  it('rolls the mark back with the audit entry when the marking transaction fails, then records once', async () => {
    const before = await processedEntries(h.db);
    const payments = await settledWithEvents(1, 2);
    const audit = new DropsAfterProcessedEntry(h.db, 1);
    const worker = webhookWorker(h, h.db, { audit, now });
    expect(await worker.runOnce()).toBe(2);
    const [failed] = await repo.list({ limit: 1, statuses: ['pending'] });
    expect(failed).toMatchObject({ attempts: 1, lastError: 'connection lost before COMMIT' });
    expect((await processedEntries(h.db)).slice(before.length)).toHaveLength(1);

    clock = new Date(clock.getTime() + WORKER_OPTIONS.retryMaxMs);
    expect(await worker.drain()).toBe(1);
    const recorded = (await processedEntries(h.db)).slice(before.length);
    expect(recorded).toHaveLength(2);
    expect(new Set(recorded).size).toBe(2);
    expect((await repo.get(failed!.id))?.status).toBe('processed');
    await expectSettledOnce(payments);
    expect((await h.audit.verify()).ok).toBe(true);
  });
});
