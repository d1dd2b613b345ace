/**
 * Adyen answers -> domain outcomes. The transport (transport.ts) raises AdyenHttpError for a non-2xx
 * answer and AdyenTransportError when no answer could be read; this file decides what each means:
 *   Refused resultCode                 a business outcome: the FAILED payment with a DeclineCode
 *   422 704 + transient-error: true    IDEMPOTENCY_KEY_IN_USE (the same key is still in progress)
 *   422 704                            IDEMPOTENCY_KEY_REUSED: one key, two different requests
 *   422 validation (amount, currency,  InputError: the request cannot succeed as asked
 *       state of the payment)
 *   429                                PARTNER_RATE_LIMITED, honouring Retry-After
 *   5xx, connection refused/reset      PARTNER_UNAVAILABLE, retryable
 *   timeout                            PARTNER_TIMEOUT, retryable (keyed writes replay, see client.ts)
 *   401/403                            PARTNER_UNAVAILABLE, not retryable (our API key is wrong)
 *   404                                NotFoundError (the caller decides whether that means "absent")
 *   any other 4xx, bad JSON, too big   PARTNER_CONTRACT_VIOLATION: the two sides disagree
 * Adyen's messages and codes go to PartnerError.partnerCode and the logs, never to clients.
 */
import type { Logger } from 'pino';
import type { ZodType } from 'zod';
import {
  IdempotencyError,
  InputError,
  NotFoundError,
  PartnerError,
  type PartnerErrorCode,
  type UnsentReason,
} from '../../domain/errors.js';
import { contractViolation, zodIssues } from '../contract.js';
import { retryAfterSeconds, UNSENT_CODE } from '../http.js';
import { serviceErrorSchema } from './types.js';

const PARTNER = 'adyen';

/** Why a card payment was declined, in Tributary's words (the SDL's PaymentFailureCode). */
export type DeclineCode =
  'DECLINED' | 'INSUFFICIENT_FUNDS' | 'EXPIRED_CARD' | 'INCORRECT_CARD_DETAILS' | 'AUTHENTICATION_FAILED';

/**
 * Adyen refusal reasons with a more specific meaning than DECLINED, by refusalReasonCode and by the
 * reason text notifications carry ("Refusal reasons" in Adyen's docs); every other one is DECLINED.
 */
const REFUSAL_CODES: Readonly<Record<string, DeclineCode>> = {
  '6': 'EXPIRED_CARD',
  '8': 'INCORRECT_CARD_DETAILS',
  '11': 'AUTHENTICATION_FAILED',
  '12': 'INSUFFICIENT_FUNDS',
  '24': 'INCORRECT_CARD_DETAILS',
  '28': 'INSUFFICIENT_FUNDS',
  '38': 'AUTHENTICATION_FAILED',
  '39': 'AUTHENTICATION_FAILED',
  '43': 'AUTHENTICATION_FAILED',
};
const REFUSAL_TEXTS: Readonly<Record<string, DeclineCode>> = {
  'expired card': 'EXPIRED_CARD',
  'invalid card number': 'INCORRECT_CARD_DETAILS',
  'cvc declined': 'INCORRECT_CARD_DETAILS',
  '3d not authenticated': 'AUTHENTICATION_FAILED',
  'authentication required': 'AUTHENTICATION_FAILED',
  'not enough balance': 'INSUFFICIENT_FUNDS',
  'withdrawal amount exceeded': 'INSUFFICIENT_FUNDS',
};

/** The decline behind a refusal: its code first, then its text, else DECLINED. */
export function declineOf(code: string | null, reason: string | null): DeclineCode {
  const byCode = code ? REFUSAL_CODES[code] : undefined;
  const text = (reason ?? '').trim().toLowerCase();
  return byCode ?? REFUSAL_TEXTS[text] ?? 'DECLINED';
}

/** A non-2xx answer, as the transport read it. */
export class AdyenHttpError extends Error {
  override name = 'AdyenHttpError';
  constructor(
    readonly status: number,
    readonly body: string,
    readonly headers: Record<string, string | string[] | undefined>,
  ) {
    super(`Adyen answered HTTP ${status}`);
  }
}

/** No answer could be read: refused, reset, timed out, cut off, too large, or not JSON. */
export class AdyenTransportError extends Error {
  override name = 'AdyenTransportError';
  constructor(
    readonly reason: 'timeout' | 'connection' | 'body-cut' | 'too-large' | 'not-json',
    message: string,
    options?: { cause?: unknown },
  ) {
    super(message, options);
  }
}

/** What a failed call is about, for the mapping. */
export interface ErrorContext {
  endpoint: string;
  /** "Payment", "Refund": what a 404 is reported as. */
  resource: string;
}

