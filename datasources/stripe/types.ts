/**
 * Stripe wire shapes Tributary consumes, as zod schemas derived from Stripe's example objects
 * (partner-specs/stripe/fixtures3.json) and the API reference: the fields we read are required and
 * typed, their enums closed (an unknown status is a contract violation, never a silent default);
 * fields we do not read are accepted and dropped. These types never leave datasources/stripe/.
 */
import { z } from 'zod';

/** Unix seconds. */
const timestamp = z.number().int().nonnegative();
/** Stripe amounts: integers in the currency's smallest unit as Stripe counts it (see mapper.ts). */
const minorUnits = z.number().int().nonnegative();
/** Stripe writes currencies as lower-case ISO 4217 codes. */
const currency = z.string().regex(/^[a-z]{3}$/);
const metadata = z.record(z.string(), z.string());
/** An id, or the object it names when expanded. */
const idOrObject = z.union([z.string(), z.object({ id: z.string() })]);

/** PaymentIntent statuses (https://docs.stripe.com/payments/paymentintents/lifecycle). */
export const PAYMENT_INTENT_STATUSES = [
  'requires_payment_method',
  'requires_confirmation',
  'requires_action',
  'processing',
  'requires_capture',
  'canceled',
  'succeeded',
] as const;
/** One of PAYMENT_INTENT_STATUSES. */
export type PaymentIntentStatus = (typeof PAYMENT_INTENT_STATUSES)[number];

/** Refund statuses (API reference, "The Refund object"). */
export const REFUND_STATUSES = ['pending', 'requires_action', 'succeeded', 'failed', 'canceled'] as const;
/** One of REFUND_STATUSES. */
export type RefundStatus = (typeof REFUND_STATUSES)[number];

/** Dispute statuses (API reference, "The Dispute object"). */
export const DISPUTE_STATUSES = [
  'warning_needs_response',
  'warning_under_review',
  'warning_closed',
  'needs_response',
  'under_review',
  'won',
  'lost',
  'prevented',
] as const;
/** One of DISPUTE_STATUSES. */
export type DisputeStatus = (typeof DISPUTE_STATUSES)[number];

/**
 * Dispute reasons (API reference, "The Dispute object"). The schema leaves `reason` open, so a payment
 * read never fails on a reason Stripe adds; the dispute mapper reports one it does not know.
 */
export const DISPUTE_REASONS = [
  'bank_cannot_process',
  'check_returned',
  'credit_not_processed',
  'customer_initiated',
  'debit_not_authorized',
  'duplicate',
  'fraudulent',
  'general',
  'incorrect_account_details',
  'insufficient_funds',
  'noncompliant',
  'product_not_received',
  'product_unacceptable',
  'subscription_canceled',
  'unrecognized',
] as const;
/** One of DISPUTE_REASONS. */
export type DisputeReason = (typeof DISPUTE_REASONS)[number];

/** Charge statuses. */
export const CHARGE_STATUSES = ['succeeded', 'pending', 'failed'] as const;

/** The error types of Stripe's error object (API reference, "Errors"). */
export const ERROR_TYPES = ['api_error', 'card_error', 'idempotency_error', 'invalid_request_error'] as const;

/** A charge, as the expanded `latest_charge` of a PaymentIntent. */
export const chargeSchema = z.object({
  id: z.string().startsWith('ch_'),
  object: z.literal('charge'),
  amount: minorUnits,
  amount_captured: minorUnits,
  amount_refunded: minorUnits,
  currency,
  created: timestamp,
  status: z.enum(CHARGE_STATUSES),
  paid: z.boolean(),
  refunded: z.boolean(),
  disputed: z.boolean(),
  payment_intent: z.string().nullable(),
  failure_code: z.string().nullable(),
});
/** A validated charge. */
export type WireCharge = z.infer<typeof chargeSchema>;

const lastPaymentErrorSchema = z.object({
  type: z.enum(ERROR_TYPES),
  code: z.string().optional(),
  decline_code: z.string().optional(),
  message: z.string().optional(),
});
/** A PaymentIntent's last_payment_error. */
export type WireLastPaymentError = z.infer<typeof lastPaymentErrorSchema>;

const nextActionSchema = z.object({
  type: z.string().min(1),
  redirect_to_url: z.object({ url: z.string().nullable(), return_url: z.string().nullable() }).optional(),
});

