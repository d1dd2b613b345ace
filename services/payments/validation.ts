/**
 * Input validation of the money-moving mutations. A failure here is thrown as BAD_USER_INPUT before any
 * idempotency key is claimed, so it is never stored: the client fixes the input and retries with the
 * same key. What comes out is normalised (exact minor units, canonical spellings), which is also what
 * the request fingerprint is computed from.
 */
import type { ProviderName } from '../../domain/model.js';
import type { AuthenticationResult } from '../../domain/providers.js';
import { NotSupportedError } from '../../domain/errors.js';
import { decodeId } from '../../domain/ids.js';
import { isCurrencyCode, MoneyError, parseDecimal, type Money } from '../../domain/money.js';
import { InputError } from '../../domain/errors.js';
import { PaymentRejectedError, userError } from './outcomes.js';
import type { PaymentResult } from './payload.js';

/** A decimal amount as the graph carries it. */
export interface MoneyArgs {
  amount: string;
  currency: string;
}

/** The creditor as the client sends it. */
export interface CreditorArgs {
  name: string;
  sortCode?: string | null;
  accountNumber?: string | null;
  iban?: string | null;
}

/** initiatePayment's input (InitiatePaymentInput in the SDL). */
export interface InitiatePaymentArgs {
  debtorAccountId?: string | null;
  paymentMethodId?: string | null;
  /** The card processor to try first when the route allows it. */
  preferredProcessor?: ProviderName | null;
  amount: MoneyArgs;
  creditor?: CreditorArgs | null;
  reference: string;
}

/** A creditor after validation: trimmed name, digits-only sort code and account number, upper-case IBAN. */
export interface NormalisedCreditor {
  name: string;
  sortCode: string | null;
  accountNumber: string | null;
  iban: string | null;
}

/** A valid initiatePayment request, routed to its provider. */
export interface PaymentOrder {
  provider: ProviderName;
  /** Global id of the debtor account (bank payments). */
  debtorAccountId: string | null;
  debtorPartnerAccountId: string | null;
  paymentMethodId: string | null;
  amount: Money;
  creditor: NormalisedCreditor | null;
  reference: string;
}

const PAYMENT_METHOD = /^[A-Za-z0-9_]{1,255}$/;
/** Open Banking RemittanceInformation.Reference allows 35 characters; the stricter partner wins. */
const REFERENCE = /^[\x20-\x7E]{1,35}$/;
const SORT_CODE = /^\d{6}$/;
const ACCOUNT_NUMBER = /^\d{8}$/;
const IBAN = /^[A-Z]{2}\d{2}[A-Z0-9]{11,30}$/;

/**
 * Parses a positive amount exactly. A currency that is not on ISO 4217's list is refused as
 * UNSUPPORTED_CURRENCY, an amount that is not positive or has more digits than its currency as
 * INVALID_AMOUNT (never rounded): both before any key is claimed or any partner is called.
 * `field` is the amount's path in the mutation, e.g. ["input", "amount"].
 */
export function parseAmount(args: MoneyArgs, field: readonly string[]): Money {
  if (!isCurrencyCode(args.currency)) {
    throw new PaymentRejectedError(
      'UNSUPPORTED_CURRENCY',
      `${JSON.stringify(args.currency)} is not an ISO 4217 currency.`,
      null,
      [...field, 'currency'],
    );
  }
  let amount: Money;
  try {
    amount = parseDecimal(args.amount, args.currency);
  } catch (error) {
    if (error instanceof MoneyError)
      throw new PaymentRejectedError('INVALID_AMOUNT', `The amount is not valid: ${error.message}.`, null, [
        ...field,
      ]);
    throw error;
  }
  if (amount.minor <= 0n)
    throw new PaymentRejectedError('INVALID_AMOUNT', 'The amount must be greater than zero.', null, [
      ...field,
    ]);
  return amount;
}

/**
 * The answer to a refused input (a PaymentRejectedError from validation): the payload's user error,
 * stored under no key, so the client can correct the input and retry with the same key. Null for any
 * other error.
 */
export function inputRefusal(error: unknown): PaymentResult | null {
  if (!(error instanceof PaymentRejectedError) || error.payment) return null;
  const refused = userError(error.userErrorCode, error.message, error.field);
  return { payload: { payment: null, refund: null, userErrors: [refused] }, replayed: false };
}

