/**
 * Two replicas drain one inbox on one PostgreSQL: each runs its own WebhookWorker on its own pool, as two
 * processes would. Many events (several per payment, each delivered twice, shuffled across payments)
 * are each handled exactly once, none is left behind, and the payments end as one worker alone leaves
 * them: as the partner holds them. PGlite is one process's embedded database, so this needs DATABASE_URL.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { WebhookHandler } from '../../../services/webhooks/handler.js';
import { AuditLog } from '../../../store/audit.js';
import type { Db } from '../../../store/db.js';
import { WebhookRepository } from '../../../store/webhooks.js';
import { testBackends } from '../../helpers/db.js';
import { startPaymentsHarness, SUBJECTS, type PaymentsHarness } from '../payments/harness.js';
import {
  deliver,
  initiateAwaitingAction,
  moveAtPartner,
  processedEntries,
  shuffled,
  webhookWorker,
  type PartnerMove,
} from './partner.js';

const pg = testBackends().find((backend) => backend.kind === 'pg');
/** Where each payment goes at the partner after initiation; null: the customer never authenticates. */
const MOVES: (PartnerMove | null)[] = [
  'succeeded',
  'processing',
  'requires_payment_method',
  'canceled',
  null,
];
const PAYMENTS = 10;
const EVENTS_PER_PAYMENT = 4;

/** Counts handler invocations per inbox row, across every worker it wraps. */
function counting(calls: Map<string, number>) {
  return (inner: WebhookHandler): WebhookHandler => ({
    handle(event, log) {
      calls.set(event.id, (calls.get(event.id) ?? 0) + 1);
      return inner.handle(event, log);
    },
  });
}

describe.skipIf(!pg)(
  'two webhook workers on one PostgreSQL (skipped: set DATABASE_URL to run)',
  { timeout: 240_000 },
  () => {
    /** The replicas' schema (first replica's pool) and the sandbox. */
    let h: PaymentsHarness;
    /** The second replica's own pool on the same schema. */
    let peer: Db;
    /** Another schema, for the same ledger and inbox drained by one worker alone. */
    let alone: Db;

    beforeAll(async () => {
      h = await startPaymentsHarness(pg!);
      peer = await pg!.openPeer!(h.db);
      alone = await pg!.open();
    }, 240_000);
    afterAll(async () => {
      await peer?.close();
      await alone?.close();
      await h?.close();
    });

    it('handles every event exactly once and ends each payment as one worker alone does', async () => {
      const payments = [];
      for (let i = 0; i < PAYMENTS; i += 1) {
        const payment = await initiateAwaitingAction(h, SUBJECTS[i % SUBJECTS.length]);
        const move = MOVES[i % MOVES.length];
        if (move) await moveAtPartner(h, payment.partnerId, move);
        payments.push(payment);
      }
      // The reference schema starts from the same ledger.
      const reference = h.service({}, undefined, alone);
      for (const payment of payments) {
        const recorded = await h.service().ledger.get(payment.subject, payment.id);
        await alone.transaction((tx) => reference.ledger.record(tx, recorded!, { source: 'API' }));
      }
      const deliveries = shuffled(
        payments.flatMap((payment) =>
          Array.from({ length: EVENTS_PER_PAYMENT * 2 }, (_, n) => ({
            partnerId: payment.partnerId,
            eventId: `evt_${payment.partnerId}_${n % EVENTS_PER_PAYMENT}`,
          })),
        ),
        42,
      );
      const at = new Date();
      for (const target of [h.db, alone]) {
        const repo = new WebhookRepository(target);
        for (const { partnerId, eventId } of deliveries) await deliver(repo, partnerId, eventId, at);
      }
      const events = PAYMENTS * EVENTS_PER_PAYMENT;

      const calls = new Map<string, number>();
      const replicas = [h.db, peer].map((db) => webhookWorker(h, db, { wrap: counting(calls) }));
      const drained = await Promise.all(replicas.map((worker) => worker.drain()));
      expect(drained[0]! + drained[1]!).toBe(events);
      expect(calls.size).toBe(events);
      expect([...calls.values()].every((n) => n === 1)).toBe(true);
      const inbox = new WebhookRepository(h.db);
      expect(await inbox.counts()).toEqual({
        pending: 0,
        processing: 0,
        processed: events,
        ignored: 0,
        dead: 0,
      });
      const recorded = await processedEntries(h.db);
      expect(recorded).toHaveLength(events);
      expect(new Set(recorded).size).toBe(events);
      expect((await new AuditLog(h.db).verify()).ok).toBe(true);

      expect(await webhookWorker(h, alone).drain()).toBe(events);
      for (const payment of payments) {
        const replicated = await h.service().ledger.get(payment.subject, payment.id);
        const single = await reference.ledger.get(payment.subject, payment.id);
        const partner = (
          await h.provider.payments.getPayments(h.call(payment.subject), [payment.partnerId])
        ).get(payment.partnerId);
        expect(replicated?.status).toBe(single?.status);
        expect(replicated?.failureReason).toBe(single?.failureReason);
        expect(replicated?.status).toBe(partner?.status);
        // Each status at most once in the history, however many events named the payment.
        const history = replicated!.events.map((event) => event.status);
        expect(new Set(history).size).toBe(history.length);
      }
    });
  },
);
