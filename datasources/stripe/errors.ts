/**
 * Stripe answers -> domain outcomes. The SDK raises StripeError subclasses; this file decides what
 * each means for Tributary:
 *   card_error (402)                 a business outcome: PaymentDeclined, never a PartnerError
 *   idempotency_error (400)          IDEMPOTENCY_KEY_REUSED: one key, two different requests
 *   idempotency_key_in_use (409)     IDEMPOTENCY_KEY_IN_USE, retryable
 *   429                              PARTNER_RATE_LIMITED, honouring Retry-After
 *   5xx, connection refused/reset    PARTNER_UNAVAILABLE, retryable
 *   timeout                          PARTNER_TIMEOUT, retryable (keyed writes replay, see client.ts)
 *   404 resource_missing             NotFoundError (the caller decides whether that means "absent")
 *   refund / state refusals          InputError: the request cannot succeed as asked
 *   401/403                          PARTNER_UNAVAILABLE, not retryable (our key is wrong)
 *   body cut off mid-way             PARTNER_UNAVAILABLE, retryable
 *   any other 4xx, bad JSON, too big PARTNER_CONTRACT_VIOLATION: the two sides disagree
 * Stripe's messages and codes go to PartnerError.partnerCode and the logs, never to clients.
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
import { BODY_CUT, BODY_TOO_LARGE } from './transport.js';
import { errorObjectSchema, type WireError, type WireLastPaymentError } from './types.js';

const PARTNER = 'stripe';

/** Why a card payment was declined, in Tributary's words (the payments service's userErrors codes). */
export const DECLINE_CODES = [
  'DECLINED',
  'INSUFFICIENT_FUNDS',
  'EXPIRED_CARD',
  'INCORRECT_CARD_DETAILS',
  'AUTHENTICATION_FAILED',
] as const;
/** One of DECLINE_CODES. */
export type DeclineCode = (typeof DECLINE_CODES)[number];

/** A declined card payment: an expected business outcome, reported as data. */
export interface PaymentDeclined {
  kind: 'PaymentDeclined';
  code: DeclineCode;
  /** Client-safe explanation. */
  message: string;
  /** Stripe's error code and issuer decline code, for logs and support. */
  partnerCode: string | null;
  partnerDeclineCode: string | null;
}

const DECLINE_MESSAGES = {
  DECLINED: 'The card was declined.',
  INSUFFICIENT_FUNDS: 'The card has insufficient funds.',
  EXPIRED_CARD: 'The card has expired.',
  INCORRECT_CARD_DETAILS: 'The card details are incorrect.',
  AUTHENTICATION_FAILED: 'The card holder did not complete authentication.',
} as const satisfies Record<DeclineCode, string>;

/** Stripe error and decline codes that have a more specific meaning than DECLINED. */
const SPECIFIC_DECLINES: Readonly<Record<string, DeclineCode>> = {
  insufficient_funds: 'INSUFFICIENT_FUNDS',
  expired_card: 'EXPIRED_CARD',
  incorrect_cvc: 'INCORRECT_CARD_DETAILS',
  incorrect_number: 'INCORRECT_CARD_DETAILS',
  incorrect_zip: 'INCORRECT_CARD_DETAILS',
  invalid_cvc: 'INCORRECT_CARD_DETAILS',
  invalid_expiry_month: 'INCORRECT_CARD_DETAILS',
  invalid_expiry_year: 'INCORRECT_CARD_DETAILS',
  payment_intent_authentication_failure: 'AUTHENTICATION_FAILED',
  authentication_required: 'AUTHENTICATION_FAILED',
};

/** The decline behind a card error or a PaymentIntent's last_payment_error. */
export function paymentDeclined(error: Pick<WireLastPaymentError, 'code' | 'decline_code'>): PaymentDeclined {
  const code =
    (error.decline_code ? SPECIFIC_DECLINES[error.decline_code] : undefined) ??
    (error.code ? SPECIFIC_DECLINES[error.code] : undefined) ??
    'DECLINED';
  return {
    kind: 'PaymentDeclined',
    code,
    message: DECLINE_MESSAGES[code],
    partnerCode: error.code ?? null,
    partnerDeclineCode: error.decline_code ?? null,
  };
}

/** A card error from Stripe: carries the PaymentIntent Stripe attached, still to be validated. */
export class StripeDeclineError extends Error {
  override name = 'StripeDeclineError';
  constructor(
    readonly declined: PaymentDeclined,
    readonly paymentIntent: unknown,
  ) {
    super(declined.message);
  }
}

/** The shape of the SDK's StripeError we read; checked structurally, so tests can build one. */
interface SdkError {
  type?: unknown;
  statusCode?: unknown;
  headers?: unknown;
  raw?: unknown;
  detail?: unknown;
}

/** What a failed call is about, for the mapping. */
export interface ErrorContext {
  endpoint: string;
  /** "Payment", "Refund", "Customer": what a 404 resource_missing is reported as. */
  resource: string;
  /** Whether a card_error is an expected outcome of this endpoint (creating or confirming). */
  mayDecline: boolean;
}

