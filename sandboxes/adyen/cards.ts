/**
 * Adyen's test cards and how the sandbox decides a payment's outcome, after Adyen's published testing
 * pages (docs.adyen.com/development-resources/testing/test-card-numbers and .../result-codes):
 *
 * - The card number picks the brand and whether 3-D Secure 2 challenges the shopper (4212 3456 7891 0006,
 *   5454 5454 5454 5454) or the issuer redirects (4917 6100 0000 0000, answered with a `redirect` action).
 * - In the test environment the `encrypted*` fields may carry the plain value behind a `test_` prefix
 *   (`encryptedCardNumber: 'test_4111111145551142'`), as Adyen documents for server-side testing; the plain
 *   `number`/`expiryMonth`/`expiryYear`/`cvc` fields are accepted too (the "card-direct" example).
 * - A refusal is asked for through `holderName`, as on Adyen's test platform: DECLINED, NOT_ENOUGH_BALANCE,
 *   CARD_EXPIRED, CVC_DECLINED, BLOCK_CARD, FRAUD... (REFUSALS below); `ERROR` answers resultCode Error.
 * - `storedPaymentMethodId` names a stored card of STORED_METHODS (a shopper's saved Visa), or one of
 *   PORTABLE_METHODS: the test payment method ids Tributary's clients already use with the Stripe sandbox
 *   (`pm_card_visa`, `pm_card_chargeDeclined`, ...), standing for the same test card stored here, the way
 *   an orchestrator's vault or a network token makes one card chargeable at either processor. With them a
 *   routed card payment behaves alike at both processors, so failover can be exercised end to end.
 */

/** Adyen's refusal reasons (docs.adyen.com/development-resources/refusal-reasons) by test holder name. */
export const REFUSALS = {
  DECLINED: { reason: 'Refused', code: '2' },
  REFERRAL: { reason: 'Referral', code: '3' },
  ACQUIRER_ERROR: { reason: 'Acquirer Error', code: '4' },
  BLOCK_CARD: { reason: 'Blocked Card', code: '5' },
  CARD_EXPIRED: { reason: 'Expired Card', code: '6' },
  INVALID_AMOUNT: { reason: 'Invalid Amount', code: '7' },
  INVALID_CARD: { reason: 'Invalid Card Number', code: '8' },
  ISSUER_UNAVAILABLE: { reason: 'Issuer Unavailable', code: '9' },
  NOT_SUPPORTED: { reason: 'Not supported', code: '10' },
  NOT_3D_AUTHENTICATED: { reason: '3D Not Authenticated', code: '11' },
  NOT_ENOUGH_BALANCE: { reason: 'Not enough balance', code: '12' },
  ACQUIRER_FRAUD: { reason: 'Acquirer Fraud', code: '14' },
  CANCELLED: { reason: 'Cancelled', code: '15' },
  SHOPPER_CANCELLED: { reason: 'Shopper Cancelled', code: '16' },
  FRAUD: { reason: 'FRAUD', code: '20' },
  TRANSACTION_NOT_PERMITTED: { reason: 'Transaction Not Permitted', code: '23' },
  CVC_DECLINED: { reason: 'CVC Declined', code: '24' },
  RESTRICTED_CARD: { reason: 'Restricted Card', code: '25' },
  DECLINED_NON_GENERIC: { reason: 'Declined Non Generic', code: '27' },
  WITHDRAWAL_AMOUNT_EXCEEDED: { reason: 'Withdrawal amount exceeded', code: '28' },
  WITHDRAWAL_COUNT_EXCEEDED: { reason: 'Withdrawal count exceeded', code: '29' },
  ISSUER_SUSPECTED_FRAUD: { reason: 'Issuer Suspected Fraud', code: '31' },
  AVS_DECLINED: { reason: 'AVS Declined', code: '32' },
} as const;

export type RefusalName = keyof typeof REFUSALS;

/** What a card does on authorisation when its holder name asks for nothing special. */
export type CardFlow = 'authorise' | 'challenge' | 'redirect';

export interface TestCard {
  number: string;
  /** Adyen's brand / variant code (`visa`, `mc`, `amex`). */
  brand: string;
  flow: CardFlow;
}

/** Adyen's published test cards the sandbox knows (any other number is answered 101 Invalid card number). */
export const TEST_CARDS: readonly TestCard[] = [
  { number: '4111111145551142', brand: 'visa', flow: 'authorise' },
  { number: '4111111111111111', brand: 'visa', flow: 'authorise' },
  { number: '5555341244441115', brand: 'mc', flow: 'authorise' },
  { number: '2222400070000005', brand: 'mc', flow: 'authorise' },
  { number: '370000000000002', brand: 'amex', flow: 'authorise' },
  { number: '4212345678910006', brand: 'visa', flow: 'challenge' },
  { number: '5454545454545454', brand: 'mc', flow: 'challenge' },
  { number: '4917610000000000', brand: 'visa', flow: 'redirect' },
];

