/**
 * The small rules the partner policy (resilience.ts) is built from: its settings, how long to wait
 * before a retry, what counts as the partner failing, and how an attempt is labelled for metrics.
 */
import { CircuitState, type IBackoff, type IBackoffFactory, type IRetryBackoffContext } from 'cockatiel';
import { PartnerError } from '../domain/errors.js';
import type { PartnerCallSettings } from './module.js';

export type BreakerState = 'CLOSED' | 'OPEN' | 'HALF_OPEN';

/** The knobs of one partner's policy (server/config.ts documents each variable). */
export interface PolicySettings {
  /** Whole-call budget of a read, in ms: queueing, every attempt and every backoff. */
  readDeadlineMs: number;
  /** Whole-call budget of a write (payments), in ms. */
  writeDeadlineMs: number;
  /** Retries after the first attempt, for reads and keyed writes. */
  retryAttempts: number;
  /** First backoff in ms; it grows exponentially with decorrelated jitter. */
  retryBaseMs: number;
  retryMaxDelayMs: number;
  /** Share of failed attempts (0..1, exclusive) over the window that opens the breaker. */
  breakerFailureRatio: number;
  breakerWindowMs: number;
  /** Attempts the window must hold before the ratio can open the breaker. */
  breakerMinRequests: number;
  /** How long the breaker stays open before one probe is let through. */
  breakerHalfOpenMs: number;
  /** Concurrent attempts: the partner pool's connection cap. */
  bulkheadLimit: number;
  /** Calls that may wait for a slot; one more fails fast. */
  bulkheadQueue: number;
}

/** A partner's policy settings from its call settings (defaults with the partner's overrides). */
export function policySettings(calls: PartnerCallSettings): PolicySettings {
  return {
    readDeadlineMs: calls.deadlineMs.read,
    writeDeadlineMs: calls.deadlineMs.write,
    retryAttempts: calls.retryAttempts,
    retryBaseMs: calls.retryBaseMs,
    retryMaxDelayMs: calls.retryMaxDelayMs,
    breakerFailureRatio: calls.breakerFailureRatio,
    breakerWindowMs: calls.breakerWindowMs,
    breakerMinRequests: calls.breakerMinRequests,
    breakerHalfOpenMs: calls.breakerHalfOpenMs,
    bulkheadLimit: calls.maxConnections,
    bulkheadQueue: calls.bulkheadQueue,
  };
}

/** Exponential backoff with jitter, unless the partner said how long to wait (Retry-After). */
export class PartnerBackoff implements IBackoffFactory<IRetryBackoffContext<unknown>> {
  constructor(private readonly exponential: IBackoffFactory<unknown>) {}

  next(context: IRetryBackoffContext<unknown>): IBackoff<IRetryBackoffContext<unknown>> {
    const step = this.exponential.next(context);
    const error = 'error' in context.result ? context.result.error : undefined;
    const asked = error instanceof PartnerError ? error.retryAfterSeconds : undefined;
    return {
      duration: asked === undefined ? step.duration : asked * 1000,
      next: (following) => new PartnerBackoff(step).next(following),
    };
  }
}

/** What the breaker counts as the partner failing: it did not answer, or answered "unavailable". */
export function isPartnerFailure(error: Error): boolean {
  return (
    error instanceof PartnerError &&
    (error.code === 'PARTNER_TIMEOUT' || error.code === 'PARTNER_UNAVAILABLE')
  );
}

export function breakerStateOf(state: CircuitState): BreakerState {
  switch (state) {
    case CircuitState.Closed:
      return 'CLOSED';
    case CircuitState.HalfOpen:
      return 'HALF_OPEN';
    case CircuitState.Open:
    case CircuitState.Isolated:
      return 'OPEN';
  }
}

/** The HTTP status of a successful attempt: PartnerHttp's `status`, Stripe's `lastResponse`. */
export function statusOf(result: unknown): string {
  if (typeof result !== 'object' || result === null) return 'ok';
  const { status, lastResponse } = result as { status?: unknown; lastResponse?: { statusCode?: unknown } };
  if (typeof status === 'number') return String(status);
  if (typeof lastResponse?.statusCode === 'number') return String(lastResponse.statusCode);
  return 'ok';
}

export function statusOfError(error: unknown): string {
  const status = (error as { status?: unknown } | null)?.status;
  if (typeof status === 'number') return String(status);
  if (error instanceof PartnerError && error.code === 'PARTNER_TIMEOUT') return 'timeout';
  return 'none';
}
