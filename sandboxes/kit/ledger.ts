/**
 * What a sandbox really saw: how many requests reached each route, and which money movements it made.
 * Tests assert batching ("one /balances call for 50 accounts") and idempotency ("one payment
 * created") from here rather than from the client's own account of what it did.
 */

/** A money movement a sandbox performed (payment created, refund issued...). */
export interface MoneyMovement {
  /** The sandbox's id of the movement. */
  id: string;
  /** Free-form kind, e.g. "domestic-payment", "payment-intent", "refund". */
  kind: string;
  /** Exact decimal string as the partner writes it. */
  amount: string;
  currency: string;
  /** The idempotency key the movement was created under, when there was one. */
  idempotencyKey?: string;
  reference?: string;
  at: string;
}

/** A copy of the ledger, safe to keep. */
export interface LedgerSnapshot {
  /** Count per "METHOD /route-template", e.g. "GET /accounts/{AccountId}". */
  requests: Record<string, number>;
  movements: MoneyMovement[];
  /** Trace ids of the W3C `traceparent` headers the sandbox received, oldest first (at most 1000). */
  traceIds: string[];
  /** Per route key, requests that came without the partner's correlation header (none expected). */
  uncorrelated: Record<string, number>;
  /**
   * Arrivals and answers in the order they happened, oldest first (at most 1000): "GET /balances"
   * when a request arrived, "GET /balances answered" when its answer went out. Tests read from it
   * whether calls overlapped (no waterfall) without timing anything.
   */
  events: string[];
}

/** Request counts and money movements of one sandbox. */
export class Ledger {
  private requests = new Map<string, number>();
  private movements: MoneyMovement[] = [];
  private traceIds = new Set<string>();
  private uncorrelated = new Map<string, number>();
  private events: string[] = [];

  /** Counts one request to a route key ("METHOD /template"), noting the trace it belongs to. */
  count(key: string, traceparent?: string, correlated = true): void {
    this.requests.set(key, (this.requests.get(key) ?? 0) + 1);
    this.note(key);
    if (!correlated) this.uncorrelated.set(key, (this.uncorrelated.get(key) ?? 0) + 1);
    const traceId = traceparent
      ? /^[0-9a-f]{2}-([0-9a-f]{32})-[0-9a-f]{16}-[0-9a-f]{2}$/.exec(traceparent)?.[1]
      : null;
    if (traceId && this.traceIds.size < 1000) this.traceIds.add(traceId);
  }

  /** Notes that the answer to a request of route key `key` went out. */
  answered(key: string): void {
    this.note(`${key} answered`);
  }

  private note(event: string): void {
    if (this.events.length < 1000) this.events.push(event);
  }

  /** Records a money movement. */
  recordMovement(movement: MoneyMovement): void {
    this.movements.push({ ...movement });
  }

  snapshot(): LedgerSnapshot {
    return {
      requests: Object.fromEntries([...this.requests.entries()].sort(([a], [b]) => a.localeCompare(b))),
      movements: this.movements.map((movement) => ({ ...movement })),
      traceIds: [...this.traceIds],
      uncorrelated: Object.fromEntries(this.uncorrelated),
      events: [...this.events],
    };
  }

  reset(): void {
    this.requests.clear();
    this.movements = [];
    this.traceIds.clear();
    this.uncorrelated.clear();
    this.events = [];
  }
}
