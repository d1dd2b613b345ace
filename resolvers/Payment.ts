import { NotImplementedError } from '../server/errors.js';
import type { CreditorResolvers, PaymentResolvers } from './__generated__/types.js';

export const Payment: PaymentResolvers = {
  __resolveReference: () => {
    throw new NotImplementedError('Payments');
  },
};

/** Account numbers and IBANs leave the process masked to their last four characters. */
export const Creditor: CreditorResolvers = {
  maskedAccountNumber: (creditor) => mask(creditor.accountNumber),
  maskedIban: (creditor) => mask(creditor.iban),
};

function mask(value: string | null): string | null {
  return value ? `••••${value.slice(-4)}` : null;
}
