/**
 * Business outcomes: the expected "no" answers of money movement (declined, insufficient funds, not
 * cancellable, refund too large). They are final for the idempotency key, stored with it, and reach the
 * client as `userErrors`, unlike outages and bugs, which are errors and leave the key retryable.
 */
import type { Payment } from '../../domain/model.js';
import { DomainError, InputError, NotSupportedError } from '../../domain/errors.js';

/** The UserErrorCode values money movement produces (a subset of the SDL's enum). */
export type PaymentUserErrorCode =
  | 'DECLINED'
  | 'INSUFFICIENT_FUNDS'
  | 'CONSENT_EXPIRED'
  | 'INVALID_ACCOUNT'
  | 'AMOUNT_TOO_LARGE'
  | 'INVALID_AMOUNT'
  | 'UNSUPPORTED_CURRENCY'
  | 'INVALID_CREDITOR'
  | 'NOT_CONFIRMABLE'
  | 'NOT_CANCELLABLE'
  | 'NOT_REFUNDABLE'
  | 'REFUND_EXCEEDS_PAYMENT'
  | 'NOT_SUPPORTED';

/** One `userErrors` entry. */
export interface PaymentUserError {
  code: PaymentUserErrorCode;
  message: string;
  /** Path to the input field, e.g. ["input", "amount"]; null when it is about the whole operation. */
  field: string[] | null;
}

/**
 * Thrown by a payments provider when the partner answered a definite business "no". `payment` is the
 * partner's record when the refusal still created one (a declined card leaves a failed PaymentIntent),
 * so the ledger keeps every payment the partner holds.
 */
export class PaymentRejectedError extends DomainError {
  readonly code = 'BAD_USER_INPUT';
  constructor(
    readonly userErrorCode: PaymentUserErrorCode,
    message: string,
    readonly payment: Payment | null = null,
    readonly field: string[] | null = null,
  ) {
    super(message);
  }
}

/** The rejection carried by an error, when it is one (by class, or by shape from another module copy). */
export function rejectionOf(error: unknown): PaymentRejectedError | null {
  if (error instanceof PaymentRejectedError) return error;
  if (
    error instanceof DomainError &&
    typeof (error as Partial<PaymentRejectedError>).userErrorCode === 'string'
  ) {
    return error as PaymentRejectedError;
  }
  return null;
}

/** How a flow names a partner's refusal of its request. */
export interface RefusalCodes {
  /** The code of a refusal about no field in particular. */
  code: PaymentUserErrorCode;
  /** Codes of refusals about one argument, e.g. { amount: 'INVALID_AMOUNT' }. */
  byField?: Readonly<Record<string, PaymentUserErrorCode>>;
  /** Where the flow's arguments sit in the mutation, e.g. ["input"]. */
  path: readonly string[];
}

/**
 * The user error a partner call failed with, when the failure is a definite business "no": a
 * PaymentRejectedError, or the provider's InputError / NotSupportedError, which providers raise only
 * for requests the partner refused without acting on them. Anything else (outages, timeouts,
 * contract violations) is not a refusal: the outcome is unknown and the key stays retryable.
 */
export function refusalOf(error: unknown, codes: RefusalCodes): PaymentUserError | null {
  const rejection = rejectionOf(error);
  if (rejection) return userError(rejection.userErrorCode, rejection.message, rejection.field);
  if (error instanceof NotSupportedError) return userError('NOT_SUPPORTED', error.message);
  if (!(error instanceof InputError)) return null;
  if (!error.field) return userError(codes.code, error.message);
  return userError(codes.byField?.[error.field] ?? codes.code, error.message, [...codes.path, error.field]);
}

/** A user error about the whole operation. */
export function userError(
  code: PaymentUserErrorCode,
  message: string,
  field: string[] | null = null,
): PaymentUserError {
  return { code, message, field };
}

/** The SDL's PaymentFailureCode values. */
export type PaymentFailureCode =
  'DECLINED' | 'INSUFFICIENT_FUNDS' | 'EXPIRED_CARD' | 'INCORRECT_CARD_DETAILS' | 'AUTHENTICATION_FAILED';

/**
 * Why a FAILED payment failed, as a code and in words safe to show the customer. Providers keep the
 * reason code in `failureReason` (datasources/stripe DECLINE_CODES, Open Banking's status reasons);
 * a code the graph does not name is DECLINED.
 */
const FAILURES: Readonly<Record<PaymentFailureCode, string>> = {
  DECLINED: 'The payment was declined.',
  INSUFFICIENT_FUNDS: 'The account or card has insufficient funds.',
  EXPIRED_CARD: 'The card has expired.',
  INCORRECT_CARD_DETAILS: 'The card details are incorrect.',
  AUTHENTICATION_FAILED: 'The card holder did not complete authentication.',
};

/** The failure of a FAILED payment; null for any other status. */
export function failureOf(payment: Payment): { code: PaymentFailureCode; message: string } | null {
  if (payment.status !== 'FAILED') return null;
  const reason = payment.failureReason ?? 'DECLINED';
  const code = (Object.hasOwn(FAILURES, reason) ? reason : 'DECLINED') as PaymentFailureCode;
  return { code, message: FAILURES[code] };
}
