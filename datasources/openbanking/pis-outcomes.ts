/**
 * The expected "no" answers of Open Banking payments, as data (the typed outcomes of
 * createBankPayment and cancelBankPayment) and, for the PaymentsProvider contract, as an error that
 * carries a user-error code and the partner's record. The payments service recognises the error by
 * its shape (`userErrorCode`, `payment`, `field`), so the datasource need not import services.
 */
import type { Payment } from '../../domain/model.js';
import { DomainError } from '../../domain/errors.js';

/** The business outcomes a bank payment can end in besides success. */
export type BankPaymentRefusalCode =
  'INSUFFICIENT_FUNDS' | 'DECLINED' | 'INVALID_ACCOUNT' | 'UNSUPPORTED_CURRENCY' | 'NOT_CANCELLABLE';

/** A refusal, with the bank's record of the payment when the refusal still created one. */
export interface BankPaymentRefusal {
  code: BankPaymentRefusalCode;
  message: string;
  /** Path to the input field the refusal is about, e.g. ["input", "debtorAccountId"]. */
  field: string[] | null;
}

/** What creating a bank payment ended in. */
export type BankPaymentOutcome =
  { ok: true; payment: Payment } | { ok: false; payment: Payment | null; refusal: BankPaymentRefusal };

/** What cancelling ended in: a consent dropped before use, or NOT_CANCELLABLE with the payment as it is. */
export type BankCancelOutcome =
  { ok: true; payment: Payment } | { ok: false; payment: Payment; refusal: BankPaymentRefusal };

/** A refusal thrown through PaymentsProvider methods (which return a Payment or throw). */
export class PaymentRefusedError extends DomainError {
  readonly code = 'BAD_USER_INPUT';
  readonly userErrorCode: BankPaymentRefusalCode;
  readonly field: string[] | null;

  constructor(
    refusal: BankPaymentRefusal,
    readonly payment: Payment | null = null,
  ) {
    super(refusal.message);
    this.userErrorCode = refusal.code;
    this.field = refusal.field;
  }
}

/** The refusal of a rejected payment from the bank's status reason (ISO 20022 AM04: insufficient funds). */
export function refusalOfReason(reason: string | null): BankPaymentRefusal {
  return reason === 'INSUFFICIENT_FUNDS'
    ? { code: 'INSUFFICIENT_FUNDS', message: 'The account has insufficient funds.', field: null }
    : { code: 'DECLINED', message: 'The bank rejected the payment.', field: null };
}

/** The failure reason a payment-details status detail stands for. */
export function failureReasonOf(detail: string | undefined): 'INSUFFICIENT_FUNDS' | 'DECLINED' {
  return detail !== undefined && /^AM04\b/.test(detail.trim()) ? 'INSUFFICIENT_FUNDS' : 'DECLINED';
}
