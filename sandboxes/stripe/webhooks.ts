/**
 * Stripe's webhooks, the way Stripe sends them: when a PaymentIntent changes status the sandbox sends a
 * `payment_intent.*` Event to every registered endpoint, signed with `Stripe-Signature: t=..,v1=..`
 * (HMAC-SHA256 of `${t}.${body}` with the endpoint secret, `t` taken when each attempt is sent), retried
 * with backoff until the endpoint answers 2xx, and, like the real thing, sometimes delivered twice and
 * sometimes out of order (each delivery waits a random delay).
 *
 * Status changes are found by comparing every PaymentIntent with the status last announced, on a short
 * timer, so no API or control handler needs to know about webhooks.
 */
import { createHmac, randomBytes } from 'node:crypto';
import type { SbIntent, StripeState } from './state.js';

/** An endpoint registered with POST /__sandbox/stripe/webhook_endpoints. */
export interface SandboxWebhookEndpoint {
  url: string;
  secret: string;
}

export interface StripeWebhookOptions {
  /** Share of events delivered twice. Default 0.2. */
  duplicateRate?: number;
  /** Longest random delay before a delivery, so events overtake each other. Default 150 ms. */
  maxJitterMs?: number;
  /** Delivery attempts per event and endpoint. Default 6. */
  maxAttempts?: number;
  /** How often intents are compared. Default 25 ms. */
  scanMs?: number;
  random?: () => number;
}

const TYPE_OF: Partial<Record<SbIntent['status'], string>> = {
  requires_action: 'payment_intent.requires_action',
  processing: 'payment_intent.processing',
  requires_capture: 'payment_intent.amount_capturable_updated',
  succeeded: 'payment_intent.succeeded',
  canceled: 'payment_intent.canceled',
  requires_payment_method: 'payment_intent.payment_failed',
};

export class StripeWebhookSender {
  readonly #endpoints: SandboxWebhookEndpoint[] = [];
  readonly #announced = new Map<string, string>();
  readonly #inFlight = new Set<Promise<void>>();
  #timer: NodeJS.Timeout | null = null;
  /** Deliveries answered 2xx, for tests and the ledger. */
  delivered = 0;

  constructor(
    private readonly state: StripeState,
    private readonly apiVersion: string,
    private readonly options: StripeWebhookOptions = {},
  ) {}

  /** Adds an endpoint; intents as they are now are not announced, only changes from here on. */
  register(endpoint: SandboxWebhookEndpoint): void {
    if (this.#endpoints.length === 0) {
      for (const intent of this.state.intents.values()) this.#announced.set(intent.id, intent.status);
    }
    this.#endpoints.push(endpoint);
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
  }

  /** Resolves when every delivery started so far has finished (delivered or given up). */
  async idle(): Promise<void> {
    while (this.#inFlight.size > 0) await Promise.allSettled([...this.#inFlight]);
  }

  reset(): void {
    this.#announced.clear();
    for (const intent of this.state.intents.values()) this.#announced.set(intent.id, intent.status);
  }

  close(): void {
    if (this.#timer) clearInterval(this.#timer);
    this.#timer = null;
    this.#endpoints.length = 0;
  }

  private emit(type: string, intent: SbIntent): void {
    const event = {
      id: `evt_${randomBytes(12).toString('hex')}`,
      object: 'event',
      api_version: this.apiVersion,
      created: Math.floor(this.state.now() / 1000),
      type,
      livemode: false,
      pending_webhooks: this.#endpoints.length,
      request: { id: null, idempotency_key: null },
      data: { object: structuredClone(intent) },
    };
    const body = JSON.stringify(event);
    const random = this.options.random ?? Math.random;
    for (const endpoint of this.#endpoints) {
      const copies = random() < (this.options.duplicateRate ?? 0.2) ? 2 : 1;
      for (let copy = 0; copy < copies; copy += 1) this.track(this.deliver(endpoint, body, random));
    }
  }

  private track(delivery: Promise<void>): void {
    this.#inFlight.add(delivery);
    void delivery.finally(() => this.#inFlight.delete(delivery));
  }

  private async deliver(endpoint: SandboxWebhookEndpoint, body: string, random: () => number): Promise<void> {
    await sleep(random() * (this.options.maxJitterMs ?? 150));
    const attempts = this.options.maxAttempts ?? 6;
    for (let attempt = 1; attempt <= attempts; attempt += 1) {
      const t = Math.floor(Date.now() / 1000);
      const v1 = createHmac('sha256', endpoint.secret).update(`${t}.${body}`).digest('hex');
      try {
        const response = await fetch(endpoint.url, {
          method: 'POST',
          headers: {
            'content-type': 'application/json; charset=utf-8',
            'stripe-signature': `t=${t},v1=${v1}`,
            'user-agent': 'Stripe/1.0 (+https://stripe.com/docs/webhooks)',
          },
          body,
          signal: AbortSignal.timeout(5_000),
        });
        await response.arrayBuffer();
        if (response.ok) {
          this.delivered += 1;
          return;
        }
      } catch {
        // Connection refused or timed out: retried like any non-2xx answer.
      }
      await sleep(Math.min(2_000, 50 * 2 ** attempt));
    }
  }
}

const sleep = (ms: number) => new Promise<void>((resolve) => setTimeout(resolve, ms).unref());
