/**
 * Webhook workers against the Stripe sandbox: card payments initiated through the payments service (so
 * our ledger holds them, awaiting 3-D Secure), moved on at the partner through the sandbox's control
 * routes, thin inbox events naming them, and workers whose handler pulls each payment from the sandbox
 * and applies it through the payments state machine, as the server wires them.
 */
import { randomBytes } from 'node:crypto';
import pino from 'pino';
import { paymentWebhookHandler, type WebhookHandler } from '../../../services/webhooks/handler.js';
import { WebhookWorker, type WorkerOptions } from '../../../services/webhooks/worker.js';
import { AuditLog } from '../../../store/audit.js';
import type { Db } from '../../../store/db.js';
import { WebhookRepository } from '../../../store/webhooks.js';
import { cardPayment, type PaymentsHarness } from '../payments/harness.js';

const logger = pino({ level: 'silent' });

export const WORKER_OPTIONS: WorkerOptions = {
  maxAttempts: 5,
  retryBaseMs: 1_000,
  retryMaxMs: 60_000,
  leaseMs: 30_000,
  batch: 3,
  pollMs: 50,
};

/** What the sandbox can move a PaymentIntent to. */
export type PartnerMove = 'succeeded' | 'processing' | 'requires_payment_method' | 'canceled';

/** A card payment that needs 3-D Secure: REQUIRES_ACTION in our ledger and at the partner. */
export async function initiateAwaitingAction(
  h: PaymentsHarness,
  subject = 'cust_alice',
): Promise<{ id: string; partnerId: string; subject: string }> {
  const key = `webhook-test-${randomBytes(8).toString('hex')}`;
  const result = await h
    .service()
    .initiate(h.call(subject), cardPayment('12.34', 'pm_card_authenticationRequired'), key);
  const payment = result.payload.payment;
  if (payment?.status !== 'REQUIRES_ACTION') throw new Error(`unexpected initiation: ${payment?.status}`);
  return { id: payment.id, partnerId: payment.partnerId, subject };
}

/** Moves a PaymentIntent at the partner, as the customer, the bank or time would. */
export async function moveAtPartner(h: PaymentsHarness, partnerId: string, status: PartnerMove) {
  const response = await fetch(`${h.sandbox.url}/__sandbox/stripe/payment_intents/${partnerId}/status`, {
    method: 'POST',
    headers: { 'content-type': 'application/json' },
    body: JSON.stringify({ status }),
  });
  if (!response.ok) throw new Error(`sandbox refused the move: ${response.status} ${await response.text()}`);
}

/** Stores one verified Stripe delivery naming the payment (a second delivery of an id is a duplicate). */
export async function deliver(repo: WebhookRepository, partnerId: string, eventId: string, at: Date) {
  return repo.insert({
    provider: 'stripe',
    event: {
      partnerEventId: eventId,
      type: 'payment_intent.updated',
      resource: { kind: 'payment', partnerId },
      occurredAt: null,
    },
    body: Buffer.from(`{"id":"${eventId}"}`),
    headers: {},
    verification: 'stripe-signature-v1',
    receivedAt: at,
  });
}

/**
 * A worker on `db` (one replica's or one process's own handle) with the real handler: the payment is
 * fetched from the sandbox and applied by a PaymentService on the same handle.
 */
export function webhookWorker(
  h: PaymentsHarness,
  db: Db,
  options: {
    audit?: AuditLog;
    wrap?: (handler: WebhookHandler) => WebhookHandler;
    now?: () => Date;
    worker?: Partial<WorkerOptions>;
  } = {},
): WebhookWorker {
  const audit = options.audit ?? new AuditLog(db);
  const handler = paymentWebhookHandler({
    db,
    payments: h.service({}, undefined, db),
    fetchPayment: async (_provider, partnerId, call) =>
      (await h.provider.payments.getPayments(call, [partnerId])).get(partnerId) ?? null,
  });
  return new WebhookWorker(
    {
      repository: new WebhookRepository(db),
      handler: options.wrap ? options.wrap(handler) : handler,
      audit,
      logger,
      ...(options.now ? { now: options.now } : {}),
      random: () => 0.5,
    },
    { ...WORKER_OPTIONS, ...options.worker },
  );
}

/** The `webhook.processed` audit entries, as inbox row ids, one per entry. */
export async function processedEntries(db: Db): Promise<string[]> {
  // The worker stages its entries; they are in the chain once sealed.
  const audit = new AuditLog(db, { sealIntervalMs: 0 });
  await audit.seal();
  audit.close();
  const rows = await db.query<{ payload: string }>(
    "SELECT payload FROM audit_log WHERE action = 'webhook.processed' ORDER BY seq",
  );
  return rows.map(
    (row) => (JSON.parse(row.payload) as { details: { webhookEventId: string } }).details.webhookEventId,
  );
}

/** A deterministic Fisher-Yates shuffle (a seeded LCG), so a failing order can be replayed. */
export function shuffled<T>(items: readonly T[], seed: number): T[] {
  const out = [...items];
  let state = seed;
  for (let i = out.length - 1; i > 0; i -= 1) {
    state = (state * 1_103_515_245 + 12_345) % 2 ** 31;
    const j = state % (i + 1);
    [out[i], out[j]] = [out[j]!, out[i]!];
  }
  return out;
}
