/**
 * Adyen wire shapes Tributary consumes, as zod schemas derived from Adyen's published OpenAPI specs
 * (partner-specs/adyen/CheckoutService-v71.json and Webhooks-v1.json): the fields we read are required
 * and typed, their enums closed (an unknown resultCode is a contract violation, never a silent default);
 * fields we do not read are accepted and dropped. These types never leave datasources/adyen/.
 */
import { z } from 'zod';

/** Adyen amounts: an integer in the currency's minor unit and an upper-case ISO 4217 code. */
export const amountSchema = z.object({
  value: z.number().int().nonnegative(),
  currency: z.string().regex(/^[A-Z]{3}$/),
});
/** A validated amount. */
export type WireAmount = z.infer<typeof amountSchema>;

/** PaymentResponse.resultCode (CheckoutService-v71, PaymentResponse and PaymentDetailsResponse). */
export const RESULT_CODES = [
  'AuthenticationFinished',
  'AuthenticationNotRequired',
  'Authorised',
  'Cancelled',
  'ChallengeShopper',
  'Error',
  'IdentifyShopper',
  'PartiallyAuthorised',
  'Pending',
  'PresentToShopper',
  'Received',
  'RedirectShopper',
  'Refused',
  'Success',
] as const;
/** One of RESULT_CODES. */
export type ResultCode = (typeof RESULT_CODES)[number];

/** The actions a card payment may ask the shopper to take (CheckoutThreeDS2Action, CheckoutRedirectAction). */
const threeDs2ActionSchema = z.object({
  type: z.literal('threeDS2'),
  subtype: z.string().optional(),
  token: z.string().optional(),
  authorisationToken: z.string().optional(),
  paymentData: z.string().optional(),
  paymentMethodType: z.string().optional(),
  url: z.string().optional(),
});
const redirectActionSchema = z.object({
  type: z.literal('redirect'),
  url: z.string(),
  method: z.string().optional(),
  paymentData: z.string().optional(),
  paymentMethodType: z.string().optional(),
});
/** Any other action type names itself; the mapper refuses it for a card payment. */
const otherActionSchema = z.object({ type: z.string() });
export const actionSchema = z.union([threeDs2ActionSchema, redirectActionSchema, otherActionSchema]);
/** A validated action. */
export type WireAction = z.infer<typeof actionSchema>;

/** POST /payments and POST /payments/details answers (PaymentResponse, PaymentDetailsResponse). */
export const paymentResponseSchema = z.object({
  pspReference: z.string().regex(/^[A-Za-z0-9]{1,64}$/),
  resultCode: z.enum(RESULT_CODES),
  merchantReference: z.string().optional(),
  amount: amountSchema.optional(),
  action: actionSchema.optional(),
  refusalReason: z.string().optional(),
  refusalReasonCode: z.string().optional(),
  additionalData: z.record(z.string(), z.unknown()).optional(),
});
/** A validated payment answer. */
export type WirePaymentResponse = z.infer<typeof paymentResponseSchema>;

/** POST /payments/{paymentPspReference}/cancels answer (PaymentCancelResponse). */
export const cancelResponseSchema = z.object({
  pspReference: z.string().min(1),
  paymentPspReference: z.string().min(1),
  merchantAccount: z.string().min(1),
  status: z.literal('received'),
});
export type WireCancelResponse = z.infer<typeof cancelResponseSchema>;

/** POST /payments/{paymentPspReference}/refunds answer (PaymentRefundResponse). */
export const refundResponseSchema = z.object({
  pspReference: z.string().min(1),
  paymentPspReference: z.string().min(1),
  merchantAccount: z.string().min(1),
  amount: amountSchema,
  status: z.literal('received'),
});
export type WireRefundResponse = z.infer<typeof refundResponseSchema>;

/** Adyen's error body (ServiceError). */
export const serviceErrorSchema = z.object({
  status: z.number().int(),
  errorCode: z.string(),
  message: z.string().optional(),
  errorType: z.string().optional(),
  pspReference: z.string().optional(),
});
export type WireServiceError = z.infer<typeof serviceErrorSchema>;

/** Every eventCode of the standard webhooks (Webhooks-v1.json, the union of the items' enums). */
export const EVENT_CODES = [
  'AUTHENTICATION',
  'AUTHORISATION',
  'AUTHORISATION_ADJUSTMENT',
  'AUTORESCUE',
  'CANCELLATION',
  'CANCEL_AUTORESCUE',
  'CANCEL_OR_REFUND',
  'CAPTURE',
  'CAPTURE_FAILED',
  'CHARGEBACK',
  'CHARGEBACK_REVERSED',
  'DISPUTE_DEFENSE_PERIOD_ENDED',
  'EXPIRE',
  'HANDLED_EXTERNALLY',
  'INFORMATION_SUPPLIED',
  'ISSUER_COMMENTS',
  'ISSUER_RESPONSE_TIMEFRAME_EXPIRED',
  'MANUAL_REVIEW_ACCEPT',
  'MANUAL_REVIEW_REJECT',
  'NOTIFICATION_OF_CHARGEBACK',
  'NOTIFICATION_OF_FRAUD',
  'OFFER_CLOSED',
  'ORDER_CLOSED',
  'ORDER_OPENED',
  'PAIDOUT_REVERSED',
  'PAYOUT_DECLINE',
  'PAYOUT_EXPIRE',
  'PAYOUT_THIRDPARTY',
  'POSTPONED_REFUND',
  'PREARBITRATION_LOST',
  'PREARBITRATION_OPEN',
  'PREARBITRATION_WON',
  'RECURRING_CONTRACT',
  'REFUND',
  'REFUNDED_REVERSED',
  'REFUND_FAILED',
  'REFUND_WITH_DATA',
  'REPORT_AVAILABLE',
  'REQUEST_FOR_INFORMATION',
  'SECOND_CHARGEBACK',
  'TECHNICAL_CANCEL',
  'VOID_PENDING_REFUND',
] as const;
/** One of EVENT_CODES. */
export type EventCode = (typeof EVENT_CODES)[number];

/**
 * One NotificationRequestItem. `success` is the string "true" or "false"; `amount.value` an integer;
 * `additionalData.hmacSignature` the base64 HMAC the verifier checks (webhook.ts). `eventCode` stays an
 * open string here: a code Adyen adds later is acknowledged and ignored, not refused (Adyen would
 * redeliver a refused notification for days).
 */
export const notificationItemSchema = z.object({
  pspReference: z.string().min(1),
  originalReference: z.string().optional(),
  merchantAccountCode: z.string().min(1),
  merchantReference: z.string(),
  eventCode: z.string().min(1),
  eventDate: z.string().min(1),
  amount: amountSchema,
  success: z.enum(['true', 'false']),
  reason: z.string().optional(),
  additionalData: z.record(z.string(), z.unknown()).optional(),
});
/** A validated notification item. */
export type WireNotificationItem = z.infer<typeof notificationItemSchema>;

/** The body of one delivery: `{ live, notificationItems: [{ NotificationRequestItem }] }`. */
export const notificationRequestSchema = z.object({
  live: z.enum(['true', 'false']),
  notificationItems: z.array(z.object({ NotificationRequestItem: z.unknown() })).min(1),
});