/** A PaymentIntent. */
export const paymentIntentSchema = z.object({
  id: z.string().startsWith('pi_'),
  object: z.literal('payment_intent'),
  amount: minorUnits,
  amount_capturable: minorUnits,
  amount_received: minorUnits,
  currency,
  customer: idOrObject.nullable(),
  created: timestamp,
  status: z.enum(PAYMENT_INTENT_STATUSES),
  canceled_at: timestamp.nullable(),
  /** The secret the client SDK completes 3-D Secure with; served to the payment's owner, never stored. */
  client_secret: z.string().min(1).nullable().optional(),
  confirmation_method: z.enum(['automatic', 'manual']).optional(),
  cancellation_reason: z.string().nullable(),
  capture_method: z.enum(['automatic', 'automatic_async', 'manual']),
  description: z.string().nullable(),
  last_payment_error: lastPaymentErrorSchema.nullable(),
  latest_charge: z.union([z.string(), chargeSchema]).nullable(),
  livemode: z.boolean(),
  metadata,
  next_action: nextActionSchema.nullable(),
  payment_method: idOrObject.nullable(),
});
/** A validated PaymentIntent. */
export type WirePaymentIntent = z.infer<typeof paymentIntentSchema>;

/** A refund. */
export const refundSchema = z.object({
  id: z.string().startsWith('re_'),
  object: z.literal('refund'),
  amount: minorUnits,
  currency,
  created: timestamp,
  status: z.enum(REFUND_STATUSES),
  charge: idOrObject.nullable(),
  payment_intent: idOrObject.nullable(),
  reason: z.string().nullable(),
  metadata: metadata.nullable(),
});
/** A validated refund. */
export type WireRefund = z.infer<typeof refundSchema>;

/** A dispute (chargeback or inquiry). */
export const disputeSchema = z.object({
  id: z.string().startsWith('dp_'),
  object: z.literal('dispute'),
  amount: minorUnits,
  currency,
  created: timestamp,
  status: z.enum(DISPUTE_STATUSES),
  reason: z.string(),
  charge: idOrObject,
  payment_intent: idOrObject.nullable(),
  is_charge_refundable: z.boolean(),
  /** `due_by`: until when evidence is accepted; null once no response is expected. */
  evidence_details: z.object({ due_by: timestamp.nullable() }),
  livemode: z.boolean(),
  metadata,
});
/** A validated dispute. */
export type WireDispute = z.infer<typeof disputeSchema>;

/** A PaymentMethod, as far as routing reads it: a card's scheme and issuing country. */
export const paymentMethodSchema = z.object({
  id: z.string().startsWith('pm_'),
  object: z.literal('payment_method'),
  type: z.string(),
  /** Present for `type: card`; `country` is null when Stripe does not know the issuer's. */
  card: z
    .object({
      brand: z.string().regex(/^[a-z_]{1,32}$/),
      country: z
        .string()
        .regex(/^[A-Z]{2}$/)
        .nullable(),
    })
    .nullable()
    .optional(),
  livemode: z.boolean(),
});
/** A validated PaymentMethod. */
export type WirePaymentMethod = z.infer<typeof paymentMethodSchema>;

/** A customer. */
export const customerSchema = z.object({
  id: z.string().startsWith('cus_'),
  object: z.literal('customer'),
  created: timestamp,
  email: z.string().nullable(),
  name: z.string().nullable(),
  livemode: z.boolean(),
  metadata,
});
/** A validated customer. */
export type WireCustomer = z.infer<typeof customerSchema>;

/** Stripe's list envelope (https://docs.stripe.com/api/pagination). */
export function listSchema<T extends z.ZodType>(item: T) {
  return z.object({ object: z.literal('list'), data: z.array(item), has_more: z.boolean(), url: z.string() });
}
/** A validated list envelope. */
export interface WireList<T> {
  object: 'list';
  data: T[];
  has_more: boolean;
  url: string;
}

/** The search envelope (customers search). */
export function searchResultSchema<T extends z.ZodType>(item: T) {
  return z.object({
    object: z.literal('search_result'),
    data: z.array(item),
    has_more: z.boolean(),
    next_page: z.string().nullable(),
    url: z.string(),
  });
}

/** The error object inside `{ error: ... }` (API reference, "Errors"). */
export const errorObjectSchema = z.object({
  type: z.enum(ERROR_TYPES),
  code: z.string().optional(),
  decline_code: z.string().optional(),
  message: z.string().optional(),
  param: z.string().optional(),
  doc_url: z.string().optional(),
  request_log_url: z.string().optional(),
  charge: z.string().optional(),
  payment_intent: z.unknown().optional(),
});
/** A validated error object. */
export type WireError = z.infer<typeof errorObjectSchema>;

/** An error answer's body. */
export const errorResponseSchema = z.object({ error: errorObjectSchema });

/** The id of an id-or-object field. */
export function idOf(value: string | { id: string } | null): string | null {
  if (value === null) return null;
  return typeof value === 'string' ? value : value.id;
}