/** Validation codes whose meaning is a request that cannot succeed as asked (Adyen "Error codes"). */
const INPUT_ERRORS: Readonly<Record<string, () => InputError>> = {
  '100': () => new InputError('Adyen needs an amount.', 'amount'),
  '137': () => new InputError('Adyen refused the amount.', 'amount'),
  '138': () => new InputError('Adyen does not accept the currency.', 'currency'),
  '101': () => new InputError('The card number is not valid.', 'paymentMethodId'),
  '174': () => new InputError('The payment method cannot be read.', 'paymentMethodId'),
  '167': () => new InputError('The payment cannot do that in its current state.'),
  '168': () => new InputError('The payment cannot do that in its current state.'),
  '904': () => new InputError('The refund is larger than what is left to refund.', 'amount'),
};

/** Maps whatever the call threw to a domain error. */
export function fromAdyenError(error: unknown, context: ErrorContext): Error {
  if (error instanceof AdyenTransportError) {
    if (error.reason === 'timeout') return fail('PARTNER_TIMEOUT', context, true, { cause: error });
    if (error.reason === 'connection' || error.reason === 'body-cut') {
      // Refused before a connection existed: Adyen cannot have seen the request (routing may fail over).
      const code = (error.cause as { code?: unknown } | undefined)?.code;
      const unsent = error.reason === 'connection' && typeof code === 'string' && UNSENT_CODE.test(code);
      return fail('PARTNER_UNAVAILABLE', context, true, {
        cause: error,
        ...(unsent ? { unsent: 'connection refused' as const } : {}),
      });
    }
    const issue = error.reason === 'too-large' ? '(body): larger than the response cap' : '(body): not JSON';
    return fail('PARTNER_CONTRACT_VIOLATION', context, false, { cause: error, issues: [issue] });
  }
  if (!(error instanceof AdyenHttpError))
    return fail('PARTNER_UNAVAILABLE', context, false, { cause: error });
  const status = error.status;
  const wire = parseServiceError(error.body);
  const details = { status, cause: error, ...(wire ? { partnerCode: wire.errorCode } : {}) };
  if (status === 429)
    return fail('PARTNER_RATE_LIMITED', context, true, {
      ...details,
      retryAfterSeconds: retryAfterSeconds(error.headers),
    });
  if (status >= 500) return fail('PARTNER_UNAVAILABLE', context, true, details);
  if (status === 401 || status === 403) return fail('PARTNER_UNAVAILABLE', context, false, details);
  if (status === 404) return new NotFoundError(context.resource);
  if (!wire)
    return fail('PARTNER_CONTRACT_VIOLATION', context, false, {
      ...details,
      issues: ['error: not an Adyen ServiceError'],
    });
  // 704: the key was used before. With `transient-error: true` the first request is still running
  // (retry later); without, the first request had another body (Adyen, "API idempotency").
  if (wire.errorCode === '704') {
    return String(error.headers['transient-error']).toLowerCase() === 'true'
      ? new IdempotencyError(
          'IDEMPOTENCY_KEY_IN_USE',
          'A request with this idempotency key is still in progress.',
        )
      : new IdempotencyError(
          'IDEMPOTENCY_KEY_REUSED',
          'This idempotency key was already used for a different request.',
        );
  }
  const input = INPUT_ERRORS[wire.errorCode];
  if (status === 422 && input) return input();
  return fail('PARTNER_CONTRACT_VIOLATION', context, false, details);
}

function parseServiceError(body: string) {
  try {
    const parsed = serviceErrorSchema.safeParse(JSON.parse(body));
    return parsed.success ? parsed.data : null;
  } catch {
    return null;
  }
}

function fail(
  code: PartnerErrorCode,
  context: ErrorContext,
  retryable: boolean,
  extra: {
    status?: number;
    partnerCode?: string;
    retryAfterSeconds?: number;
    issues?: string[];
    unsent?: UnsentReason;
    cause?: unknown;
  },
): PartnerError {
  return new PartnerError({ partner: PARTNER, code, endpoint: context.endpoint, retryable, ...extra });
}

/** Validates a payload; a mismatch is a logged PARTNER_CONTRACT_VIOLATION naming the failing paths. */
export function decode<T>(
  schema: ZodType<T>,
  value: unknown,
  where: { logger: Logger; correlationId: string; endpoint: string },
): T {
  const result = schema.safeParse(value);
  if (result.success) return result.data;
  throw contractViolation({
    partner: PARTNER,
    endpoint: where.endpoint,
    issues: zodIssues(result.error),
    call: where,
  });
}
