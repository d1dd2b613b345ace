/**
 * Payment rows as the database returns them, and their canonical form (store/payments.ts).
 */
import type {
  Creditor,
  Payment,
  PaymentAttempt,
  PaymentEvent,
  PaymentRoute,
  PaymentStatus,
  ProviderName,
  Refund,
} from '../domain/model.js';

/** A payments row. */
export interface PaymentRow {
  id: string;
  subject: string;
  provider: ProviderName;
  partner_id: string;
  status: PaymentStatus;
  amount_minor: string;
  currency: string;
  refunded_minor: string;
  debtor_account_id: string | null;
  creditor_name: string | null;
  creditor_sort_code: string | null;
  creditor_account_last4: string | null;
  creditor_iban_minimal: string | null;
  reference: string;
  failure_reason: string | null;
  next_action: Payment['nextAction'];
  route: StoredRoute | null;
  created_at: Date;
  updated_at: Date;
}

/** A payment_events row. */
export interface EventRow {
  payment_id: string;
  status: PaymentStatus;
  at: Date;
  source: PaymentEvent['source'];
  detail: string | null;
}

/** A refunds row. */
export interface RefundRow {
  id: string;
  payment_id: string;
  amount_minor: string;
  currency: string;
  status: Refund['status'];
  created_at: Date;
}

/** Keeps only what the graph shows of a creditor's account details. */
export function minimalCreditor(creditor: Creditor | null): Creditor | null {
  if (!creditor) return null;
  const iban = creditor.iban?.replace(/\s+/g, '') ?? null;
  return {
    name: creditor.name,
    sortCode: creditor.sortCode,
    accountNumber: creditor.accountNumber ? creditor.accountNumber.slice(-4) : null,
    iban: iban ? `${iban.slice(0, 2)}${iban.slice(-4)}` : null,
  };
}

/** A route as JSON, as the `route` column and the idempotency records keep it (times as ISO strings). */
export interface StoredRoute {
  rule: string;
  candidates: PaymentRoute['candidates'];
  attempts: (Omit<PaymentAttempt, 'at'> & { at: string })[];
}

export function storeRoute(route: PaymentRoute): StoredRoute {
  return {
    rule: route.rule,
    candidates: [...route.candidates],
    attempts: route.attempts.map((attempt) => ({ ...attempt, at: attempt.at.toISOString() })),
  };
}

export function loadRoute(stored: StoredRoute): PaymentRoute {
  return {
    rule: stored.rule,
    candidates: stored.candidates,
    attempts: stored.attempts.map((attempt) => ({ ...attempt, at: new Date(attempt.at) })),
  };
}

/** A payment with its history and refunds, from its rows. */
export function toPayment(row: PaymentRow, events: EventRow[], refunds: RefundRow[]): Payment {
  return {
    id: row.id,
    provider: row.provider,
    partnerId: row.partner_id,
    ownerId: row.subject,
    status: row.status,
    amount: { minor: BigInt(row.amount_minor), currency: row.currency },
    debtorAccountId: row.debtor_account_id,
    creditor:
      row.creditor_name === null
        ? null
        : {
            name: row.creditor_name,
            sortCode: row.creditor_sort_code,
            accountNumber: row.creditor_account_last4,
            iban: row.creditor_iban_minimal,
          },
    reference: row.reference,
    createdAt: row.created_at,
    updatedAt: row.updated_at,
    failureReason: row.failure_reason,
    nextAction: nextActionOf(row.next_action),
    route: row.route ? loadRoute(row.route) : null,
    events: events
      .filter((event) => event.payment_id === row.id)
      .map((event) => ({ status: event.status, at: event.at, source: event.source, detail: event.detail })),
    refunds: refunds
      .filter((refund) => refund.payment_id === row.id)
      .map((refund) => ({
        id: refund.id,
        amount: { minor: BigInt(refund.amount_minor), currency: refund.currency },
        status: refund.status,
        createdAt: refund.created_at,
      })),
  };
}

/**
 * Rows written before next actions were canonical hold the partner's own type (Stripe's
 * `redirect_to_url`, `use_stripe_sdk`); every card next action is 3-D Secure.
 */
function nextActionOf(stored: Payment['nextAction']): Payment['nextAction'] {
  if (!stored || stored.type === 'REDIRECT_TO_BANK' || stored.type === 'THREE_D_SECURE') return stored;
  return { type: 'THREE_D_SECURE', url: stored.url };
}
