/**
 * Stripe wire objects -> canonical Payment and Refund, and canonical money -> Stripe amounts.
 *
 * Status: the PaymentIntent status decides, with two refinements Stripe encodes elsewhere:
 * requires_payment_method after a failed attempt (last_payment_error set) is FAILED, and a
 * succeeded PaymentIntent whose charge was refunded, or charged back and lost, is REFUNDED or
 * PARTIALLY_REFUNDED.
 *
 * Disputes (chargebacks): the canonical model has no DISPUTED status, and an open dispute is not
 * the end of the payment: the money comes back if it is won. So an open, won, prevented or
 * inquiry-only dispute leaves the status alone, and a lost one counts as money returned to the
 * cardholder, exactly like a refund of the disputed amount (REFUNDED when it covers the payment,
 * PARTIALLY_REFUNDED otherwise). Every dispute adds a PaymentEvent with detail `dispute:<status>`,
 * so the history shows the chargeback whatever its outcome.
 */
import type { Logger } from 'pino';
import type {
  Dispute,
  DisputeReason as CanonicalDisputeReason,
  DisputeStatus as CanonicalDisputeStatus,
  Payment,
  PaymentEvent,
  PaymentStatus,
  Refund,
} from '../../domain/model.js';
import { encodeId } from '../../domain/ids.js';
import { CARD_SCHEMES, type CardScheme } from '../../domain/providers.js';
import { exponentOf, money, MoneyError, type Money } from '../../domain/money.js';
import { contractViolation } from '../contract.js';
import { paymentDeclined } from './errors.js';
import type {
  DisputeReason,
  DisputeStatus,
  PaymentIntentStatus,
  RefundStatus,
  WireCharge,
  WireDispute,
  WirePaymentIntent,
  WireRefund,
} from './types.js';
import { DISPUTE_REASONS, idOf } from './types.js';

/** Metadata key naming the Tributary subject a PaymentIntent was created for. */
export const SUBJECT_KEY = 'tributary_subject';
/** Metadata key carrying the creditor's name (card payments pay the merchant, not a bank account). */
export const CREDITOR_KEY = 'tributary_creditor';

/** A PaymentIntent with what Stripe keeps about it elsewhere: its refunds and disputes. */
export interface PaymentBundle {
  intent: WirePaymentIntent;
  refunds: readonly WireRefund[];
  disputes: readonly WireDispute[];
}

/** Where a mapping happens, for contract-violation logs. */
export interface MapContext {
  logger: Logger;
  correlationId: string;
  endpoint: string;
}

/** PaymentIntent status -> canonical status, before refunds and disputes (see baseStatus). */
export const INTENT_STATUS = {
  requires_payment_method: 'PENDING',
  requires_confirmation: 'PENDING',
  requires_action: 'REQUIRES_ACTION',
  processing: 'PROCESSING',
  requires_capture: 'AUTHORISED',
  succeeded: 'SETTLED',
  canceled: 'CANCELLED',
} as const satisfies Record<PaymentIntentStatus, PaymentStatus>;

/** Refund status -> canonical refund status; requires_action is still pending. */
export const REFUND_STATUS = {
  pending: 'PENDING',
  requires_action: 'PENDING',
  succeeded: 'SUCCEEDED',
  failed: 'FAILED',
  canceled: 'CANCELLED',
} as const satisfies Record<RefundStatus, Refund['status']>;

/** What a dispute in each status does to the money (see the file comment). */
export const DISPUTE_EFFECT = {
  warning_needs_response: 'none',
  warning_under_review: 'none',
  warning_closed: 'none',
  needs_response: 'none',
  under_review: 'none',
  won: 'none',
  prevented: 'none',
  lost: 'returned',
} as const satisfies Record<DisputeStatus, 'none' | 'returned'>;

/** Dispute status -> canonical dispute status: inquiries (`warning_*`) read like chargebacks. */
export const DISPUTE_STATUS = {
  warning_needs_response: 'NEEDS_RESPONSE',
  warning_under_review: 'UNDER_REVIEW',
  warning_closed: 'CLOSED',
  needs_response: 'NEEDS_RESPONSE',
  under_review: 'UNDER_REVIEW',
  won: 'WON',
  lost: 'LOST',
  prevented: 'CLOSED',
} as const satisfies Record<DisputeStatus, CanonicalDisputeStatus>;