/** Stored payment methods of the sandbox's shoppers, by `storedPaymentMethodId`. */
export const STORED_METHODS: Readonly<Record<string, string>> = {
  M5N7TQ4TG5PFWR50: '4111111145551142',
  H8K2RC6ZSJ8LSX82: '5555341244441115',
};

/** Test payment method ids shared with the Stripe sandbox: the card and the holder name that plays it. */
export const PORTABLE_METHODS: Readonly<Record<string, { number: string; holderName: RefusalName | null }>> =
  {
    pm_card_visa: { number: '4111111145551142', holderName: null },
    pm_card_mastercard: { number: '5555341244441115', holderName: null },
    pm_card_chargeDeclined: { number: '4111111145551142', holderName: 'DECLINED' },
    pm_card_chargeDeclinedInsufficientFunds: { number: '4111111145551142', holderName: 'NOT_ENOUGH_BALANCE' },
    pm_card_chargeDeclinedExpiredCard: { number: '4111111145551142', holderName: 'CARD_EXPIRED' },
    pm_card_chargeDeclinedIncorrectCvc: { number: '4111111145551142', holderName: 'CVC_DECLINED' },
    pm_card_authenticationRequired: { number: '4212345678910006', holderName: null },
  };

const card = (number: string, holderName = 'John Smith') => ({
  type: 'scheme',
  encryptedCardNumber: `test_${number}`,
  encryptedExpiryMonth: 'test_03',
  encryptedExpiryYear: 'test_2030',
  encryptedSecurityCode: 'test_737',
  holderName,
});

/**
 * Ready `paymentMethod` values for POST /payments, one per behaviour the sandbox plays, so clients and
 * tests do not repeat card numbers.
 */
export const ADYEN_TEST_METHODS = {
  visa: card('4111111145551142'),
  mastercard: card('5555341244441115'),
  amex: { ...card('370000000000002'), encryptedSecurityCode: 'test_7373' },
  storedVisa: { type: 'scheme', storedPaymentMethodId: 'M5N7TQ4TG5PFWR50' },
  /** ChallengeShopper with a threeDS2 action; finish it with the /__sandbox/adyen/3ds control route. */
  visaChallenge: card('4212345678910006'),
  mastercardChallenge: card('5454545454545454'),
  /** RedirectShopper with a redirect action to the sandbox's issuer page. */
  visaRedirect: card('4917610000000000'),
  declined: card('4111111145551142', 'DECLINED'),
  insufficientFunds: card('4111111145551142', 'NOT_ENOUGH_BALANCE'),
  expired: card('4111111145551142', 'CARD_EXPIRED'),
  cvcDeclined: card('4111111145551142', 'CVC_DECLINED'),
  blocked: card('4111111145551142', 'BLOCK_CARD'),
  fraud: card('4111111145551142', 'FRAUD'),
  /** resultCode Error (an acquirer failure rather than a refusal). */
  error: card('4111111145551142', 'ERROR'),
} as const;

/** What the sandbox read from a request's paymentMethod. */
export type CardReading =
  | { ok: true; card: TestCard; holderName: string | null; expiry: string }
  | { ok: false; errorCode: string; message: string };

/** Reads a scheme paymentMethod: the test card it names, or the validation error Adyen answers. */
export function readCard(method: Record<string, unknown>): CardReading {
  if (method.type !== undefined && method.type !== 'scheme') {
    return { ok: false, errorCode: '905', message: 'Payment details are not supported' };
  }
  const plain = (field: string, encrypted: string): string | null => {
    const value = method[field] ?? method[encrypted];
    if (typeof value !== 'string') return null;
    return value.startsWith('test_') ? value.slice(5) : value;
  };
  const stored = method.storedPaymentMethodId;
  const portable = typeof stored === 'string' ? PORTABLE_METHODS[stored] : undefined;
  const number =
    typeof stored === 'string'
      ? (STORED_METHODS[stored] ?? portable?.number ?? null)
      : plain('number', 'encryptedCardNumber');
  if (number === null) {
    return typeof stored === 'string'
      ? { ok: false, errorCode: '800', message: 'Contract not found' }
      : { ok: false, errorCode: '101', message: 'Invalid card number' };
  }
  const found = TEST_CARDS.find((known) => known.number === number.replace(/\s/g, ''));
  if (!found) return { ok: false, errorCode: '101', message: 'Invalid card number' };
  const month = plain('expiryMonth', 'encryptedExpiryMonth') ?? '03';
  const year = plain('expiryYear', 'encryptedExpiryYear') ?? '2030';
  if (!/^\d{1,2}$/.test(month) || !/^\d{4}$/.test(year)) {
    return { ok: false, errorCode: '129', message: 'Expiry Date Invalid' };
  }
  const holderName =
    typeof method.holderName === 'string' ? method.holderName : (portable?.holderName ?? null);
  return { ok: true, card: found, holderName, expiry: `${Number(month)}/${year}` };
}

/** The refusal a holder name asks for, if any. */
export function refusalOf(holderName: string | null): (typeof REFUSALS)[RefusalName] | null {
  if (!holderName) return null;
  const key = holderName.trim().toUpperCase();
  return key in REFUSALS ? REFUSALS[key as RefusalName] : null;
}