/** Maps whatever the SDK threw to a domain error (or a StripeDeclineError for a card error). */
export function fromStripeError(error: unknown, context: ErrorContext): Error {
  if (!(error instanceof Error)) return fail('PARTNER_UNAVAILABLE', context, false, { cause: error });
  const sdk = error as Error & SdkError;
  const status = typeof sdk.statusCode === 'number' ? sdk.statusCode : undefined;
  if (sdk.type === 'StripeConnectionError') return connectionError(sdk, context);
  if (status === undefined) return unreadableBody(sdk, context);
  const parsed = errorObjectSchema.safeParse(sdk.raw);
  const wire: WireError | undefined = parsed.success ? parsed.data : undefined;
  const partnerCode = wire?.decline_code ?? wire?.code ?? wire?.type;
  const details = { status, partnerCode, cause: error };
  if (status === 429) {
    return fail('PARTNER_RATE_LIMITED', context, true, {
      ...details,
      retryAfterSeconds: retryAfterSeconds(sdk.headers),
    });
  }
  if (status >= 500) return fail('PARTNER_UNAVAILABLE', context, true, details);
  if (status === 401 || status === 403) return fail('PARTNER_UNAVAILABLE', context, false, details);
  if (!wire)
    return fail('PARTNER_CONTRACT_VIOLATION', context, false, {
      ...details,
      issues: ['error: not a Stripe error object'],
    });
  if (wire.type === 'card_error' && context.mayDecline) {
    return new StripeDeclineError(paymentDeclined(wire), wire.payment_intent);
  }
  if (wire.type === 'idempotency_error') {
    return new IdempotencyError(
      'IDEMPOTENCY_KEY_REUSED',
      'This idempotency key was already used for a different request.',
    );
  }
  if (status === 409 && wire.code === 'idempotency_key_in_use') {
    return new IdempotencyError(
      'IDEMPOTENCY_KEY_IN_USE',
      'A request with this idempotency key is still in progress.',
    );
  }
  if (status === 404 && wire.code === 'resource_missing') return new NotFoundError(context.resource);
  const refusal = businessRefusal(wire);
  if (refusal) return refusal;
  return fail('PARTNER_CONTRACT_VIOLATION', context, false, details);
}

/** Refusals the caller can act on: the request is valid but cannot succeed in the object's state. */
function businessRefusal(wire: WireError): InputError | null {
  switch (wire.code) {
    case 'amount_too_large':
      return new InputError('The refund is larger than what is left to refund.', 'amount');
    case 'charge_already_refunded':
      return new InputError('The payment has already been refunded in full.');
    case 'charge_not_refundable':
    case 'charge_disputed':
      return new InputError('The payment cannot be refunded.');
    case 'payment_intent_unexpected_state':
      return new InputError('The payment cannot do that in its current state.');
    case 'amount_too_small':
    case 'invalid_charge_amount_no_decimal_compatible':
      return new InputError('The amount is not one the card network accepts.', 'amount');
  }
  if (wire.code === 'resource_missing' && wire.param === 'payment_method') {
    return new InputError('The payment method is unknown.', 'paymentMethodId');
  }
  // Stripe refused a field of ours without creating anything: the client's amount or currency.
  if (wire.type === 'invalid_request_error' && wire.param === 'amount') {
    return new InputError(`Stripe refused the amount: ${wire.message ?? 'not valid'}`, 'amount');
  }
  if (wire.type === 'invalid_request_error' && wire.param === 'currency') {
    return new InputError(`Stripe does not accept the currency: ${wire.message ?? 'not valid'}`, 'currency');
  }
  return null;
}

/** The SDK could not read the body ("Invalid JSON received from the Stripe API"): why decides. */
function unreadableBody(error: Error & SdkError, context: ErrorContext): PartnerError {
  const code = (error.raw as { exception?: { code?: unknown } } | undefined)?.exception?.code;
  if (code === BODY_CUT)
    return fail('PARTNER_UNAVAILABLE', context, true, { cause: error, partnerCode: code });
  const issue = code === BODY_TOO_LARGE ? '(body): larger than the response cap' : '(body): not valid JSON';
  return fail('PARTNER_CONTRACT_VIOLATION', context, false, { cause: error, issues: [issue] });
}

function connectionError(error: Error & SdkError, context: ErrorContext): PartnerError {
  const code = (error.detail as { code?: unknown } | undefined)?.code;
  const timedOut = code === 'ETIMEDOUT' || /timeout/i.test(error.message);
  return fail(timedOut ? 'PARTNER_TIMEOUT' : 'PARTNER_UNAVAILABLE', context, true, {
    cause: error,
    ...(typeof code === 'string' ? { partnerCode: code } : {}),
    unsent: typeof code === 'string' && UNSENT_CODE.test(code) ? 'connection refused' : null,
  });
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
    unsent?: UnsentReason | null;
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
  const { endpoint } = where;
  throw contractViolation({ partner: PARTNER, endpoint, issues: zodIssues(result.error), call: where });
}
