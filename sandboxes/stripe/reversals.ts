/**
 * Builders of refunds and disputes (the money going back) as Stripe serves them, with every top-level field of Stripe's
 * example objects (partner-specs/stripe/fixtures3.json).
 */
import type { DisputeStatus, SbCharge, SbDispute, SbRefund, StripeState } from './state.js';

/** What a refund is built from. */
export interface RefundInput {
  id: string;
  created: number;
  amount: number;
  charge: SbCharge;
  reason: string | null;
  metadata: Record<string, string>;
}

/** A succeeded card refund as Stripe serves it. */
export function refundObject(input: RefundInput): SbRefund {
  return {
    id: input.id,
    object: 'refund',
    amount: input.amount,
    balance_transaction: `txn_${input.id.slice(3)}`,
    charge: input.charge.id,
    created: input.created,
    currency: input.charge.currency,
    destination_details: {
      card: { reference_status: 'pending', reference_type: 'acquirer_reference_number', type: 'refund' },
      type: 'card',
    },
    metadata: input.metadata,
    payment_intent: input.charge.payment_intent,
    reason: input.reason,
    receipt_number: null,
    source_transfer_reversal: null,
    status: 'succeeded',
    transfer_reversal: null,
    customer: (input.charge.customer as string | null) ?? null,
    customer_account: null,
    payment_method: (input.charge.payment_method as string | null) ?? null,
  };
}

/** What a dispute is built from. */
export interface DisputeInput {
  id: string;
  created: number;
  amount: number;
  charge: SbCharge;
  reason: string;
  status: DisputeStatus;
}

const EVIDENCE_FIELDS = [
  'access_activity_log',
  'billing_address',
  'cancellation_policy',
  'cancellation_policy_disclosure',
  'cancellation_rebuttal',
  'customer_communication',
  'customer_email_address',
  'customer_name',
  'customer_purchase_ip',
  'customer_signature',
  'duplicate_charge_documentation',
  'duplicate_charge_explanation',
  'duplicate_charge_id',
  'product_description',
  'receipt',
  'refund_policy',
  'refund_policy_disclosure',
  'refund_refusal_explanation',
  'service_date',
  'service_documentation',
  'shipping_address',
  'shipping_carrier',
  'shipping_date',
  'shipping_documentation',
  'shipping_tracking_number',
  'uncategorized_file',
  'uncategorized_text',
] as const;

/** A dispute (inquiry or chargeback) as Stripe serves it. */
export function disputeObject(input: DisputeInput): SbDispute {
  const inquiry = input.status.startsWith('warning_');
  const evidence: Record<string, unknown> = Object.fromEntries(EVIDENCE_FIELDS.map((field) => [field, null]));
  evidence.enhanced_evidence = {};
  const card = input.charge.payment_method_details as { card: { brand: string } };
  return {
    id: input.id,
    object: 'dispute',
    amount: input.amount,
    balance_transactions: [],
    charge: input.charge.id,
    created: input.created,
    currency: input.charge.currency,
    evidence,
    evidence_details: {
      due_by: input.created + 14 * 86_400,
      has_evidence: false,
      past_due: false,
      submission_count: 0,
      enhanced_eligibility: {},
    },
    // Inquiries leave the charge refundable; a chargeback does not (Stripe's is_charge_refundable).
    is_charge_refundable: inquiry,
    livemode: false,
    metadata: {},
    payment_intent: input.charge.payment_intent,
    payment_method_details: {
      card: {
        brand: card.card.brand,
        case_type: inquiry ? 'inquiry' : 'chargeback',
        network_reason_code: '10.4',
        network: card.card.brand,
      },
      type: 'card',
    },
    reason: input.reason,
    status: input.status,
    enhanced_eligibility_types: [],
  };
}

/** Opens a dispute on a successful charge, as the card network does when the cardholder complains. */
export function openDispute(
  state: StripeState,
  charge: SbCharge,
  input: { amount?: number; reason: string; status: DisputeStatus },
): SbDispute {
  const dispute = disputeObject({
    id: state.newId('dp'),
    created: state.nowSeconds(),
    amount: input.amount ?? charge.amount,
    charge,
    reason: input.reason,
    status: input.status,
  });
  state.disputes.set(dispute.id, dispute);
  state.track(dispute.id);
  charge.disputed = true;
  return dispute;
}
