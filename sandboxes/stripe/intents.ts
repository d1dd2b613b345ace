/**
 * The PaymentIntent lifecycle (https://docs.stripe.com/payments/paymentintents/lifecycle) as the
 * sandbox plays it: confirmation charges the test card and lands in succeeded, requires_capture,
 * requires_action (3-D Secure), processing, or back in requires_payment_method with
 * last_payment_error after a decline; cancel; and the moves the control routes make.
 */
import { paymentMethodObject, testCard, type CardBehaviour } from './cards.js';
import { docUrl, StripeFailure, unexpectedState, type WireError } from './errors.js';
import { chargeObject } from './objects.js';
import { openDispute } from './reversals.js';
import type { IntentStatus, SbCharge, SbIntent, StripeState } from './state.js';

/** Statuses a PaymentIntent can be canceled from (API reference, cancel). */
export const CANCELABLE: readonly IntentStatus[] = [
  'requires_payment_method',
  'requires_capture',
  'requires_confirmation',
  'requires_action',
  'processing',
];

const CONFIRMABLE: readonly IntentStatus[] = [
  'requires_payment_method',
  'requires_confirmation',
  'requires_action',
];

/** Attaches a payment method (a test token clones into a fresh `pm_...`, as at Stripe). */
export function attachPaymentMethod(state: StripeState, intent: SbIntent, token: string): void {
  const known = state.paymentMethods.get(token);
  const card = known ?? testCard(token);
  if (!card) {
    throw new StripeFailure(400, {
      type: 'invalid_request_error',
      code: 'resource_missing',
      doc_url: docUrl('resource_missing'),
      message: `No such PaymentMethod: '${token}'`,
      param: 'payment_method',
    });
  }
  const id = known ? token : state.newId('pm');
  state.paymentMethods.set(id, card);
  intent.payment_method = id;
  if (intent.status === 'requires_payment_method') intent.status = 'requires_confirmation';
}

/**
 * Confirms: charges the card. A decline answers 402 card_error carrying the PaymentIntent (which
 * is left in requires_payment_method with last_payment_error), as Stripe does.
 */
export function confirmIntent(
  state: StripeState,
  intent: SbIntent,
  origin: string,
  returnUrl: string | undefined,
): void {
  if (!CONFIRMABLE.includes(intent.status)) {
    throw unexpectedState(
      `This PaymentIntent's status is ${intent.status}, but it must be one of requires_payment_method, requires_confirmation, or requires_action to be confirmed.`,
    );
  }
  const card = intent.payment_method ? state.paymentMethods.get(intent.payment_method) : undefined;
  if (!card || !intent.payment_method) {
    throw unexpectedState(
      "You cannot confirm this PaymentIntent because it's missing a payment method. To confirm the PaymentIntent with a payment method, pass `payment_method`.",
    );
  }
  intent.last_payment_error = null;
  intent.next_action = null;
  switch (card.outcome) {
    case 'succeed':
      settle(state, intent, card);
      return;
    case 'process':
      intent.status = 'processing';
      intent.latest_charge = newCharge(state, intent, card, 'pending').id;
      return;
    case 'authenticate':
      // Authenticated already (manual confirmation after 3-D Secure): the charge goes through.
      if (AUTHENTICATED.has(intent)) {
        settle(state, intent, card);
        return;
      }
      intent.status = 'requires_action';
      intent.next_action = returnUrl
        ? {
            type: 'redirect_to_url',
            redirect_to_url: {
              url: `${origin}/__sandbox/stripe/authenticate/${intent.id}`,
              return_url: returnUrl,
            },
          }
        : {
            type: 'use_stripe_sdk',
            use_stripe_sdk: {
              type: 'three_d_secure_redirect',
              stripe_js: `${origin}/__sandbox/stripe/authenticate/${intent.id}`,
            },
          };
      return;
    case 'decline': {
      const error = decline(state, intent, card);
      throw new StripeFailure(402, { ...error, payment_intent: structuredClone(intent) });
    }
  }
}

/** PaymentIntents whose customer completed 3-D Secure; confirming them charges the card. */
const AUTHENTICATED = new WeakSet<SbIntent>();

/**
 * The customer completed 3-D Secure: an automatic-confirmation intent is charged at once; a manual one
 * waits in requires_confirmation for the merchant's server to confirm it, as Stripe does.
 */
export function completeAuthentication(state: StripeState, intent: SbIntent): void {
  AUTHENTICATED.add(intent);
  if (intent.confirmation_method !== 'manual') {
    settle(state, intent);
    return;
  }
  intent.status = 'requires_confirmation';
  intent.next_action = null;
}

