/**
 * Adyen -> canonical Payment. Adyen Checkout has no "get payment" endpoint, so a payment is what the
 * module recorded of Adyen's synchronous answers (AdyenPaymentRecord, store.ts) folded with the
 * HMAC-verified notifications about it, in event order.
 *
 * Capture: Tributary's card payments are sales, created with `captureDelayHours: 0`, so Adyen captures
 * at authorisation; `Authorised` is SETTLED (Stripe's `succeeded`), and a cancel only applies to a
 * payment not authorised yet. Refunds are asked synchronously (`received`: PENDING) and decided by the
 * REFUND / REFUND_FAILED notifications. A dispute (disputes.ts) leaves the status alone while open
 * (it may be won); a lost one counts as money returned to the cardholder, like a refund. Every
 * notification adds a history event.
 *
 * Both mappings are total (`satisfies Record<...>`, RESULT_STATUS here and EVENT_EFFECT in events.ts):
 * a resultCode that is no card-payment outcome (PresentToShopper, PartiallyAuthorised, ...) is a
 * contract violation, never a silent default.
 */
import type { Logger } from 'pino';
import type { Payment, PaymentEvent, PaymentStatus, Refund } from '../../domain/model.js';
import { encodeId } from '../../domain/ids.js';
import { exponentOf, money, type Money } from '../../domain/money.js';
import { contractViolation } from '../contract.js';
import { mapDispute } from './disputes.js';
import { declineOf } from './errors.js';
import { effectOf } from './events.js';
import type { ResultCode, WireAmount, WireNotificationItem } from './types.js';

/** Where a mapping happens, for contract-violation logs. */
export interface MapContext {
  logger: Logger;
  correlationId: string;
  endpoint: string;
}

/** What the module keeps of a payment's synchronous answers (the `record` column of adyen_payments). */
export interface AdyenPaymentRecord {
  pspReference: string;
  merchantReference: string;
  amount: WireAmount;
  /** The payment's reference (Adyen `shopperStatement`-free description: our `reference`). */
  reference: string;
  creditorName: string | null;
  createdAt: string;
  updatedAt: string;
  /** When Adyen gave the recorded resultCode. */
  answeredAt: string;
  resultCode: ResultCode;
  refusalReason: string | null;
  refusalReasonCode: string | null;
  /** The action Adyen asked the shopper to take (3-D Secure), as Adyen sent it; null without one. */
  action: Record<string, unknown> | null;
  /** Refunds asked and answered `received`; their outcome comes by notification. */
  refunds: { pspReference: string; amount: WireAmount; requestedAt: string }[];
  cancelRequestedAt: string | null;
}

/** resultCode -> canonical status; null: not an outcome a card payment may have (a violation). */
export const RESULT_STATUS = {
  Authorised: 'SETTLED',
  Refused: 'FAILED',
  Error: 'FAILED',
  Cancelled: 'CANCELLED',
  ChallengeShopper: 'REQUIRES_ACTION',
  IdentifyShopper: 'REQUIRES_ACTION',
  RedirectShopper: 'REQUIRES_ACTION',
  Pending: 'PROCESSING',
  Received: 'PROCESSING',
  // Never asked for: authentication-only flows, partial authorisation, vouchers, non-card methods.
  AuthenticationFinished: null,
  AuthenticationNotRequired: null,
  PartiallyAuthorised: null,
  PresentToShopper: null,
  Success: null,
} as const satisfies Record<ResultCode, PaymentStatus | null>;

const RANK: Record<PaymentStatus, number> = {
  PENDING: 0,
  REQUIRES_ACTION: 1,
  PROCESSING: 2,
  AUTHORISED: 3,
  SETTLED: 4,
  PARTIALLY_REFUNDED: 5,
  REFUNDED: 6,
  FAILED: 7,
  CANCELLED: 7,
};
const before = (status: PaymentStatus, than: PaymentStatus) => RANK[status] < RANK[than];

/** Canonical money from an Adyen amount (minor units as ISO 4217 counts them). */
export function fromAdyenAmount(amount: WireAmount): Money {
  return money(amount.value, amount.currency);
}