/** Dispute reason -> canonical reason (bank-debit reasons join their card families). */
export const DISPUTE_REASON = {
  bank_cannot_process: 'PROCESSING_ERROR',
  check_returned: 'PROCESSING_ERROR',
  credit_not_processed: 'CREDIT_NOT_PROCESSED',
  customer_initiated: 'GENERAL',
  debit_not_authorized: 'FRAUDULENT',
  duplicate: 'DUPLICATE',
  fraudulent: 'FRAUDULENT',
  general: 'GENERAL',
  incorrect_account_details: 'PROCESSING_ERROR',
  insufficient_funds: 'PROCESSING_ERROR',
  noncompliant: 'OTHER',
  product_not_received: 'PRODUCT_NOT_RECEIVED',
  product_unacceptable: 'PRODUCT_UNACCEPTABLE',
  subscription_canceled: 'SUBSCRIPTION_CANCELED',
  unrecognized: 'UNRECOGNIZED',
} as const satisfies Record<DisputeReason, CanonicalDisputeReason>;

const KNOWN_REASONS: ReadonlySet<string> = new Set(DISPUTE_REASONS);

/**
 * A dispute as canonical Dispute, read at `readAt` (Stripe's Dispute has no update time: the read
 * time orders the copies). A reason Stripe added after this mapping is a contract violation, never
 * a silent OTHER: the webhook retries, then dead-letters, and the log names the reason to map.
 */
export function mapDispute(dispute: WireDispute, ctx: MapContext, readAt: Date): Dispute {
  if (!KNOWN_REASONS.has(dispute.reason))
    throw violation(ctx, [`reason: unknown value ${JSON.stringify(dispute.reason)}`]);
  const dueBy = dispute.evidence_details.due_by;
  const status = DISPUTE_STATUS[dispute.status];
  return {
    id: dispute.id,
    provider: 'stripe',
    partnerId: dispute.id,
    partnerPaymentId: idOf(dispute.payment_intent),
    amount: amountOf(dispute.amount, dispute.currency, ctx, 'amount'),
    reason: DISPUTE_REASON[dispute.reason as DisputeReason],
    status,
    // Stripe keeps due_by after the answer; only a dispute still waiting for one has a deadline.
    evidenceDueBy: status === 'NEEDS_RESPONSE' && dueBy !== null ? fromUnix(dueBy) : null,
    openedAt: fromUnix(dispute.created),
    updatedAt: readAt,
  };
}

/** Refund statuses whose amount has left (or is leaving) the merchant. */
const COUNTED_REFUNDS: ReadonlySet<RefundStatus> = new Set(['pending', 'requires_action', 'succeeded']);

/**
 * Where Stripe's minor unit differs from ISO 4217 (https://docs.stripe.com/currencies): ISK is sent
 * with two decimals although the króna has none; MGA is sent zero-decimal although ISO gives it two.
 */
const STRIPE_EXPONENT: Readonly<Record<string, number>> = { ISK: 2, MGA: 0 };

/** A Stripe amount (integer, Stripe's minor unit) as canonical money. Throws MoneyError if inexact. */
export function fromStripeAmount(amount: number, currency: string): Money {
  const code = currency.toUpperCase();
  const shift = (STRIPE_EXPONENT[code] ?? exponentOf(code)) - exponentOf(code);
  if (shift === 0) return money(amount, code);
  const factor = 10n ** BigInt(Math.abs(shift));
  const units = BigInt(amount);
  if (shift > 0 && units % factor !== 0n) throw new MoneyError(`${amount} is not a whole ${code} amount`);
  return money(shift > 0 ? units / factor : units * factor, code);
}

