/**
 * Stripe's test payment methods (https://docs.stripe.com/testing): each `pm_card_*` token stands for a
 * card that behaves one way on confirmation. `pm_sandbox_processing` is this sandbox's own addition:
 * cards settle at once at Stripe, so a payment that stays `processing` until a control route settles
 * it needs a token of its own.
 */

export type CardOutcome = 'succeed' | 'decline' | 'authenticate' | 'process';

/** How a test card behaves when a PaymentIntent using it is confirmed. */
export interface CardBehaviour {
  token: string;
  outcome: CardOutcome;
  brand: string;
  last4: string;
  /** The charge succeeds, then the cardholder disputes it as fraudulent (Stripe's 4000 0000 0000 0259). */
  disputes?: boolean;
  /** For declines: the error code and the issuer's decline code, as Stripe reports them. */
  code?: string;
  declineCode?: string;
  message?: string;
}

const CARDS: readonly CardBehaviour[] = [
  { token: 'pm_card_visa', outcome: 'succeed', brand: 'visa', last4: '4242' },
  { token: 'pm_card_mastercard', outcome: 'succeed', brand: 'mastercard', last4: '4444' },
  { token: 'pm_card_createDispute', outcome: 'succeed', brand: 'visa', last4: '0259', disputes: true },
  {
    token: 'pm_card_chargeDeclined',
    outcome: 'decline',
    brand: 'visa',
    last4: '0002',
    code: 'card_declined',
    declineCode: 'generic_decline',
    message: 'Your card was declined.',
  },
  {
    token: 'pm_card_chargeDeclinedInsufficientFunds',
    outcome: 'decline',
    brand: 'visa',
    last4: '9995',
    code: 'card_declined',
    declineCode: 'insufficient_funds',
    message: 'Your card has insufficient funds.',
  },
  {
    token: 'pm_card_chargeDeclinedExpiredCard',
    outcome: 'decline',
    brand: 'visa',
    last4: '0069',
    code: 'expired_card',
    declineCode: 'expired_card',
    message: 'Your card has expired.',
  },
  {
    token: 'pm_card_chargeDeclinedIncorrectCvc',
    outcome: 'decline',
    brand: 'visa',
    last4: '0127',
    code: 'incorrect_cvc',
    declineCode: 'incorrect_cvc',
    message: "Your card's security code is incorrect.",
  },
  { token: 'pm_card_authenticationRequired', outcome: 'authenticate', brand: 'visa', last4: '3184' },
  { token: 'pm_sandbox_processing', outcome: 'process', brand: 'visa', last4: '1629' },
];

const BY_TOKEN = new Map(CARDS.map((card) => [card.token, card]));

/** The behaviour of a test token, or undefined for an unknown one. */
export function testCard(token: string): CardBehaviour | undefined {
  return BY_TOKEN.get(token);
}

/** The tokens this sandbox knows, for documentation and tests. */
export const TEST_PAYMENT_METHODS = CARDS.map((card) => card.token);

/** A PaymentMethod object as Stripe embeds it in `last_payment_error.payment_method`. */
export function paymentMethodObject(
  id: string,
  card: CardBehaviour,
  customer: string | null,
  created: number,
) {
  return {
    id,
    object: 'payment_method',
    billing_details: { address: null, email: null, name: null, phone: null },
    card: {
      brand: card.brand,
      checks: { address_line1_check: null, address_postal_code_check: null, cvc_check: 'pass' },
      country: 'US',
      exp_month: 12,
      exp_year: 2034,
      funding: 'credit',
      last4: card.last4,
    },
    created,
    customer,
    livemode: false,
    metadata: {},
    type: 'card',
  };
}
