/**
 * The payloads of the money-moving mutations, and their stored form. A finished idempotency key keeps
 * the payload as JSON (money as decimal strings of minor units, times as ISO strings), and a replay
 * returns what the first attempt returned, with the payment's current state read from the ledger
 * (runner.ts), so the outcome is replayed but the payment never goes back in time.
 */
import type { Payment, PaymentEvent, Refund } from '../../domain/model.js';
import type { Json } from '../../store/idempotency.js';
import { loadRoute, storeRoute, type StoredRoute } from '../../store/payment-rows.js';
import type { PaymentUserError } from './outcomes.js';

/** What initiatePayment, cancelPayment and refundPayment return. */
export interface PaymentPayload {
  payment: Payment | null;
  /** refundPayment only. */
  refund: Refund | null;
  userErrors: PaymentUserError[];
}

/** A payload and whether it was replayed from an earlier attempt with the same key. */
export interface PaymentResult {
  payload: PaymentPayload;
  replayed: boolean;
}

const VERSION = 1;

/** The stored JSON form of a payload. */
export function storePayload(payload: PaymentPayload): Json {
  return {
    v: VERSION,
    payment: payload.payment ? storePayment(payload.payment) : null,
    refund: payload.refund ? storeRefund(payload.refund) : null,
    userErrors: payload.userErrors.map((error) => ({
      ...error,
      field: error.field ? [...error.field] : null,
    })),
  };
}

/** A payload back from its stored form. */
export function loadPayload(stored: Json): PaymentPayload {
  const value = stored as unknown as StoredPayload;
  if (!value || value.v !== VERSION) throw new Error('Stored payment payload has an unknown version.');
  return {
    payment: value.payment ? loadPayment(value.payment) : null,
    refund: value.refund ? loadRefund(value.refund) : null,
    userErrors: value.userErrors,
  };
}

/** A payment as JSON (also the recovery data a crash-resumed attempt reads). */
export function storePayment(payment: Payment): Json {
  return {
    id: payment.id,
    provider: payment.provider,
    partnerId: payment.partnerId,
    ownerId: payment.ownerId,
    status: payment.status,
    amount: { minor: payment.amount.minor.toString(), currency: payment.amount.currency },
    debtorAccountId: payment.debtorAccountId,
    creditor: payment.creditor ? { ...payment.creditor } : null,
    reference: payment.reference,
    createdAt: payment.createdAt.toISOString(),
    updatedAt: payment.updatedAt.toISOString(),
    failureReason: payment.failureReason,
    nextAction: payment.nextAction ? { ...payment.nextAction } : null,
    events: payment.events.map((event) => ({ ...event, at: event.at.toISOString() })),
    refunds: payment.refunds.map(storeRefund),
    ...(payment.route ? { route: storeRoute(payment.route) as unknown as Json } : {}),
  };
}

/** The inverse of storePayment. */
export function loadPayment(stored: Json): Payment {
  const value = stored as unknown as StoredPayment;
  return {
    ...value,
    amount: { minor: BigInt(value.amount.minor), currency: value.amount.currency },
    createdAt: new Date(value.createdAt),
    updatedAt: new Date(value.updatedAt),
    events: value.events.map((event) => ({ ...event, at: new Date(event.at) })),
    refunds: value.refunds.map(loadRefund),
    route: value.route ? loadRoute(value.route) : null,
  };
}

/** A refund as JSON. */
export function storeRefund(refund: Refund): Json {
  return {
    id: refund.id,
    amount: { minor: refund.amount.minor.toString(), currency: refund.amount.currency },
    status: refund.status,
    createdAt: refund.createdAt.toISOString(),
  };
}

function loadRefund(stored: Json | StoredRefund): Refund {
  const value = stored as unknown as StoredRefund;
  return {
    id: value.id,
    amount: { minor: BigInt(value.amount.minor), currency: value.amount.currency },
    status: value.status,
    createdAt: new Date(value.createdAt),
  };
}

interface StoredMoney {
  minor: string;
  currency: string;
}

interface StoredRefund {
  id: string;
  amount: StoredMoney;
  status: Refund['status'];
  createdAt: string;
}

type StoredPayment = Omit<Payment, 'amount' | 'createdAt' | 'updatedAt' | 'events' | 'refunds' | 'route'> & {
  route?: StoredRoute | null;
  amount: StoredMoney;
  createdAt: string;
  updatedAt: string;
  events: (Omit<PaymentEvent, 'at'> & { at: string })[];
  refunds: StoredRefund[];
};

interface StoredPayload {
  v: number;
  payment: Json | null;
  refund: Json | null;
  userErrors: PaymentUserError[];
}