/** Canonical money as Stripe's `amount` and `currency`. Throws MoneyError if Stripe cannot carry it. */
export function toStripeAmount(value: Money): { amount: number; currency: string } {
  const shift = (STRIPE_EXPONENT[value.currency] ?? exponentOf(value.currency)) - exponentOf(value.currency);
  const factor = 10n ** BigInt(Math.abs(shift));
  if (shift < 0 && value.minor % factor !== 0n) {
    throw new MoneyError(`${value.currency} amounts must be whole units at Stripe`);
  }
  const units = shift >= 0 ? value.minor * factor : value.minor / factor;
  if (units <= 0n || units > BigInt(Number.MAX_SAFE_INTEGER)) throw new MoneyError('amount out of range');
  return { amount: Number(units), currency: value.currency.toLowerCase() };
}

/** The Tributary subject recorded on the PaymentIntent, or null when it was not created by us. */
export function ownerOf(intent: WirePaymentIntent): string | null {
  const owner = intent.metadata[SUBJECT_KEY];
  return owner === undefined || owner === '' ? null : owner;
}

/** The expanded latest charge, or null when there is none (or it was not expanded). */
export function chargeOf(intent: WirePaymentIntent): WireCharge | null {
  return typeof intent.latest_charge === 'object' ? intent.latest_charge : null;
}

/** A refund as canonical Refund (the id is Stripe's own `re_...`). */
export function mapRefund(refund: WireRefund, ctx: MapContext): Refund {
  return {
    id: refund.id,
    amount: amountOf(refund.amount, refund.currency, ctx, `refund ${refund.id}`),
    status: REFUND_STATUS[refund.status],
    createdAt: fromUnix(refund.created),
  };
}

/** Maps a PaymentIntent and its refunds and disputes; throws a contract violation if they disagree. */
export function mapPayment(bundle: PaymentBundle, ctx: MapContext): Payment {
  const { intent } = bundle;
  const issues = consistencyIssues(bundle);
  const owner = ownerOf(intent);
  if (owner === null) issues.push(`metadata.${SUBJECT_KEY}: missing`);
  if (owner === null || issues.length > 0) throw violation(ctx, issues);
  const amount = amountOf(intent.amount, intent.currency, ctx, 'amount');
  const base = baseStatus(intent);
  const events = history(bundle, base);
  const creditorName = intent.metadata[CREDITOR_KEY];
  return {
    id: encodeId('Payment', 'stripe', intent.id),
    provider: 'stripe',
    partnerId: intent.id,
    ownerId: owner,
    status: base === 'SETTLED' ? settledStatus(intent.amount, returnedAmount(bundle)) : base,
    amount,
    debtorAccountId: null,
    creditor: creditorName ? { name: creditorName, sortCode: null, accountNumber: null, iban: null } : null,
    reference: intent.description ?? '',
    createdAt: fromUnix(intent.created),
    updatedAt: new Date(Math.max(...events.map((event) => event.at.getTime()))),
    failureReason:
      base === 'FAILED' && intent.last_payment_error ? paymentDeclined(intent.last_payment_error).code : null,
    nextAction: nextAction(intent, ctx),
    events,
    refunds: bundle.refunds.map((refund) => mapRefund(refund, ctx)),
  };
}

/** The status before refunds and disputes are considered. */
function baseStatus(intent: WirePaymentIntent): PaymentStatus {
  // A failed attempt returns the PaymentIntent to requires_payment_method; last_payment_error tells it apart from a fresh one.
  if (intent.status === 'requires_payment_method' && intent.last_payment_error) return 'FAILED';
  return INTENT_STATUS[intent.status];
}

function settledStatus(amount: number, returned: number): PaymentStatus {
  if (returned <= 0) return 'SETTLED';
  return returned >= amount ? 'REFUNDED' : 'PARTIALLY_REFUNDED';
}

/** Refunded (the charge's own total when expanded, else the refunds) plus chargebacks lost. */
function returnedAmount(bundle: PaymentBundle): number {
  const charge = chargeOf(bundle.intent);
  const refunded = charge
    ? charge.amount_refunded
    : bundle.refunds
        .filter((refund) => COUNTED_REFUNDS.has(refund.status))
        .reduce((sum, refund) => sum + refund.amount, 0);
  const lost = bundle.disputes.filter((dispute) => DISPUTE_EFFECT[dispute.status] === 'returned');
  return refunded + lost.reduce((sum, dispute) => sum + dispute.amount, 0);
}

