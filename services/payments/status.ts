/**
 * The payment state machine: statuses only move forward, so duplicate, late or out-of-order reports
 * (API answers, webhooks, reconciliation) all end in the same state.
 *
 * The order is a chain PENDING < REQUIRES_ACTION < PROCESSING < AUTHORISED < SETTLED <
 * PARTIALLY_REFUNDED < REFUNDED, with FAILED and CANCELLED as terminal exits before settlement. For any
 * set of reports taken from one real history, applying them in any order gives the furthest status.
 */
import type { PaymentStatus } from '../../domain/model.js';

/** The statuses a payment may move to from each status (directly; see `transitionPath`). */
export const TRANSITIONS = {
  PENDING: ['REQUIRES_ACTION', 'PROCESSING', 'AUTHORISED', 'SETTLED', 'FAILED', 'CANCELLED'],
  REQUIRES_ACTION: ['PROCESSING', 'AUTHORISED', 'SETTLED', 'FAILED', 'CANCELLED'],
  PROCESSING: ['AUTHORISED', 'SETTLED', 'FAILED', 'CANCELLED'],
  AUTHORISED: ['SETTLED', 'FAILED', 'CANCELLED'],
  SETTLED: ['PARTIALLY_REFUNDED', 'REFUNDED'],
  PARTIALLY_REFUNDED: ['REFUNDED'],
  REFUNDED: [],
  FAILED: [],
  CANCELLED: [],
} as const satisfies Record<PaymentStatus, readonly PaymentStatus[]>;

/** Statuses from which nothing moves any more. */
export function isTerminal(status: PaymentStatus): boolean {
  return TRANSITIONS[status].length === 0;
}

function allows(from: PaymentStatus, to: PaymentStatus): boolean {
  return (TRANSITIONS[from] as readonly PaymentStatus[]).includes(to);
}

/**
 * The statuses to record to move from `from` to `to`, in order; empty when `to` is not ahead of `from`
 * (a duplicate or a late report, which is ignored). A refund reported before the settlement it implies
 * first records SETTLED, because money cannot be refunded before it moved; that keeps "refunds only
 * after SETTLED" true whatever order the reports arrive in.
 */
export function transitionPath(from: PaymentStatus, to: PaymentStatus): PaymentStatus[] {
  if (allows(from, to)) return [to];
  if ((to === 'REFUNDED' || to === 'PARTIALLY_REFUNDED') && allows(from, 'SETTLED')) return ['SETTLED', to];
  return [];
}

/** Whether the customer may still cancel a payment in this status. */
export function isCancellable(status: PaymentStatus): boolean {
  return allows(status, 'CANCELLED');
}

/** Whether a payment waits for the customer or for a server-side confirmation (confirmPayment). */
export function isConfirmable(status: PaymentStatus): boolean {
  return status === 'REQUIRES_ACTION' || status === 'PENDING';
}

/** Whether money can be refunded from a payment in this status. */
export function isRefundable(status: PaymentStatus): boolean {
  return status === 'SETTLED' || status === 'PARTIALLY_REFUNDED';
}