/** Validates and normalises initiatePayment's input; `cardProvider` handles payment-method payments. */
export function validateInitiate(
  input: InitiatePaymentArgs,
  cardProvider: ProviderName | null,
): PaymentOrder {
  const hasAccount = input.debtorAccountId != null;
  const hasMethod = input.paymentMethodId != null;
  if (hasAccount === hasMethod) {
    throw new InputError('Give exactly one of debtorAccountId and paymentMethodId.', 'input');
  }
  const amount = parseAmount(input.amount, ['input', 'amount']);
  const reference = input.reference.trim();
  if (!REFERENCE.test(reference)) {
    throw new InputError('The reference must be 1 to 35 printable ASCII characters.', 'input.reference');
  }

  if (hasMethod) {
    const paymentMethodId = input.paymentMethodId!;
    if (!PAYMENT_METHOD.test(paymentMethodId)) {
      throw new InputError('The payment method id is not valid.', 'input.paymentMethodId');
    }
    if (input.creditor) {
      throw new InputError('A card payment takes no creditor.', 'input.creditor');
    }
    if (!cardProvider)
      throw new NotSupportedError('this deployment', 'card payments (no card processor is configured)');
    return {
      provider: cardProvider,
      debtorAccountId: null,
      debtorPartnerAccountId: null,
      paymentMethodId,
      amount,
      creditor: null,
      reference,
    };
  }

  const account = decodeId(input.debtorAccountId!, 'Account');
  if (!account) throw new InputError('The debtor account id is not valid.', 'input.debtorAccountId');
  if (!input.creditor) throw new InputError('A bank payment needs a creditor.', 'input.creditor');
  return {
    provider: account.provider,
    debtorAccountId: input.debtorAccountId!,
    debtorPartnerAccountId: account.partnerId,
    paymentMethodId: null,
    amount,
    creditor: validateCreditor(input.creditor),
    reference,
  };
}

function validateCreditor(creditor: CreditorArgs): NormalisedCreditor {
  const name = creditor.name.trim();
  if (name.length === 0 || name.length > 140) {
    throw new InputError("The creditor's name must be 1 to 140 characters.", 'input.creditor.name');
  }
  const sortCode = creditor.sortCode?.replace(/[\s-]/g, '') || null;
  const accountNumber = creditor.accountNumber?.replace(/\s/g, '') || null;
  const iban = creditor.iban?.replace(/\s/g, '').toUpperCase() || null;
  const domestic = sortCode !== null || accountNumber !== null;
  if (domestic === (iban !== null)) {
    throw new InputError('Give either sortCode with accountNumber, or iban.', 'input.creditor');
  }
  if (domestic) {
    if (!sortCode || !SORT_CODE.test(sortCode)) {
      throw new InputError('The sort code must be six digits.', 'input.creditor.sortCode');
    }
    if (!accountNumber || !ACCOUNT_NUMBER.test(accountNumber)) {
      throw new InputError('The account number must be eight digits.', 'input.creditor.accountNumber');
    }
    return { name, sortCode, accountNumber, iban: null };
  }
  if (!IBAN.test(iban!) || !ibanChecksumValid(iban!)) {
    throw new InputError('The IBAN is not valid.', 'input.creditor.iban');
  }
  return { name, sortCode: null, accountNumber: null, iban };
}

/** ISO 13616 check digits: the rearranged IBAN, letters as 10..35, is 1 modulo 97. */
function ibanChecksumValid(iban: string): boolean {
  const rearranged = iban.slice(4) + iban.slice(0, 4);
  let remainder = 0;
  for (const char of rearranged) {
    const value = char >= 'A' ? char.charCodeAt(0) - 55 : Number(char);
    remainder = Number(`${remainder}${value}`) % 97;
  }
  return remainder === 1;
}

/** Adyen's detail names (threeDSResult, redirectResult, MD, PaRes, payload, ...). */
const AUTHENTICATION_NAME = /^[A-Za-z][A-Za-z0-9_]{0,63}$/;
/** A redirectResult is a few kilobytes; anything near this is not a shopper's result. */
const AUTHENTICATION_MAX_LENGTH = 32_768;

/**
 * confirmPayment's `authenticationResult`: the JSON object of strings the processor's client SDK gave
 * the app (at most 16 names), or null when absent. Anything else is BAD_USER_INPUT, before any key is
 * claimed.
 */
export function parseAuthenticationResult(text: string | null | undefined): AuthenticationResult | null {
  if (text == null) return null;
  const field = 'authenticationResult';
  const refuse = (why: string) => new InputError(`authenticationResult ${why}.`, field);
  if (text.length > AUTHENTICATION_MAX_LENGTH) throw refuse(`is longer than ${AUTHENTICATION_MAX_LENGTH}`);
  let parsed: unknown;
  try {
    parsed = JSON.parse(text);
  } catch {
    throw refuse('is not JSON');
  }
  if (parsed === null || typeof parsed !== 'object' || Array.isArray(parsed))
    throw refuse('must be a JSON object');
  const entries = Object.entries(parsed);
  if (entries.length === 0 || entries.length > 16) throw refuse('must have 1 to 16 names');
  const result: Record<string, string> = {};
  for (const [name, value] of entries) {
    if (!AUTHENTICATION_NAME.test(name))
      throw refuse(`has an invalid name ${JSON.stringify(name.slice(0, 64))}`);
    if (typeof value !== 'string' || value.length === 0) throw refuse(`${name} must be a non-empty string`);
    result[name] = value;
  }
  return result;
}
