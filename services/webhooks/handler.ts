/**
 * What a stored event does. Events are thin: the body is never trusted for a status. The payment the
 * event names is fetched from the partner, and its status goes through the payments state machine
 * (`PaymentService.applyStatus`), which only moves forward; so duplicates, late and out-of-order events
 * all end in the state the partner holds now. A payment the ledger holds in a final status is not
 * fetched: nothing the partner says can move it. Dispute events pull the dispute and its payment
 * (disputes.ts).
 */
import type { Logger } from 'pino';
import type { Payment, PaymentStatus, ProviderName } from '../../domain/model.js';
import { encodeId } from '../../domain/ids.js';
import type { Db } from '../../store/db.js';
import { paymentOwner, type WebhookEventRecord } from '../../store/webhooks.js';
import type { StatusChange, StatusReport } from '../payments/ledger.js';
import { isTerminal } from '../payments/status.js';
import { handleDisputeEvent, type DisputeHandlerDeps } from './disputes.js';
import type { ItemEventHandler } from './items.js';
import type { HandleResult } from './result.js';

export type { HandleResult } from './result.js';

/** The payments entry point the handler needs (PaymentService satisfies it). */
export interface PaymentStatusSink {
  applyStatus(paymentId: string, status: PaymentStatus, report: StatusReport): Promise<StatusChange | null>;
}

/** Fetches one payment from its partner on behalf of its owner; null when the partner has no such payment. */
export type PaymentFetcher = (
  provider: ProviderName,
  partnerId: string,
  call: { subject: string; correlationId: string; logger: Logger },
) => Promise<Payment | null>;

/** A handled event: done (`processed`), or nothing to do (`ignored`). Throwing means retry. */

export interface WebhookHandler {
  handle(event: WebhookEventRecord, logger: Logger): Promise<HandleResult>;
}

/** Raised when an event should be retried later (the partner or our ledger is not there yet). */
export class RetryLater extends Error {
  override name = 'RetryLater';
}

export interface PaymentHandlerDeps {
  db: Db;
  payments: PaymentStatusSink;
  fetchPayment: PaymentFetcher;
  /** Attempts for an event about a payment our ledger does not hold, before it is ignored. Default 3. */
  unknownPaymentAttempts?: number;
  /** What Item events do (items.ts); absent, they are acknowledged and ignored. */
  items?: ItemEventHandler;
  /** Where dispute events pull and store disputes (disputes.ts); absent, they are acknowledged and ignored. */
  disputes?: Pick<DisputeHandlerDeps, 'fetchDispute' | 'disputes' | 'observe'>;
}

/** The handler for every partner: payments are pulled and applied; other resources are acknowledged. */
export function paymentWebhookHandler(deps: PaymentHandlerDeps): WebhookHandler {
  const unknownAttempts = deps.unknownPaymentAttempts ?? 3;
  /** Fetches the payment from its partner and applies its status through the state machine. */
  const pullPayment = async (
    event: WebhookEventRecord,
    partnerId: string,
    subject: string,
    logger: Logger,
    seen?: PaymentStatus,
  ): Promise<StatusChange | null> => {
    const payment = await deps.fetchPayment(event.provider, partnerId, {
      subject,
      correlationId: `webhook-${event.id}`,
      logger,
    });
    if (!payment) throw new RetryLater('the partner does not return the payment');
    return deps.payments.applyStatus(encodeId('Payment', event.provider, partnerId), payment.status, {
      source: 'WEBHOOK',
      detail: `${event.type} (${event.partnerEventId})`,
      ...(seen ? { seen } : {}),
      patch: {
        ...(payment.status === 'FAILED' ? { failureReason: payment.failureReason } : {}),
        ...(payment.status === 'REQUIRES_ACTION' ? { nextAction: payment.nextAction } : {}),
      },
    });
  };
  return {
    async handle(event, logger) {
      const resource = event.resource;
      if (!resource) return { outcome: 'ignored', detail: `no resource in ${event.type}` };
      if (resource.kind === 'dispute') {
        if (!deps.disputes) return { outcome: 'ignored', detail: 'dispute events need no action' };
        const disputeDeps: DisputeHandlerDeps = {
          ...deps.disputes,
          subjectOf: async (paymentId) => (await paymentOwner(deps.db, paymentId))?.subject ?? null,
          refreshPayment: async (source, partnerPaymentId, subject, log) => {
            const change = await pullPayment(source, partnerPaymentId, subject, log);
            return change?.changed
              ? `${change.from} -> ${change.to}`
              : `unchanged (${change?.to ?? 'unknown'})`;
          },
          unknownPaymentAttempts: unknownAttempts,
        };
        return handleDisputeEvent(disputeDeps, event, resource.partnerId, logger, (m) => new RetryLater(m));
      }
      if (resource.kind !== 'payment') {
        // Plaid Item events: the Item's transactions are synced now (items.ts).
        if (deps.items) return deps.items.handle(event, logger);
        return { outcome: 'ignored', detail: `${resource.kind} events need no action` };
      }
      const paymentId = encodeId('Payment', event.provider, resource.partnerId);
      const owner = await paymentOwner(deps.db, paymentId);
      if (!owner) {
        // The webhook may beat our own record of a payment we just created; wait a little for it.
        if (event.attempts < unknownAttempts) throw new RetryLater('payment not (yet) in the ledger');
        return { outcome: 'ignored', detail: 'payment not initiated through Tributary' };
      }
      const { subject } = owner;
      // A payment in a final status cannot change whatever the partner says now: no partner call (late
      // and duplicate events about finished payments are common, and each pull costs partner quota).
      const change: StatusChange | null = isTerminal(owner.status)
        ? { from: owner.status, to: owner.status, changed: false }
        : await pullPayment(event, resource.partnerId, subject, logger, owner.status);
      return {
        outcome: 'processed',
        detail: change?.changed ? `${change.from} -> ${change.to}` : `unchanged (${change?.to ?? 'unknown'})`,
        audit: {
          actor: `webhook:${event.provider}`,
          action: 'webhook.processed',
          subject,
          target: paymentId,
          details: {
            webhookEventId: event.id,
            partnerEventId: event.partnerEventId,
            type: event.type,
            from: change?.from ?? null,
            to: change?.to ?? null,
          },
        },
      };
    },
  };
}
