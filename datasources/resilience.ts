/**
 * One resilience policy per partner (DESIGN §7): every partner call runs through its partner's
 * PartnerPolicy, whether the client is hand-written (PartnerHttp) or an official SDK (which calls
 * `execute` around each attempt, with its keep-alive agent and its own retries switched off).
 *
 * Layers, outermost first:
 * - deadline (cockatiel timeout, aggressive): bounds the whole call — queueing, attempts and backoff —
 *   with the budget of its class (reads; writes = payments), and aborts the attempt in flight;
 * - retry: reads and keyed writes only (a plain write is never repeated), retryable PartnerErrors only,
 *   jittered exponential backoff, or the partner's Retry-After when it sent one — unless waiting that
 *   long would cross the deadline, in which case the partner's answer is final at once;
 * - circuit breaker: opens when the share of failed attempts over a sliding window passes a ratio
 *   (after a minimum number of attempts), then lets one probe through after a pause (half-open);
 *   only timeouts and unavailability count, never a 4xx the partner answered deliberately;
 * - bulkhead: as many concurrent attempts as the partner's pool has connections plus a bounded queue,
 *   so a hanging partner holds its own sockets and nobody else's; a full queue fails fast;
 * - the attempt itself, which gets the deadline's abort signal.
 *
 * An open breaker or a full bulkhead becomes PartnerError(PARTNER_UNAVAILABLE, retryable) without
 * touching the partner, and is not retried here: that would only add load to an already failing path.
 */
import {
  BrokenCircuitError,
  BulkheadRejectedError,
  bulkhead,
  circuitBreaker,
  CircuitState,
  ExponentialBackoff,
  handleWhen,
  IsolatedCircuitError,
  retry,
  SamplingBreaker,
  TaskCancelledError,
  timeout,
  TimeoutStrategy,
  type BulkheadPolicy,
  type CircuitBreakerPolicy,
  type RetryPolicy,
  type TimeoutPolicy,
} from 'cockatiel';
import { SpanKind, SpanStatusCode } from '@opentelemetry/api';
import type { Logger } from 'pino';
import { isDomainError, PartnerError, refusedBeforeAcceptance, type UnsentReason } from '../domain/errors.js';
import type { ProviderName } from '../domain/model.js';
import type { CallOptions, CallPolicy } from './http.js';
import { HealthWindow, MinuteSeries, type HealthSnapshot, type MinuteBucket } from './partner-health.js';
import { partnerTracer } from './tracing.js';
import {
  breakerStateOf,
  isPartnerFailure,
  PartnerBackoff,
  statusOf,
  statusOfError,
  type BreakerState,
  type PolicySettings,
} from './resilience-rules.js';

export { policySettings, type BreakerState, type PolicySettings } from './resilience-rules.js';
export type { MinuteBucket } from './partner-health.js';

/** How a policy reports what it does; server/metrics.ts turns this into Prometheus series. */
export interface PolicyObserver {
  /** One attempt at the partner: HTTP status (or "timeout"/"none"), duration, error code when it failed. */
  attempt(endpoint: string, status: string, seconds: number, code: string | null): void;
  retry(endpoint: string): void;
  /** A call refused without touching the partner. */
  rejected(reason: 'breaker_open' | 'bulkhead_full'): void;
  breakerChanged(state: BreakerState): void;
}

/** One partner's line of the `partnerHealth` query. */
export interface PartnerHealth extends HealthSnapshot {
  provider: ProviderName;
  breakerState: BreakerState;
}

export interface PolicyDeps {
  observer?: PolicyObserver;
  logger?: Logger;
  /** Epoch ms; tests pass a clock. */
  now?: () => number;
}

type CallState = {
  deadlineAt: number;
  lastError: unknown;
  inFlight: boolean;
  /** Attempts that reached the partner, and the last one's status (for the call's span). */
  attempts: number;
  status?: string;
  /** Whether a failed attempt may have reached the partner (it was not refused before acceptance). */
  doubtful: boolean;
};

const SILENT: PolicyObserver = {
  attempt: () => undefined,
  retry: () => undefined,
  rejected: () => undefined,
  breakerChanged: () => undefined,
};

export class PartnerPolicy implements CallPolicy {
  private readonly breaker: CircuitBreakerPolicy;
  private readonly bulkhead: BulkheadPolicy;
  private readonly retry: RetryPolicy;
  private readonly readDeadline: TimeoutPolicy;
  private readonly writeDeadline: TimeoutPolicy;
  private readonly window: HealthWindow;
  private readonly series: MinuteSeries;
  private readonly observer: PolicyObserver;
  private readonly now: () => number;
  /** Errors the retry layer must give up on: refusals, and a Retry-After beyond the deadline. */
  private readonly final = new WeakSet<object>();
  /** When the breaker last opened (Date.now(), the clock cockatiel reads), while it is open. */
  private openedAt: number | null = null;

