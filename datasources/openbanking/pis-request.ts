/**
 * The request side of Open Banking payments: what a payment request must hold to become a domestic
 * payment, the derived consent key, the bank's authorisation URL (redirect mode), and the fixed
 * refusals. Pure helpers for pis.ts.
 */
import { createHash } from 'node:crypto';
import { InputError, NotSupportedError } from '../../domain/errors.js';
import type { CreatePaymentRequest } from '../../domain/providers.js';
import { MAX_IDEMPOTENCY_KEY } from './pis-client.js';
import type { BankPaymentOutcome, BankPaymentRefusal } from './pis-outcomes.js';

/** The account schemes a domestic payment can leave from. */
export const PAYABLE_SCHEMES: ReadonlySet<string> = new Set([
  'UK.OBIE.SortCodeAccountNumber',
  'UK.OBIE.IBAN',
]);

export const DECLINED_AT_BANK: BankPaymentRefusal = {
  code: 'DECLINED',
  message: 'The payment was not authorised at the bank.',
  field: null,
};

export const NOT_CANCELLABLE: BankPaymentRefusal = {
  code: 'NOT_CANCELLABLE',
  message: 'An Open Banking payment cannot be cancelled once it is submitted to the bank.',
  field: null,
};

/** A refusal before anything was created at the bank. */
export function refused(
  code: BankPaymentRefusal['code'],
  message: string,
  field: string,
): BankPaymentOutcome {
  return { ok: false, payment: null, refusal: { code, message, field: ['input', field] } };
}

/** Asserts the partner key fits the spec's x-idempotency-key (a bug upstream otherwise, not input). */
export function checkPartnerKey(key: string): string {
  if (key.length === 0 || key.length > MAX_IDEMPOTENCY_KEY || key.trim() !== key) {
    throw new Error(`partnerIdempotencyKey must be 1 to ${MAX_IDEMPOTENCY_KEY} characters for Open Banking`);
  }
  return key;
}

/** The consent's x-idempotency-key: derived from the payment's, so the two POSTs never share a key. */
export function consentKey(partnerKey: string): string {
  const digest = createHash('sha256')
    .update(`tributary.ob.consent-key.v1\n${partnerKey}`)
    .digest('base64url');
  return `c-${digest.slice(0, 38)}`;
}

/** What a bank payment needs beyond the contract's types; InputError names the field. */
export function checkRequest(request: CreatePaymentRequest) {
  if (!request.debtorPartnerAccountId) {
    if (request.paymentMethodId) throw new NotSupportedError('openbanking', 'card payments');
    throw new InputError('A bank payment needs a debtor account.', 'debtorAccountId');
  }
  const creditor = request.creditor;
  if (!creditor || !(creditor.iban || (creditor.sortCode && creditor.accountNumber))) {
    throw new InputError(
      "A bank payment needs the creditor's sort code and account number, or IBAN.",
      'creditor',
    );
  }
  if (request.amount.minor <= 0n) throw new InputError('The amount must be greater than zero.', 'amount');
  if (request.reference.length < 1 || request.reference.length > 35) {
    throw new InputError('The reference must be 1 to 35 characters.', 'reference');
  }
  return { debtorPartnerAccountId: request.debtorPartnerAccountId, creditor };
}

/**
 * Where the customer approves a consent at the bank (redirect mode). Simplified: a FAPI bank also
 * expects a signed request object carrying the consent id; this URL names it as a plain parameter.
 */
export function authorisationUrl(
  endpoint: string,
  clientId: string,
  consentId: string,
  returnUrl: string | null,
): string {
  const url = new URL(endpoint);
  url.searchParams.set('response_type', 'code id_token');
  url.searchParams.set('client_id', clientId);
  url.searchParams.set('scope', 'openid payments');
  url.searchParams.set('state', consentId);
  url.searchParams.set('openbanking_intent_id', consentId);
  if (returnUrl) url.searchParams.set('redirect_uri', returnUrl);
  return url.toString();
}
