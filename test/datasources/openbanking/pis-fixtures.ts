/**
 * Payment requests for the Open Banking PIS suites.
 */
import { randomBytes } from 'node:crypto';
import { parseDecimal } from '../../../domain/money.js';
import type { CreatePaymentRequest } from '../../../domain/providers.js';
import { PISP_BASE } from '../../../sandboxes/openbanking/index.js';

export const CREATE_CONSENT = `POST ${PISP_BASE}/domestic-payment-consents`;
export const CREATE_PAYMENT = `POST ${PISP_BASE}/domestic-payments`;
export const GET_PAYMENT = `GET ${PISP_BASE}/domestic-payments/{DomesticPaymentId}`;

/** A partner key shaped like the payments service derives them (37 characters). */
export function partnerKey(): string {
  return `trb1-${randomBytes(16).toString('hex')}`;
}

/** A bank payment from Alice's everyday account (available 376.55 GBP) to a UK creditor. */
export function paymentRequest(
  amount = '25.00',
  overrides: Partial<CreatePaymentRequest> & { currency?: string } = {},
): CreatePaymentRequest {
  const { currency = 'GBP', ...rest } = overrides;
  return {
    amount: parseDecimal(amount, currency),
    reference: 'Invoice 42',
    debtorPartnerAccountId: 'alice-current-01',
    paymentMethodId: null,
    creditor: { name: 'ACME Supplies Ltd', sortCode: '601613', accountNumber: '31926819', iban: null },
    partnerIdempotencyKey: partnerKey(),
    ...rest,
  };
}