/** Canonical money as an Adyen amount; throws RangeError when it cannot be one. */
export function toAdyenAmount(value: Money): WireAmount {
  exponentOf(value.currency);
  if (value.minor <= 0n || value.minor > BigInt(Number.MAX_SAFE_INTEGER)) throw new RangeError('amount');
  return { value: Number(value.minor), currency: value.currency };
}

/** Folds the record and its notifications into the canonical payment of `subject`. */
export function mapPayment(
  subject: string,
  record: AdyenPaymentRecord,
  notifications: readonly WireNotificationItem[],
  ctx: MapContext,
): Payment {
  const base = RESULT_STATUS[record.resultCode];
  if (base === null) throw violation(ctx, [`resultCode: ${record.resultCode} is no card-payment outcome`]);
  const amount = moneyOf(record.amount, ctx, 'amount');
  const createdAt = new Date(record.createdAt);
  const events: PaymentEvent[] = [{ status: 'PENDING', at: createdAt, source: 'API', detail: 'created' }];
  let status: PaymentStatus = base;
  let failureReason = base === 'FAILED' ? declineOf(record.refusalReasonCode, record.refusalReason) : null;
  // Every resultCode is past PENDING: the synchronous answer is the payment's first step.
  const detail = record.refusalReasonCode
    ? `refusal:${record.refusalReasonCode}`
    : `result:${record.resultCode}`;
  events.push({ status: base, at: new Date(record.answeredAt), source: 'API', detail });
  const refunds = new Map<string, Refund>();
  for (const asked of record.refunds) {
    const refundAmount = moneyOf(asked.amount, ctx, `refunds.${asked.pspReference}`);
    refunds.set(asked.pspReference, {
      id: asked.pspReference,
      amount: refundAmount,
      status: 'PENDING',
      createdAt: new Date(asked.requestedAt),
    });
  }
  let chargedBack = 0;
  const disputeItems: WireNotificationItem[] = [];
  const ordered = [...notifications].sort((a, b) => Date.parse(a.eventDate) - Date.parse(b.eventDate));
  for (const item of ordered) {
    const effect = effectOf(item.eventCode);
    if (effect === 'none') continue;
    const ok = item.success === 'true';
    const at = Number.isNaN(Date.parse(item.eventDate)) ? createdAt : new Date(item.eventDate);
    const issues = itemIssues(item, record);
    if (issues.length > 0) throw violation(ctx, issues, 'error');
    switch (effect) {
      case 'authorisation':
        if (ok && before(status, 'SETTLED')) status = 'SETTLED';
        if (!ok && before(status, 'SETTLED')) {
          status = 'FAILED';
          failureReason = declineOf(null, item.reason ?? null);
        }
        break;
      case 'capture':
        if (ok && before(status, 'SETTLED')) status = 'SETTLED';
        break;
      case 'cancellation':
        if (ok && before(status, 'SETTLED')) status = 'CANCELLED';
        break;
      case 'cancel-or-refund':
        if (ok && before(status, 'SETTLED')) status = 'CANCELLED';
        else if (ok) refunds.set(item.pspReference, refundOf(item, 'SUCCEEDED', refunds, ctx));
        break;
      case 'refund':
        refunds.set(item.pspReference, refundOf(item, ok ? 'SUCCEEDED' : 'FAILED', refunds, ctx));
        break;
      case 'refund-failed':
        if (ok) refunds.set(item.pspReference, refundOf(item, 'FAILED', refunds, ctx));
        break;
      case 'offer-closed':
        if (ok && before(status, 'AUTHORISED')) {
          status = 'FAILED';
          failureReason = 'AUTHENTICATION_FAILED';
        }
        break;
      case 'dispute':
        disputeItems.push(item);
        chargedBack = lostAmount(disputeItems);
        break;
      case 'payment-event':
        break;
    }
    const shown = status === 'SETTLED' ? settled(record, refunds, chargedBack) : status;
    events.push({ status: shown, at, source: 'WEBHOOK', detail: `${item.eventCode}:${item.success}` });
  }
  const finalStatus = status === 'SETTLED' ? settled(record, refunds, chargedBack) : status;
  return {
    id: encodeId('Payment', 'adyen', record.pspReference),
    provider: 'adyen',
    partnerId: record.pspReference,
    ownerId: subject,
    status: finalStatus,
    amount,
    debtorAccountId: null,
    creditor: record.creditorName
      ? { name: record.creditorName, sortCode: null, accountNumber: null, iban: null }
      : null,
    reference: record.reference,
    createdAt,
    updatedAt: new Date(Math.max(...events.map((event) => event.at.getTime()))),
    failureReason: finalStatus === 'FAILED' ? (failureReason ?? 'DECLINED') : null,
    nextAction: finalStatus === 'REQUIRES_ACTION' ? nextActionOf(record.action, ctx) : null,
    events,
    refunds: [...refunds.values()],
  };
}

