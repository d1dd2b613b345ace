/**
 * The small rules the partner policy (resilience.ts) is built from: how long to wait before a retry,
 * what counts as the partner failing, and how an attempt is labelled for metrics.
 */
import { CircuitState, type IBackoff, type IBackoffFactory, type IRetryBackoffContext } from 'cockatiel';
import { PartnerError } from '../domain/errors.js';

export type BreakerState = 'CLOSED' | 'OPEN' | 'HALF_OPEN';

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
