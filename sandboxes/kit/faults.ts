/**
 * Run-time fault injection. Rules are set as a list (POST /__sandbox/faults or setFaults) and apply
 * to every partner route they match until cleared or, with `times`, until used up.
 */
import { z } from 'zod';

/**
 * The faults a sandbox can inject. `unsigned` and `tamper` concern partners that sign their answers
 * (SandboxOptions.sign): the answer goes out without its signature, or its body is changed after it
 * was signed (the partner's `tamper`, else one byte of white space appended).
 */
export const FAULT_KINDS = [
  'latency',
  'status',
  'rate_limit',
  'hang',
  'reset',
  'truncate',
  'malformed',
  'contract',
  'unsigned',
  'tamper',
] as const;
export type FaultKind = (typeof FAULT_KINDS)[number];

/**
 * One rule. `match` is a route key ("GET /accounts/{AccountId}"), a route template
 * ("/accounts/{AccountId}"), or a path prefix with or without a method ("/open-banking/", "GET /acc");
 * absent, the rule matches every partner route.
 */
export const faultRuleSchema = z
  .object({
    match: z.string().min(1).optional(),
    kind: z.enum(FAULT_KINDS),
    /** latency: delay before answering. */
    ms: z.number().int().min(0).max(600_000).optional(),
    /**
     * latency: answer as soon as a request matching each of these (same forms as `match`) has arrived
     * since the rule was set, `ms` being the longest wait. Shows calls overlapped without timing them.
     */
    until: z.array(z.string().min(1)).min(1).optional(),
    /** status: the status to answer (default 500). */
    status: z.number().int().min(400).max(599).optional(),
    /** rate_limit: the Retry-After seconds (default 1). */
    retryAfter: z.number().int().min(0).max(86_400).optional(),
    /** How many requests the rule applies to; absent = until cleared. */
    times: z.number().int().min(1).optional(),
  })
  .strict();

export type FaultRule = z.infer<typeof faultRuleSchema>;

/** Accepts a list of rules or `{ rules: [...] }`. */
export const faultRulesSchema = z.union([
  z.array(faultRuleSchema),
  z.object({ rules: z.array(faultRuleSchema) }).transform((value) => value.rules),
]);

/**
 * What applies to one request: a delay, then at most one fault that changes the answer. The delay is
 * `latencyMs` unless `released` (a latency rule's `until`) settles first.
 */
export interface FaultDecision {
  latencyMs: number;
  released: Promise<void> | null;
  fault: FaultRule | null;
}

interface ActiveRule {
  rule: FaultRule;
  remaining: number;
  /** The `until` entries a request has matched since the rule was set. */
  arrived: Set<string>;
}

interface Waiter {
  pending: Set<string>;
  release: () => void;
}

/** The active fault rules of one sandbox. */
export class Faults {
  private rules: ActiveRule[] = [];
  private waiters: Waiter[] = [];

  /** Replaces the rules; a request held by an old rule's `until` is released at once. */
  set(rules: readonly FaultRule[]): void {
    this.releaseAll();
    this.rules = rules.map((rule) => ({
      rule: { ...rule },
      remaining: rule.times ?? Number.POSITIVE_INFINITY,
      arrived: new Set(),
    }));
  }

  /** Clears the rules, releasing what they hold. */
  clear(): void {
    this.releaseAll();
    this.rules = [];
  }

  /** Notes a partner request's arrival for the `until` of the rules and of the requests held by them. */
  arrive(method: string, route: string, path: string): void {
    for (const active of this.rules) {
      for (const entry of active.rule.until ?? []) {
        if (matches(entry, method, route, path)) active.arrived.add(entry);
      }
    }
    this.waiters = this.waiters.filter((waiter) => {
      for (const entry of waiter.pending) {
        if (matches(entry, method, route, path)) waiter.pending.delete(entry);
      }
      if (waiter.pending.size > 0) return true;
      waiter.release();
      return false;
    });
  }

  list(): FaultRule[] {
    return this.rules.map(({ rule, remaining }) =>
      Number.isFinite(remaining) ? { ...rule, times: remaining } : { ...rule },
    );
  }

  /**
   * Decides the faults of one request and consumes one use of each rule applied. Every matching
   * latency rule adds its delay; the first other matching rule is the fault.
   */
  take(method: string, route: string, path: string): FaultDecision {
    let latencyMs = 0;
    let fault: FaultRule | null = null;
    let holding = false;
    const pending = new Set<string>();
    for (const active of this.rules) {
      if (active.remaining <= 0 || !matches(active.rule.match, method, route, path)) continue;
      if (active.rule.kind === 'latency') {
        latencyMs += active.rule.ms ?? 0;
        for (const entry of active.rule.until ?? []) {
          holding = true;
          if (!active.arrived.has(entry)) pending.add(entry);
        }
      } else if (fault === null) {
        fault = active.rule;
      } else {
        continue;
      }
      active.remaining -= 1;
    }
    this.rules = this.rules.filter((active) => active.remaining > 0);
    return { latencyMs, released: holding ? this.hold(pending) : null, fault };
  }

  /** Settles once a request has matched each of `pending` (at once when nothing is). */
  private hold(pending: Set<string>): Promise<void> {
    if (pending.size === 0) return Promise.resolve();
    return new Promise((release) => this.waiters.push({ pending, release }));
  }

  private releaseAll(): void {
    for (const waiter of this.waiters) waiter.release();
    this.waiters = [];
  }
}

function matches(match: string | undefined, method: string, route: string, path: string): boolean {
  if (match === undefined) return true;
  if (match === `${method} ${route}` || match === route) return true;
  const withMethod = /^[A-Z]+ /.exec(match);
  if (withMethod) return `${method} ${path}`.startsWith(match);
  return path.startsWith(match);
}