  constructor(
    readonly partner: ProviderName,
    private readonly settings: PolicySettings,
    deps: PolicyDeps = {},
  ) {
    this.observer = deps.observer ?? SILENT;
    this.now = deps.now ?? Date.now;
    this.window = new HealthWindow(this.now);
    this.series = new MinuteSeries(this.now);
    this.breaker = circuitBreaker(handleWhen(isPartnerFailure), {
      halfOpenAfter: settings.breakerHalfOpenMs,
      breaker: new SamplingBreaker({
        threshold: settings.breakerFailureRatio,
        duration: settings.breakerWindowMs,
        // SamplingBreaker thinks in calls per second; the minimum is a count over the window.
        minimumRps: settings.breakerMinRequests / (settings.breakerWindowMs / 1000),
      }),
    });
    this.breaker.onStateChange((state) => {
      this.openedAt = state === CircuitState.Open ? Date.now() : null;
      const named = breakerStateOf(state);
      this.observer.breakerChanged(named);
      deps.logger?.warn({ partner: partner, breakerState: named }, 'Partner circuit breaker changed state.');
    });
    this.bulkhead = bulkhead(settings.bulkheadLimit, settings.bulkheadQueue);
    this.retry = retry(
      handleWhen((error) => error instanceof PartnerError && error.retryable && !this.final.has(error)),
      {
        maxAttempts: settings.retryAttempts,
        backoff: new PartnerBackoff(
          new ExponentialBackoff({ initialDelay: settings.retryBaseMs, maxDelay: settings.retryMaxDelayMs }),
        ),
      },
    );
    // A finished call has nothing left to abort: aborting on return would only build a DOMException
    // (with its stack) for every partner call.
    const deadline = { strategy: TimeoutStrategy.Aggressive, abortOnReturn: false };
    this.readDeadline = timeout(settings.readDeadlineMs, deadline);
    this.writeDeadline = timeout(settings.writeDeadlineMs, deadline);
  }

  /**
   * Runs `fn` (one attempt, which must honour the signal) under the policy. Without a kind the call
   * is treated as a plain write: one attempt, never repeated.
   */
  async execute<T>(fn: (signal: AbortSignal) => Promise<T>, options: CallOptions = {}): Promise<T> {
    const kind = options.kind ?? 'write';
    const endpoint = options.endpoint ?? 'unknown';
    // One span per call (not per attempt): its attributes say how many attempts it took and how it ended.
    return partnerTracer.startActiveSpan(
      `${this.partner} ${endpoint}`,
      {
        kind: SpanKind.CLIENT,
        attributes: { 'partner.name': this.partner, 'partner.endpoint': endpoint, 'partner.call_kind': kind },
      },
      async (span) => {
        const call: CallState = {
          deadlineAt: 0,
          lastError: undefined,
          inFlight: false,
          attempts: 0,
          doubtful: false,
        };
        try {
          return await this.run(fn, kind, endpoint, call);
        } catch (error) {
          span.setStatus({
            code: SpanStatusCode.ERROR,
            message: isDomainError(error) ? error.code : 'UNKNOWN',
          });
          throw error;
        } finally {
          span.setAttributes({
            'partner.attempts': call.attempts,
            'partner.retries': Math.max(0, call.attempts - 1),
            'partner.breaker_state': breakerStateOf(this.breaker.state),
            ...(call.status !== undefined ? { 'partner.status': call.status } : {}),
          });
          span.end();
        }
      },
    );
  }

  private async run<T>(
    fn: (signal: AbortSignal) => Promise<T>,
    kind: NonNullable<CallOptions['kind']>,
    endpoint: string,
    call: CallState,
  ): Promise<T> {
    // An open breaker refuses at once, before any timer, retry or cockatiel error is set up: with a
    // partner down this is every call, and the cached fallback should cost less than a live answer.
    if (this.refusesNow()) throw this.refuse('breaker_open', endpoint, null);
    const deadline = kind === 'read' ? this.readDeadline : this.writeDeadline;
    const budget = kind === 'read' ? this.settings.readDeadlineMs : this.settings.writeDeadlineMs;
    call.deadlineAt = this.now() + budget;
    const doubtful = (error: unknown) =>
      error instanceof PartnerError && call.doubtful && refusedBeforeAcceptance(error)
        ? error.afterDoubtfulAttempt()
        : error;
    try {
      return await deadline.execute(({ signal }) =>
        kind === 'write'
          ? this.once(fn, signal, endpoint, 0, call)
          : this.retry.execute(
              ({ signal: inner, attempt }) => this.once(fn, inner, endpoint, attempt, call),
              signal,
            ),
      );
    } catch (error) {
      if (!(error instanceof TaskCancelledError)) throw doubtful(error);
      // The deadline passed while waiting out a backoff: the partner's last answer says more.
      if (!call.inFlight && call.lastError !== undefined) throw doubtful(call.lastError);
      throw new PartnerError({ partner: this.partner, code: 'PARTNER_TIMEOUT', endpoint, retryable: true });
    }
  }

