/**
 * Adyen disputes (chargebacks, requests for information, pre-arbitration) -> canonical Dispute. Adyen
 * reports a dispute only by notification: each item of the dispute family carries the dispute's own
 * pspReference (its id), the disputed payment in `originalReference`, the amount, and the scheme's
 * reason code in `additionalData.chargebackReasonCode`. The dispute is the fold of its notifications in
 * event order: the last one says where it is (DISPUTE_STATUS, total over the family).
 *
 * Money: as for Stripe's disputes, an open dispute leaves the payment alone (it may be won); a LOST one
 * counts as money returned to the cardholder, like a refund (mapper.ts).
 */
import type { Dispute, DisputeReason, DisputeStatus } from '../../domain/model.js';
import { money } from '../../domain/money.js';
import type { WireNotificationItem } from './types.js';

/** The eventCodes about a dispute, and where each leaves it. */
export const DISPUTE_STATUS = {
  REQUEST_FOR_INFORMATION: 'NEEDS_RESPONSE',
  NOTIFICATION_OF_CHARGEBACK: 'NEEDS_RESPONSE',
  CHARGEBACK: 'NEEDS_RESPONSE',
  INFORMATION_SUPPLIED: 'UNDER_REVIEW',
  ISSUER_COMMENTS: 'UNDER_REVIEW',
  PREARBITRATION_OPEN: 'UNDER_REVIEW',
  // The merchant did not defend in time: the chargeback stands.
  DISPUTE_DEFENSE_PERIOD_ENDED: 'LOST',
  SECOND_CHARGEBACK: 'LOST',
  PREARBITRATION_LOST: 'LOST',
  // The issuer did not answer the defence in time: the merchant keeps the money.
  ISSUER_RESPONSE_TIMEFRAME_EXPIRED: 'WON',
  CHARGEBACK_REVERSED: 'WON',
  PREARBITRATION_WON: 'WON',
} as const satisfies Record<string, DisputeStatus>;
/** One of DISPUTE_STATUS's eventCodes. */
export type DisputeEventCode = keyof typeof DISPUTE_STATUS;

/** Whether an eventCode is about a dispute. */
export function isDisputeEvent(eventCode: string): eventCode is DisputeEventCode {
  return Object.hasOwn(DISPUTE_STATUS, eventCode);
}

/**
 * Scheme reason codes -> canonical reasons: Visa's families (10 fraud, 11 authorisation, 12 processing
 * errors, 13 consumer disputes) and Mastercard's codes. The codes are the schemes' own and open-ended:
 * one outside these tables is OTHER.
 */
const REASON_CODES: Readonly<Record<string, DisputeReason>> = {
  '12.6.1': 'DUPLICATE',
  '13.1': 'PRODUCT_NOT_RECEIVED',
  '13.2': 'SUBSCRIPTION_CANCELED',
  '13.3': 'PRODUCT_UNACCEPTABLE',
  '13.6': 'CREDIT_NOT_PROCESSED',
  '13.7': 'CREDIT_NOT_PROCESSED',
  '4837': 'FRAUDULENT',
  '4840': 'FRAUDULENT',
  '4849': 'FRAUDULENT',
  '4863': 'UNRECOGNIZED',
  '4870': 'FRAUDULENT',
  '4871': 'FRAUDULENT',
  '4808': 'AUTHORISATION',
  '4812': 'AUTHORISATION',
  '4834': 'DUPLICATE',
  '4831': 'PROCESSING_ERROR',
  '4842': 'PROCESSING_ERROR',
  '4846': 'PROCESSING_ERROR',
  '4855': 'PRODUCT_NOT_RECEIVED',
  '4853': 'PRODUCT_UNACCEPTABLE',
  '4841': 'SUBSCRIPTION_CANCELED',
  '4860': 'CREDIT_NOT_PROCESSED',
};
const VISA_FAMILIES: Readonly<Record<string, DisputeReason>> = {
  '10': 'FRAUDULENT',
  '11': 'AUTHORISATION',
  '12': 'PROCESSING_ERROR',
  '13': 'GENERAL',
};

/** The canonical reason of a scheme reason code. */
export function disputeReasonOf(code: string | null): DisputeReason {
  if (!code) return 'OTHER';
  return REASON_CODES[code] ?? VISA_FAMILIES[code.split('.')[0] ?? ''] ?? 'OTHER';
}

const stringOf = (item: WireNotificationItem, field: string): string | null => {
  const value = item.additionalData?.[field];
  return typeof value === 'string' && value !== '' ? value : null;
};
const dateOf = (value: string | null): Date | null => {
  const at = value ? Date.parse(value) : Number.NaN;
  return Number.isNaN(at) ? null : new Date(at);
};

/** Folds a dispute's notifications (all with its pspReference) into the canonical dispute; null: none. */
export function mapDispute(items: readonly WireNotificationItem[], now: Date): Dispute | null {
  const ordered = items
    .filter((item) => isDisputeEvent(item.eventCode))
    .sort((a, b) => Date.parse(a.eventDate) - Date.parse(b.eventDate));
  const first = ordered[0];
  const last = ordered.at(-1);
  if (!first || !last) return null;
  const status = DISPUTE_STATUS[last.eventCode as DisputeEventCode];
  const open = status === 'NEEDS_RESPONSE';
  const reasonCode = ordered.map((item) => stringOf(item, 'chargebackReasonCode')).findLast(Boolean) ?? null;
  return {
    id: first.pspReference,
    provider: 'adyen',
    partnerId: first.pspReference,
    partnerPaymentId: first.originalReference ?? null,
    amount: money(last.amount.value, last.amount.currency),
    reason: disputeReasonOf(reasonCode),
    status,
    evidenceDueBy: open ? dateOf(stringOf(last, 'defensePeriodEndsAt')) : null,
    openedAt: dateOf(first.eventDate) ?? now,
    updatedAt: dateOf(last.eventDate) ?? now,
  };
}