/** Charges the card successfully: succeeded, or requires_capture for manual capture. */
export function settle(
  state: StripeState,
  intent: SbIntent,
  card: CardBehaviour = cardOf(state, intent),
): void {
  const existing = intent.latest_charge ? state.charges.get(intent.latest_charge) : undefined;
  const charge = existing?.status === 'pending' ? existing : newCharge(state, intent, card, 'succeeded');
  const manual = intent.capture_method === 'manual';
  charge.status = 'succeeded';
  charge.paid = true;
  charge.captured = !manual;
  charge.amount_captured = manual ? 0 : intent.amount;
  charge.balance_transaction = `txn_${charge.id.slice(3)}`;
  charge.receipt_url = `https://pay.stripe.com/receipts/payment/${charge.id}`;
  intent.latest_charge = charge.id;
  intent.next_action = null;
  intent.last_payment_error = null;
  intent.status = manual ? 'requires_capture' : 'succeeded';
  intent.amount_received = manual ? 0 : intent.amount;
  intent.amount_capturable = manual ? intent.amount : 0;
  // The dispute test card: the cardholder disputes the captured charge as fraudulent at once.
  if (card.disputes && !manual && !charge.disputed) {
    openDispute(state, charge, { reason: 'fraudulent', status: 'needs_response' });
  }
}

/** Records a decline (or failed authentication) and returns the PaymentIntent to requires_payment_method. */
export function decline(
  state: StripeState,
  intent: SbIntent,
  card: CardBehaviour,
  declineCode?: string,
): WireError {
  const code = declineCode ? 'card_declined' : (card.code ?? 'card_declined');
  const reason = declineCode ?? card.declineCode ?? 'generic_decline';
  const message = card.message ?? 'Your card was declined.';
  const existing = intent.latest_charge ? state.charges.get(intent.latest_charge) : undefined;
  const charge = existing?.status === 'pending' ? existing : newCharge(state, intent, card, 'failed');
  Object.assign(charge, { status: 'failed', paid: false, failure_code: code, failure_message: message });
  (charge.outcome as Record<string, unknown>).reason = reason;
  intent.latest_charge = charge.id;
  intent.status = 'requires_payment_method';
  intent.next_action = null;
  const error: WireError = {
    charge: charge.id,
    code,
    decline_code: reason,
    doc_url: docUrl(code),
    message,
    payment_method: paymentMethodObject(intent.payment_method ?? '', card, intent.customer, intent.created),
    type: 'card_error',
  };
  intent.last_payment_error = { ...error };
  return error;
}

/** 3-D Secure failed: Stripe reports it as payment_intent_authentication_failure. */
export function failAuthentication(intent: SbIntent): void {
  intent.status = 'requires_payment_method';
  intent.next_action = null;
  intent.last_payment_error = {
    code: 'payment_intent_authentication_failure',
    doc_url: docUrl('payment_intent_authentication_failure'),
    message:
      'The provided PaymentMethod has failed authentication. You can provide payment_method_data or a new PaymentMethod to attempt to fulfill this PaymentIntent again.',
    type: 'invalid_request_error',
  };
}

/** Cancels, or answers 400 payment_intent_unexpected_state as Stripe does. */
export function cancelIntent(state: StripeState, intent: SbIntent, reason: string | null): void {
  if (!CANCELABLE.includes(intent.status)) {
    throw unexpectedState(
      `You cannot cancel this PaymentIntent because it has a status of ${intent.status}. Only a PaymentIntent with one of the following statuses may be canceled: ${CANCELABLE.join(', ')}.`,
    );
  }
  intent.status = 'canceled';
  intent.canceled_at = state.nowSeconds();
  intent.cancellation_reason = reason;
  intent.next_action = null;
  intent.amount_capturable = 0;
}

function cardOf(state: StripeState, intent: SbIntent): CardBehaviour {
  const card = intent.payment_method ? state.paymentMethods.get(intent.payment_method) : undefined;
  return card ?? (testCard('pm_card_visa') as CardBehaviour);
}

function newCharge(
  state: StripeState,
  intent: SbIntent,
  card: CardBehaviour,
  status: SbCharge['status'],
): SbCharge {
  const charge = chargeObject({
    id: state.newId('ch'),
    created: state.nowSeconds(),
    intent,
    status,
    brand: card.brand,
    last4: card.last4,
    failureCode: null,
    failureMessage: null,
    declineCode: null,
  });
  state.charges.set(charge.id, charge);
  state.track(charge.id);
  return charge;
}
