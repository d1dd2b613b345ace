/**
 * Adyen notification items, classified: what each eventCode does to a card payment (total over the
 * published eventCodes of Webhooks-v1.json, `satisfies Record<EventCode, ...>`), which payment an
 * item is about, and the event id the inbox keeps one row per.
 */
import type { EventCode, WireNotificationItem } from './types.js';
import { EVENT_CODES } from './types.js';

/** What a notification does to a payment when `success` is "true" (a failed one changes nothing unless noted). */
export type NotificationEffect =
  | 'authorisation'
  | 'capture'
  | 'cancellation'
  | 'cancel-or-refund'
  | 'refund'
  | 'refund-failed'
  | 'offer-closed'
  | 'dispute'
  | 'payment-event'
  | 'none';

/** eventCode -> effect. `none`: not about a card payment of ours (payouts, reports, orders, ...). */
export const EVENT_EFFECT = {
  AUTHORISATION: 'authorisation',
  CAPTURE: 'capture',
  CAPTURE_FAILED: 'payment-event',
  CANCELLATION: 'cancellation',
  TECHNICAL_CANCEL: 'cancellation',
  CANCEL_OR_REFUND: 'cancel-or-refund',
  REFUND: 'refund',
  REFUND_WITH_DATA: 'none',
  REFUND_FAILED: 'refund-failed',
  REFUNDED_REVERSED: 'refund-failed',
  VOID_PENDING_REFUND: 'refund-failed',
  POSTPONED_REFUND: 'payment-event',
  OFFER_CLOSED: 'offer-closed',
  EXPIRE: 'payment-event',
  CHARGEBACK: 'dispute',
  SECOND_CHARGEBACK: 'dispute',
  PREARBITRATION_LOST: 'dispute',
  CHARGEBACK_REVERSED: 'dispute',
  PREARBITRATION_WON: 'dispute',
  NOTIFICATION_OF_CHARGEBACK: 'dispute',
  PREARBITRATION_OPEN: 'dispute',
  REQUEST_FOR_INFORMATION: 'dispute',
  DISPUTE_DEFENSE_PERIOD_ENDED: 'dispute',
  INFORMATION_SUPPLIED: 'dispute',
  ISSUER_COMMENTS: 'dispute',
  ISSUER_RESPONSE_TIMEFRAME_EXPIRED: 'dispute',
  NOTIFICATION_OF_FRAUD: 'payment-event',
  MANUAL_REVIEW_ACCEPT: 'payment-event',
  MANUAL_REVIEW_REJECT: 'payment-event',
  AUTHORISATION_ADJUSTMENT: 'payment-event',
  AUTHENTICATION: 'none',
  AUTORESCUE: 'none',
  CANCEL_AUTORESCUE: 'none',
  HANDLED_EXTERNALLY: 'none',
  ORDER_CLOSED: 'none',
  ORDER_OPENED: 'none',
  PAIDOUT_REVERSED: 'none',
  PAYOUT_DECLINE: 'none',
  PAYOUT_EXPIRE: 'none',
  PAYOUT_THIRDPARTY: 'none',
  RECURRING_CONTRACT: 'none',
  REPORT_AVAILABLE: 'none',
} as const satisfies Record<EventCode, NotificationEffect>;

/** The effect of an eventCode; a code outside the published list has none. */
export function effectOf(eventCode: string): NotificationEffect {
  return (EVENT_CODES as readonly string[]).includes(eventCode)
    ? EVENT_EFFECT[eventCode as EventCode]
    : 'none';
}

/** The payment a notification is about: the original payment for modifications, else its own reference. */
export function paymentReferenceOf(item: WireNotificationItem): string {
  return item.originalReference && item.originalReference !== '' ? item.originalReference : item.pspReference;
}

/** The inbox id of a notification: Adyen's advice, eventCode and pspReference (with the outcome). */
export function eventIdOf(item: WireNotificationItem): string {
  return `${item.eventCode}:${item.pspReference}:${item.success}`;
}
