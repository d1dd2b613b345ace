/**
 * Stripe's webhooks, the way Stripe sends them: when a PaymentIntent changes status the sandbox sends a
 * `payment_intent.*` Event to every registered endpoint, signed with `Stripe-Signature: t=..,v1=..`
 * (HMAC-SHA256 of `${t}.${body}` with the endpoint secret, `t` taken when each attempt is sent), retried
 * with backoff until the endpoint answers 2xx, and, like the real thing, sometimes delivered twice and
 * sometimes out of order (each delivery waits a random delay).
 *
 * Status changes are found by comparing every PaymentIntent with the status last announced, on a short
 * timer, so no API or control handler needs to know about webhooks. Disputes the same way: a new one
 * is `charge.dispute.created`, a move to a final status `charge.dispute.closed`, any other move
 * `charge.dispute.updated`, each carrying the Dispute object.
 */
import { createHmac, randomBytes } from 'node:crypto';
import { WebhookDispatcher, type WebhookDeliveryOptions, type WebhookEndpoint } from '../kit/webhooks.js';
import type { DisputeStatus, SbIntent, StripeState } from './state.js';

export interface StripeWebhookOptions extends WebhookDeliveryOptions {
  /** How often intents are compared. Default 25 ms. */
  scanMs?: number;
}

const TYPE_OF: Partial<Record<SbIntent['status'], string>> = {
  requires_action: 'payment_intent.requires_action',
  processing: 'payment_intent.processing',
  requires_capture: 'payment_intent.amount_capturable_updated',
  succeeded: 'payment_intent.succeeded',
  canceled: 'payment_intent.canceled',
  requires_payment_method: 'payment_intent.payment_failed',
};

/** Dispute statuses after which Stripe sends `charge.dispute.closed`. */
const CLOSED_DISPUTE: ReadonlySet<DisputeStatus> = new Set(['won', 'lost', 'warning_closed', 'prevented']);

export class StripeWebhookSender {
  readonly #announced = new Map<string, string>();
  readonly #dispatcher: WebhookDispatcher;
  #timer: NodeJS.Timeout | null = null;

  constructor(
    private readonly state: StripeState,
    private readonly apiVersion: string,
    private readonly options: StripeWebhookOptions = {},
  ) {
    this.#dispatcher = new WebhookDispatcher(options);
  }

  /** Deliveries answered 2xx, for tests and the ledger. */
  get delivered(): number {
    return this.#dispatcher.delivered;
  }

  /** Adds an endpoint; intents as they are now are not announced, only changes from here on. */
  register(endpoint: WebhookEndpoint & { secret: string }): void {
    if (this.#dispatcher.endpoints.length === 0) this.markAnnounced();
    this.#dispatcher.register(endpoint);
    if (!this.#timer) {
      this.#timer = setInterval(() => this.scan(), this.options.scanMs ?? 25);
      this.#timer.unref();
    }
  }

  /** Compares every intent with what was announced and sends an event per change. */
  scan(): void {
    for (const intent of this.state.intents.values()) {
      const before = this.#announced.get(intent.id);
      if (before === intent.status) continue;
      this.#announced.set(intent.id, intent.status);
      const type = before === undefined ? 'payment_intent.created' : TYPE_OF[intent.status];
      if (type) this.emit(type, intent);
    }
    for (const dispute of this.state.disputes.values()) {
      const before = this.#announced.get(dispute.id);
      if (before === dispute.status) continue;
      this.#announced.set(dispute.id, dispute.status);
      const type =
        before === undefined
          ? 'charge.dispute.created'
          : CLOSED_DISPUTE.has(dispute.status)
            ? 'charge.dispute.closed'
            : 'charge.dispute.updated';
      this.emit(type, dispute);
    }
  }

  /** Takes every intent and dispute as it is now as announced. */
  private markAnnounced(): void {
    for (const intent of this.state.intents.values()) this.#announced.set(intent.id, intent.status);
    for (const dispute of this.state.disputes.values()) this.#announced.set(dispute.id, dispute.status);
  }

  /** Resolves when every delivery started so far has finished (delivered or given up). */
  idle(): Promise<void> {
    return this.#dispatcher.idle();
  }

  reset(): void {
    this.#announced.clear();
    this.markAnnounced();
  }

  close(): void {
    if (this.#timer) clearInterval(this.#timer);
    this.#timer = null;
    this.#dispatcher.close();
  }

  private emit(type: string, object: { id: string }): void {
    const event = {
      id: `evt_${randomBytes(12).toString('hex')}`,
      object: 'event',
      api_version: this.apiVersion,
      created: Math.floor(this.state.now() / 1000),
      type,
      livemode: false,
      pending_webhooks: this.#dispatcher.endpoints.length,
      request: { id: null, idempotency_key: null },
      data: { object: structuredClone(object) },
    };
    this.#dispatcher.send(JSON.stringify(event), (endpoint, body, nowMs) => {
      const t = Math.floor(nowMs / 1000);
      const v1 = createHmac('sha256', endpoint.secret ?? '')
        .update(`${t}.${body}`)
        .digest('hex');
      return {
        'stripe-signature': `t=${t},v1=${v1}`,
        'user-agent': 'Stripe/1.0 (+https://stripe.com/docs/webhooks)',
      };
    });
  }
}