  /**
   * Whether the breaker would refuse a call now without trying it: held open, or open within its pause
   * (after the pause the call goes to cockatiel, which lets it through as the half-open probe).
   */
  private refusesNow(): boolean {
    const state = this.breaker.state;
    if (state === CircuitState.Isolated) return true;
    return (
      state === CircuitState.Open &&
      this.openedAt !== null &&
      Date.now() - this.openedAt < this.settings.breakerHalfOpenMs
    );
  }

  /** The refusal a call to `endpoint` would get now without being tried; null when it would be tried. */
  refusal(endpoint: string): Error | null {
    return this.refusesNow() ? this.refuse('breaker_open', endpoint, null) : null;
  }

  /** Breaker state and the last minute of attempts, for `partnerHealth`. */
  health(): PartnerHealth {
    return {
      provider: this.partner,
      breakerState: breakerStateOf(this.breaker.state),
      ...this.window.snapshot(),
    };
  }

  /** The last hour of attempts per minute (the operations console's chart). */
  history(): MinuteBucket[] {
    return this.series.buckets();
  }

  private async once<T>(
    fn: (signal: AbortSignal) => Promise<T>,
    signal: AbortSignal,
    endpoint: string,
    attempt: number,
    call: CallState,
  ): Promise<T> {
    if (attempt > 0) this.observer.retry(endpoint);
    const before = call.attempts;
    try {
      return await this.breaker.execute(
        ({ signal: open }) =>
          this.bulkhead.execute(({ signal: slot }) => this.attempt(fn, slot, endpoint, call), open),
        signal,
      );
    } catch (error) {
      call.lastError = this.classify(error, endpoint, call, call.attempts > before);
      // Refused before acceptance: a retry under the same key is still the first that can reach it.
      if (!refusedBeforeAcceptance(call.lastError)) call.doubtful = true;
      throw call.lastError;
    }
  }

  private async attempt<T>(
    fn: (signal: AbortSignal) => Promise<T>,
    signal: AbortSignal,
    endpoint: string,
    call: CallState,
  ): Promise<T> {
    const started = performance.now();
    call.inFlight = true;
    call.attempts += 1;
    try {
      const result = await fn(signal);
      call.status = statusOf(result);
      this.observe(endpoint, call.status, started, null);
      return result;
    } catch (error) {
      call.status = statusOfError(error);
      this.observe(endpoint, call.status, started, error);
      throw error;
    } finally {
      call.inFlight = false;
    }
  }

  private observe(endpoint: string, status: string, started: number, error: unknown): void {
    const ms = performance.now() - started;
    this.window.record(ms, error instanceof PartnerError);
    this.series.record(ms, error instanceof PartnerError);
    const code = error === null ? null : isDomainError(error) ? error.code : 'UNKNOWN';
    this.observer.attempt(endpoint, status, ms / 1000, code);
  }

  /** Cockatiel's refusals become PartnerErrors; a Retry-After beyond the deadline ends the retries. */
  private classify(error: unknown, endpoint: string, call: CallState, sent: boolean): unknown {
    if (error instanceof BrokenCircuitError || error instanceof IsolatedCircuitError) {
      return this.refuse('breaker_open', endpoint, error);
    }
    if (error instanceof BulkheadRejectedError) return this.refuse('bulkhead_full', endpoint, error);
    // Dequeued from the bulkhead after the deadline passed: the partner was never called. Cancelled
    // once the attempt had started (a client rethrowing the abort), the request may have reached it.
    if (error instanceof TaskCancelledError)
      return this.finalError('PARTNER_TIMEOUT', endpoint, error, sent ? null : 'queued past the deadline');
    if (
      error instanceof PartnerError &&
      error.retryAfterSeconds !== undefined &&
      this.now() + error.retryAfterSeconds * 1000 > call.deadlineAt
    ) {
      this.final.add(error);
    }
    return error;
  }

  /**
   * A call refused without touching the partner. Its stack would only show this policy (the code,
   * partner and endpoint say everything), so none is captured: with a partner down, every call is one.
   */
  private refuse(reason: 'breaker_open' | 'bulkhead_full', endpoint: string, cause: unknown) {
    this.observer.rejected(reason);
    const limit = Error.stackTraceLimit;
    Error.stackTraceLimit = 0;
    try {
      return this.finalError(
        'PARTNER_UNAVAILABLE',
        endpoint,
        cause ?? undefined,
        reason === 'breaker_open' ? 'breaker open' : 'bulkhead full',
      );
    } finally {
      Error.stackTraceLimit = limit;
    }
  }

  /** A failure decided here, not by the partner; the cockatiel error stays as the cause for the logs. */
  private finalError(
    code: 'PARTNER_UNAVAILABLE' | 'PARTNER_TIMEOUT',
    endpoint: string,
    cause: unknown,
    unsent: UnsentReason | null,
  ) {
    const error = new PartnerError({ partner: this.partner, code, endpoint, retryable: true, unsent, cause });
    this.final.add(error);
    return error;
  }
}
