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
  /** The issuing country (ISO 3166-1 alpha-2); absent: US, as Stripe's domestic test cards. */
  country?: string;
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
  { token: 'pm_card_amex', outcome: 'succeed', brand: 'amex', last4: '8431' },
  // International cards (docs.stripe.com/testing#international-cards).
  { token: 'pm_card_gb', outcome: 'succeed', brand: 'visa', last4: '0000', country: 'GB' },
  { token: 'pm_card_de', outcome: 'succeed', brand: 'visa', last4: '0016', country: 'DE' },
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

/** A PaymentMethod object, as `GET /v1/payment_methods/{id}` answers and errors embed it. */
export function paymentMethodObject(
  id: string,
  card: CardBehaviour,
  customer: string | null,
  created: number,
) {
  return {
    id,
    object: 'payment_method',
    allow_redisplay: 'unspecified',
    billing_details: { address: null, email: null, name: null, phone: null, tax_id: null },
    card: {
      brand: card.brand,
      checks: { address_line1_check: null, address_postal_code_check: null, cvc_check: 'pass' },
      country: card.country ?? 'US',
      display_brand: card.brand,
      exp_month: 12,
      exp_year: 2034,
      fingerprint: `sbx${card.token.replace(/[^A-Za-z0-9]/g, '').slice(-13)}`,
      funding: 'credit',
      generated_from: null,
      last4: card.last4,
      networks: { available: [card.brand], preferred: null },
      regulated_status: null,
      three_d_secure_usage: { supported: true },
      wallet: null,
    },
    created,
    customer,
    customer_account: null,
    livemode: false,
    metadata: {},
    type: 'card',
  };
}
