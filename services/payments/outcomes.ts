/**
 * Business outcomes: the expected "no" answers of money movement (declined, insufficient funds, not
 * cancellable, refund too large). They are final for the idempotency key, stored with it, and reach the
 * client as `userErrors`, unlike outages and bugs, which are errors and leave the key retryable.
 */
import type { Payment } from '../../datasources/canonical.js';
import { DomainError } from '../../server/errors.js';

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
  if (error instanceof DomainError && typeof (error as Partial<PaymentRejectedError>).userErrorCode === 'string') {
    return error as PaymentRejectedError;
  }
  return null;
}

/** A user error about the whole operation. */
export function userError(code: PaymentUserErrorCode, message: string, field: string[] | null = null): PaymentUserError {
  return { code, message, field };
}