/** What the app needs to finish 3-D Secure: Adyen's redirect URL, or none (the Drop-in takes the action). */
export function nextActionOf(action: Record<string, unknown> | null, ctx: MapContext): Payment['nextAction'] {
  if (!action) throw violation(ctx, ['action: missing while the shopper must act']);
  if (action.type === 'redirect') {
    const url = typeof action.url === 'string' ? action.url : '';
    if (!/^https?:\/\//.test(url)) throw violation(ctx, ['action.url: not an http(s) URL']);
    return { type: 'THREE_D_SECURE', url };
  }
  if (action.type === 'threeDS2') return { type: 'THREE_D_SECURE', url: null };
  throw violation(ctx, [`action.type: ${String(action.type)} is no card-payment action`]);
}

/** What lost disputes took back, each dispute (its own pspReference) counted once, at its last amount. */
function lostAmount(items: readonly WireNotificationItem[]): number {
  const byDispute = new Map<string, WireNotificationItem[]>();
  for (const item of items)
    byDispute.set(item.pspReference, [...(byDispute.get(item.pspReference) ?? []), item]);
  let lost = 0;
  for (const dispute of byDispute.values()) {
    const mapped = mapDispute(dispute, new Date(0));
    if (mapped?.status === 'LOST') lost += Number(mapped.amount.minor);
  }
  return Math.min(lost, Number.MAX_SAFE_INTEGER);
}

function settled(
  record: AdyenPaymentRecord,
  refunds: Map<string, Refund>,
  chargedBack: number,
): PaymentStatus {
  const refunded = [...refunds.values()]
    .filter((refund) => refund.status === 'PENDING' || refund.status === 'SUCCEEDED')
    .reduce((sum, refund) => sum + Number(refund.amount.minor), 0);
  const returned = refunded + chargedBack;
  if (returned <= 0) return 'SETTLED';
  return returned >= record.amount.value ? 'REFUNDED' : 'PARTIALLY_REFUNDED';
}

function refundOf(
  item: WireNotificationItem,
  status: Refund['status'],
  known: Map<string, Refund>,
  ctx: MapContext,
): Refund {
  const asked = known.get(item.pspReference);
  return {
    id: item.pspReference,
    amount: asked?.amount ?? moneyOf(item.amount, ctx, `notification ${item.pspReference}.amount`),
    status,
    createdAt: asked?.createdAt ?? new Date(Date.parse(item.eventDate) || 0),
  };
}

/** A notification about other money than the payment's is not ours to apply. */
function itemIssues(item: WireNotificationItem, record: AdyenPaymentRecord): string[] {
  const issues: string[] = [];
  const where = `notification ${item.eventCode} ${item.pspReference}`;
  if (item.amount.currency !== record.amount.currency)
    issues.push(`${where}.amount.currency: not ${record.amount.currency}`);
  if (item.eventCode === 'AUTHORISATION' && item.amount.value !== record.amount.value)
    issues.push(`${where}.amount.value: ${item.amount.value}, the payment is ${record.amount.value}`);
  if (item.amount.value > record.amount.value) issues.push(`${where}.amount.value: more than the payment`);
  return issues;
}

function moneyOf(amount: WireAmount, ctx: MapContext, path: string): Money {
  try {
    return fromAdyenAmount(amount);
  } catch (error) {
    throw violation(ctx, [`${path}: ${(error as Error).message}`]);
  }
}

function violation(ctx: MapContext, issues: string[], level: 'warn' | 'error' = 'warn') {
  return contractViolation({ partner: 'adyen', endpoint: ctx.endpoint, issues, call: ctx, level });
}
