/**
 * How every sandbox delivers webhooks, the way partners do: each event goes to every registered
 * endpoint after a random delay (so events overtake each other), a share of them twice, and is retried
 * with backoff until the endpoint answers 2xx or the attempts run out. The partner supplies the body and
 * how one attempt is signed; signing runs per attempt, so a retry carries a fresh timestamp.
 */

/** Where a partner sends events; `secret` is set for partners that sign with a shared secret. */
export interface WebhookEndpoint {
  url: string;
  secret?: string;
}

export interface WebhookDeliveryOptions {
  /** Share of events delivered twice. Default 0.2. */
  duplicateRate?: number;
  /** Longest random delay before a delivery. Default 150 ms. */
  maxJitterMs?: number;
  /** Delivery attempts per event and endpoint. Default 6. */
  maxAttempts?: number;
  random?: () => number;
}

/** The headers of one attempt (signature included), for the body as sent. */
export type SignAttempt = (
  endpoint: WebhookEndpoint,
  body: string,
  nowMs: number,
) => Record<string, string> | Promise<Record<string, string>>;

export class WebhookDispatcher {
  readonly #endpoints: WebhookEndpoint[] = [];
  readonly #inFlight = new Set<Promise<void>>();
  /** Deliveries answered 2xx, for tests and the control routes. */
  delivered = 0;

  constructor(private readonly options: WebhookDeliveryOptions = {}) {}

  get endpoints(): readonly WebhookEndpoint[] {
    return this.#endpoints;
  }

  /** Adds an endpoint; registering the same URL again replaces its secret. */
  register(endpoint: WebhookEndpoint): void {
    const index = this.#endpoints.findIndex((known) => known.url === endpoint.url);
    if (index >= 0) this.#endpoints.splice(index, 1);
    this.#endpoints.push(endpoint);
  }

  /** Sends one event body to the given endpoints (default: every registered one). */
  send(body: string, sign: SignAttempt, targets: readonly WebhookEndpoint[] = this.#endpoints): void {
    const random = this.options.random ?? Math.random;
    for (const endpoint of targets) {
      const copies = random() < (this.options.duplicateRate ?? 0.2) ? 2 : 1;
      for (let copy = 0; copy < copies; copy += 1) this.#track(this.#deliver(endpoint, body, sign, random));
    }
  }

  /** Resolves when every delivery started so far has finished (delivered or given up). */
  async idle(): Promise<void> {
    while (this.#inFlight.size > 0) await Promise.allSettled([...this.#inFlight]);
  }

  close(): void {
    this.#endpoints.length = 0;
  }

  #track(delivery: Promise<void>): void {
    this.#inFlight.add(delivery);
    void delivery.finally(() => this.#inFlight.delete(delivery));
  }

  async #deliver(
    endpoint: WebhookEndpoint,
    body: string,
    sign: SignAttempt,
    random: () => number,
  ): Promise<void> {
    await sleep(random() * (this.options.maxJitterMs ?? 150));
    const attempts = this.options.maxAttempts ?? 6;
    for (let attempt = 1; attempt <= attempts; attempt += 1) {
      try {
        const headers = await sign(endpoint, body, Date.now());
        const response = await fetch(endpoint.url, {
          method: 'POST',
          headers: { 'content-type': 'application/json; charset=utf-8', ...headers },
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