/** Status history: created, the PaymentIntent's own outcome, then each refund and dispute in time order. */
function history(bundle: PaymentBundle, base: PaymentStatus): PaymentEvent[] {
  const { intent } = bundle;
  const created = fromUnix(intent.created);
  const events: PaymentEvent[] = [{ status: 'PENDING', at: created, source: 'API', detail: 'created' }];
  if (base !== 'PENDING') {
    const at = intent.canceled_at ?? chargeOf(intent)?.created ?? intent.created;
    const decline =
      base === 'FAILED'
        ? (intent.last_payment_error?.decline_code ?? intent.last_payment_error?.code)
        : undefined;
    events.push({
      status: base,
      at: fromUnix(at),
      source: 'API',
      detail: decline ? `decline:${decline}` : null,
    });
  }
  if (base !== 'SETTLED') return events;
  const steps = [
    ...bundle.refunds.map((refund) => ({
      at: refund.created,
      returned: COUNTED_REFUNDS.has(refund.status) ? refund.amount : 0,
      detail: `refund:${refund.status}`,
    })),
    ...bundle.disputes.map((dispute) => ({
      at: dispute.created,
      returned: DISPUTE_EFFECT[dispute.status] === 'returned' ? dispute.amount : 0,
      detail: `dispute:${dispute.status}`,
    })),
  ].sort((a, b) => a.at - b.at);
  let returned = 0;
  for (const step of steps) {
    returned += step.returned;
    events.push({
      status: settledStatus(intent.amount, returned),
      at: fromUnix(step.at),
      source: 'API',
      detail: step.detail,
    });
  }
  return events;
}

function nextAction(intent: WirePaymentIntent, ctx: MapContext): Payment['nextAction'] {
  if (intent.status !== 'requires_action') return null;
  const action = intent.next_action;
  if (!action) throw violation(ctx, ['next_action: missing on requires_action']);
  if (action.type === 'redirect_to_url') {
    const url = action.redirect_to_url?.url ?? null;
    if (url === null || !/^https?:\/\//.test(url)) {
      throw violation(ctx, ['next_action.redirect_to_url.url: not an http(s) URL']);
    }
    return { type: 'THREE_D_SECURE', url };
  }
  // use_stripe_sdk: the app's Stripe SDK completes it with the client secret (Payment.nextAction.clientSecret).
  return { type: 'THREE_D_SECURE', url: null };
}

/** Refunds and disputes must belong to the PaymentIntent and be in its currency. */
function consistencyIssues(bundle: PaymentBundle): string[] {
  const { intent } = bundle;
  const issues: string[] = [];
  bundle.refunds.forEach((refund, index) => {
    if (idOf(refund.payment_intent) !== intent.id)
      issues.push(`refunds[${index}].payment_intent: not ${intent.id}`);
    if (refund.currency !== intent.currency)
      issues.push(`refunds[${index}].currency: not ${intent.currency}`);
  });
  bundle.disputes.forEach((dispute, index) => {
    if (idOf(dispute.payment_intent) !== intent.id)
      issues.push(`disputes[${index}].payment_intent: not ${intent.id}`);
    if (dispute.currency !== intent.currency)
      issues.push(`disputes[${index}].currency: not ${intent.currency}`);
  });
  return issues;
}

export function amountOf(amount: number, currency: string, ctx: MapContext, path: string): Money {
  try {
    return fromStripeAmount(amount, currency);
  } catch (error) {
    if (!(error instanceof MoneyError)) throw error;
    throw violation(ctx, [`${path}: ${error.message}`]);
  }
}

function violation(ctx: MapContext, issues: string[]) {
  return contractViolation({ partner: 'stripe', endpoint: ctx.endpoint, issues, call: ctx });
}

function fromUnix(seconds: number): Date {
  return new Date(seconds * 1000);
}

/** Stripe's card brand as a canonical scheme; null for `unknown` and brands outside the list. */
export function cardSchemeOf(brand: string): CardScheme | null {
  return (CARD_SCHEMES as readonly string[]).includes(brand) ? (brand as CardScheme) : null;
}
