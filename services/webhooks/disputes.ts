/**
 * What a dispute event does, for any partner whose events name a dispute (resource kind `dispute`):
 * the dispute is pulled from the partner (never trusted from the body), linked to the ledger payment it
 * names, and stored monotonically (store/disputes.ts), so duplicates, replays and out-of-order events
 * end in the state the partner holds. The payment itself is pulled and applied too: a lost dispute
 * returns money, which moves the payment's status. A dispute on a payment the ledger does not hold is
 * retried a few times (our record may be late), then ignored, like events about unknown payments.
 *
 * Partner-neutral: a partner joins by naming `dispute` resources in its verifier and implementing
 * `PaymentsProvider.getDispute` (Stripe pulls `GET /v1/disputes/{id}`; Adyen maps its chargeback
 * notifications to the same kind).
 */
import type { Logger } from 'pino';
import type { Dispute, ProviderName } from '../../domain/model.js';
import { encodeId } from '../../domain/ids.js';
import type { DisputeChange, DisputeRecord } from '../../store/disputes.js';
import type { WebhookEventRecord } from '../../store/webhooks.js';
import type { HandleResult } from './result.js';

/** Fetches one dispute from its partner (a platform read); null when the partner has no such dispute. */
export type DisputeFetcher = (
  provider: ProviderName,
  partnerDisputeId: string,
  call: { correlationId: string; logger: Logger },
) => Promise<Dispute | null>;

/** Where disputes are stored (DisputeRepository satisfies it). */
export interface DisputeSink {
  upsert(dispute: DisputeRecord): Promise<DisputeChange>;
}

export interface DisputeHandlerDeps {
  fetchDispute: DisputeFetcher;
  disputes: DisputeSink;
  /** The owner of a ledger payment, or null when the ledger does not hold it. */
  subjectOf(paymentId: string): Promise<string | null>;
  /** Pulls the payment and applies its status (handler.ts); returns a short description of what it did. */
  refreshPayment(
    event: WebhookEventRecord,
    partnerPaymentId: string,
    subject: string,
    logger: Logger,
  ): Promise<string>;
  /** Attempts for a dispute whose payment the ledger does not hold, before it is ignored. */
  unknownPaymentAttempts: number;
  /** Told of every stored change (metrics). */
  observe?: (dispute: Dispute, change: DisputeChange) => void;
}

/** Raised when the event should be tried again later (see handler.ts' RetryLater). */
export type RetryFactory = (message: string) => Error;

/** Handles one `dispute` event; throws (via `retry`) when it must be tried again. */
export async function handleDisputeEvent(
  deps: DisputeHandlerDeps,
  event: WebhookEventRecord,
  partnerDisputeId: string,
  logger: Logger,
  retry: RetryFactory,
): Promise<HandleResult> {
  const correlationId = `webhook-${event.id}`;
  const dispute = await deps.fetchDispute(event.provider, partnerDisputeId, { correlationId, logger });
  if (!dispute) throw retry('the partner does not return the dispute');
  if (!dispute.partnerPaymentId) return { outcome: 'ignored', detail: 'dispute names no payment' };
  const paymentId = encodeId('Payment', event.provider, dispute.partnerPaymentId);
  const subject = await deps.subjectOf(paymentId);
  if (!subject) {
    if (event.attempts < deps.unknownPaymentAttempts) throw retry('disputed payment not (yet) in the ledger');
    return { outcome: 'ignored', detail: 'disputed payment not initiated through Tributary' };
  }
  // The payment first: if its pull fails, the event is retried before the dispute change is recorded.
  const payment = await deps.refreshPayment(event, dispute.partnerPaymentId, subject, logger);
  const change = await deps.disputes.upsert({ ...dispute, paymentId });
  if (change.outcome === 'opened' || change.outcome === 'updated') deps.observe?.(dispute, change);
  const changed = change.outcome === 'opened' || change.outcome === 'updated';
  return {
    outcome: 'processed',
    detail: `dispute ${change.outcome}: ${change.from ?? 'new'} -> ${change.to}; payment ${payment}`,
    audit: {
      actor: `webhook:${event.provider}`,
      action: changed ? `dispute.${change.outcome}` : 'webhook.processed',
      subject,
      target: paymentId,
      details: {
        webhookEventId: event.id,
        partnerEventId: event.partnerEventId,
        type: event.type,
        dispute: dispute.partnerId,
        outcome: change.outcome,
        from: change.from,
        to: change.to,
        reason: dispute.reason,
      },
    },
  };
}
