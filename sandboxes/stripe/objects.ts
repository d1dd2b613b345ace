/**
 * Builders of the customers, PaymentIntents, charges and lists the sandbox serves (refunds and
 * disputes: reversals.ts), with every top-level field of Stripe's own example
 * objects (partner-specs/stripe/fixtures3.json), so a client validating against Stripe's shapes sees
 * the same keys and types from the sandbox as from Stripe.
 */
import type { SbCharge, SbCustomer, SbIntent } from './state.js';

const NULL_ADDRESS = { city: null, country: null, line1: null, line2: null, postal_code: null, state: null };

/** What a new customer is built from. */
export interface CustomerInput {
  id: string;
  created: number;
  email: string | null;
  name: string | null;
  description: string | null;
  metadata: Record<string, string>;
}

/** A customer as Stripe serves it. */
export function customerObject(input: CustomerInput): SbCustomer {
  return {
    id: input.id,
    object: 'customer',
    address: null,
    balance: 0,
    created: input.created,
    currency: null,
    default_source: null,
    delinquent: false,
    description: input.description,
    discount: null,
    email: input.email,
    invoice_prefix: input.id.slice(4, 12).toUpperCase(),
    invoice_settings: {
      custom_fields: null,
      default_payment_method: null,
      footer: null,
      rendering_options: null,
    },
    livemode: false,
    metadata: input.metadata,
    name: input.name,
    next_invoice_sequence: 1,
    phone: null,
    preferred_locales: [],
    shipping: null,
    tax_exempt: 'none',
    test_clock: null,
  };
}

/** What a new PaymentIntent is built from. */
export interface IntentInput {
  id: string;
  created: number;
  amount: number;
  currency: string;
  customer: string | null;
  description: string | null;
  metadata: Record<string, string>;
  captureMethod: SbIntent['capture_method'];
  confirmationMethod?: 'automatic' | 'manual';
  paymentMethod: string | null;
}

/** A new PaymentIntent as Stripe serves it (requires_payment_method or requires_confirmation). */
export function intentObject(input: IntentInput): SbIntent {
  return {
    id: input.id,
    object: 'payment_intent',
    amount: input.amount,
    amount_capturable: 0,
    amount_details: { tip: {} },
    amount_received: 0,
    application: null,
    application_fee_amount: null,
    automatic_payment_methods: null,
    canceled_at: null,
    cancellation_reason: null,
    capture_method: input.captureMethod,
    client_secret: `${input.id}_secret_${input.id.slice(3).split('').reverse().join('')}`,
    confirmation_method: input.confirmationMethod ?? 'automatic',
    created: input.created,
    currency: input.currency,
    customer: input.customer,
    description: input.description,
    last_payment_error: null,
    latest_charge: null,
    livemode: false,
    metadata: input.metadata,
    next_action: null,
    on_behalf_of: null,
    payment_method: input.paymentMethod,
    payment_method_configuration_details: null,
    payment_method_options: {
      card: { installments: null, mandate_options: null, network: null, request_three_d_secure: 'automatic' },
    },
    payment_method_types: ['card'],
    processing: null,
    receipt_email: null,
    review: null,
    setup_future_usage: null,
    shipping: null,
    statement_descriptor: null,
    statement_descriptor_suffix: null,
    status: input.paymentMethod ? 'requires_confirmation' : 'requires_payment_method',
    transfer_data: null,
    transfer_group: null,
    source: null,
    excluded_payment_method_types: null,
    customer_account: null,
    managed_payments: { enabled: false },
  };
}

/** What a charge of a PaymentIntent's confirmation is built from. */
export interface ChargeInput {
  id: string;
  created: number;
  intent: SbIntent;
  status: SbCharge['status'];
  brand: string;
  last4: string;
  failureCode: string | null;
  failureMessage: string | null;
  declineCode: string | null;
}

/** A charge as Stripe serves it (the expanded `latest_charge`). */
export function chargeObject(input: ChargeInput): SbCharge {
  const { intent } = input;
  const succeeded = input.status === 'succeeded';
  return {
    id: input.id,
    object: 'charge',
    amount: intent.amount,
    amount_captured: succeeded ? intent.amount : 0,
    amount_refunded: 0,
    application: null,
    application_fee: null,
    application_fee_amount: null,
    balance_transaction: succeeded ? `txn_${input.id.slice(3)}` : null,
    billing_details: { address: NULL_ADDRESS, email: null, name: null, phone: null, tax_id: null },
    calculated_statement_descriptor: 'TRIBUTARY',
    captured: succeeded,
    created: input.created,
    currency: intent.currency,
    customer: intent.customer,
    description: intent.description,
    disputed: false,
    failure_balance_transaction: null,
    failure_code: input.failureCode,
    failure_message: input.failureMessage,
    fraud_details: {},
    livemode: false,
    metadata: { ...intent.metadata },
    on_behalf_of: null,
    outcome: {
      advice_code: null,
      network_advice_code: null,
      network_decline_code: null,
      network_status: input.status === 'failed' ? 'declined_by_network' : 'approved_by_network',
      reason: input.declineCode,
      seller_message:
        input.status === 'failed' ? 'The bank did not return any further details.' : 'Payment complete.',
      type: input.status === 'failed' ? 'issuer_declined' : 'authorized',
    },
    paid: succeeded,
    payment_intent: intent.id,
    payment_method: intent.payment_method,
    payment_method_details: {
      card: {
        brand: input.brand,
        country: 'US',
        exp_month: 12,
        exp_year: 2034,
        funding: 'credit',
        last4: input.last4,
      },
      type: 'card',
    },
    receipt_email: null,
    receipt_number: null,
    receipt_url: succeeded ? `https://pay.stripe.com/receipts/payment/${input.id}` : null,
    refunded: false,
    refunds: { object: 'list', data: [], has_more: false, url: `/v1/charges/${input.id}/refunds` },
    review: null,
    shipping: null,
    source_transfer: null,
    statement_descriptor: null,
    statement_descriptor_suffix: null,
    status: input.status,
    transfer_data: null,
    transfer_group: null,
    source: null,
  };
}

/** Stripe's list envelope. */
export function listObject<T>(url: string, data: T[], hasMore: boolean) {
  return { object: 'list' as const, data, has_more: hasMore, url };
}
