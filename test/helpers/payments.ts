/**
 * A card payment as the ledger would record it, for tests that need one row to read back.
 */
import { encodeId } from '../../domain/ids.js';
import type { Payment } from '../../domain/model.js';

/** cust_alice's PROCESSING card payment at Stripe, created at `createdAt`; `overrides` win. */
export function cardPayment(partnerId: string, createdAt: Date, overrides: Partial<Payment> = {}): Payment {
  return {
    id: encodeId('Payment', 'stripe', partnerId),
    provider: 'stripe',
    partnerId,
    ownerId: 'cust_alice',
    status: 'PROCESSING',
    amount: { minor: 1234n, currency: 'GBP' },
    debtorAccountId: null,
    creditor: null,
    reference: 'Rent March',
    createdAt,
    updatedAt: createdAt,
    failureReason: null,
    nextAction: null,
    events: [],
    refunds: [],
    ...overrides,
  };
}
