/**
 * Plaid wire -> canonical. Every mapping is total over the spec's enums; a value the canonical model
 * cannot hold (no ISO currency, more decimals than the currency has, no balance at all) is a contract
 * violation naming the payload path, never a default.
 *
 * Sign conventions (DESIGN §5: canonical negative = money out of the account):
 * - Transaction `amount`: Plaid positive = money out -> canonical negative; Plaid negative = money in.
 * - Balance `current`: for credit and loan accounts Plaid reports the amount owed as a positive number;
 *   canonically that is a debt, so it is negated. Depository and investment balances keep their sign.
 * - Balance `available`: what the customer can still spend or withdraw (for a credit card: limit minus
 *   owed), a positive amount for every account type, so it keeps Plaid's sign.
 */
import type { Account, AccountType, Balance, Freshness, Transaction } from '../../domain/model.js';
import { encodeId } from '../../domain/ids.js';
import {
  fromJsonNumber,
  isCurrencyCode,
  MoneyError,
  negate,
  type Money,
  type Rounding,
} from '../../domain/money.js';
import type { PlaidStoredTransaction } from './copy.js';
import { contractViolation } from '../contract.js';
import type { PlaidAccount, PlaidAccountSubtype, PlaidAccountType, PlaidTransaction } from './types.js';

/** Where a payload came from, for the contract-violation issues. */
export interface MapSource {
  endpoint: string;
  /** Path of the object in the payload, e.g. "accounts[2]". */
  path: string;
}

const DEPOSITORY_SUBTYPES: Partial<Record<PlaidAccountSubtype, AccountType>> = {
  checking: 'CURRENT',
  savings: 'SAVINGS',
};

/** Account type per Plaid type; depository accounts are told apart by subtype. */
const ACCOUNT_TYPES = {
  depository: (subtype) => (subtype === null ? 'OTHER' : (DEPOSITORY_SUBTYPES[subtype] ?? 'OTHER')),
  credit: () => 'CREDIT_CARD',
  loan: () => 'LOAN',
  investment: () => 'OTHER',
  brokerage: () => 'OTHER',
  other: () => 'OTHER',
} satisfies Record<PlaidAccountType, (subtype: PlaidAccountSubtype | null) => AccountType>;

/** Account types whose `current` balance is an amount owed. */
const OWED_BALANCE = {
  depository: false,
  credit: true,
  loan: true,
  investment: false,
  brokerage: false,
  other: false,
} satisfies Record<PlaidAccountType, boolean>;

/** Canonical account type of a Plaid type and subtype. */
export function accountTypeOf(type: PlaidAccountType, subtype: PlaidAccountSubtype | null): AccountType {
  return ACCOUNT_TYPES[type](subtype);
}

/** The ISO currency of a balance or transaction; Plaid's unofficial codes (crypto...) cannot be money here. */
function currencyOf(
  value: { iso_currency_code: string | null; unofficial_currency_code: string | null },
  source: MapSource,
): string {
  const code = value.iso_currency_code;
  if (code !== null && isCurrencyCode(code)) return code;
  if (code !== null)
    throw violation(source, 'iso_currency_code', `not an ISO 4217 currency: ${JSON.stringify(code)}`);
  if (value.unofficial_currency_code !== null) {
    throw violation(
      source,
      'unofficial_currency_code',
      `unofficial currency ${JSON.stringify(value.unofficial_currency_code)} is not supported`,
    );
  }
  throw violation(source, 'iso_currency_code', 'missing: neither an ISO nor an unofficial currency code');
}

function amountOf(
  value: number,
  currency: string,
  source: MapSource,
  field: string,
  rounding: Rounding,
): Money {
  try {
    return fromJsonNumber(value, currency, rounding);
  } catch (error) {
    if (error instanceof MoneyError) throw violation(source, field, error.message);
    throw error;
  }
}

function violation(source: MapSource, field: string, message: string) {
  // No call here: the caller reports it (mapReported), where the call is known.
  return contractViolation({
    partner: 'plaid',
    endpoint: source.endpoint,
    issues: [`${source.path}.${field}: ${message}`],
  });
}

/** Only the last four characters ever leave the process (DESIGN §5). */
function lastFour(mask: string | null): string | null {
  return mask === null || mask === '' ? null : mask.slice(-4);
}

/** A Plaid account as the canonical Account of `ownerId`. */
export function toAccount(
  wire: PlaidAccount,
  ownerId: string,
  freshness: Freshness,
  source: MapSource,
): Account {
  return {
    id: encodeId('Account', 'plaid', wire.account_id),
    provider: 'plaid',
    partnerId: wire.account_id,
    ownerId,
    name: wire.name,
    type: accountTypeOf(wire.type, wire.subtype),
    currency: currencyOf(wire.balances, { ...source, path: `${source.path}.balances` }),
    maskedNumber: lastFour(wire.mask),
    freshness,
  };
}

/**
 * A Plaid account's balances as the canonical Balance. Plaid may send `current: null` from
 * /accounts/balance/get, and then guarantees `available`: for money the customer holds, the available
 * amount stands in for it; for a debt (credit, loan) nothing says what is owed, so the balance cannot
 * be built and that is a contract violation rather than a guess.
 * Balances may carry more decimals than the currency (investment valuations): rounded half-even.
 */
export function toBalance(wire: PlaidAccount, freshness: Freshness, source: MapSource): Balance {
  const path = { ...source, path: `${source.path}.balances` };
  const currency = currencyOf(wire.balances, path);
  const { current, available, last_updated_datetime: updated } = wire.balances;
  const owed = OWED_BALANCE[wire.type];
  let balance: Money;
  if (current !== null) {
    const amount = amountOf(current, currency, path, 'current', 'half-even');
    balance = owed ? negate(amount) : amount;
  } else if (available !== null && !owed) {
    balance = amountOf(available, currency, path, 'available', 'half-even');
  } else {
    throw violation(
      path,
      'current',
      owed ? 'null on a credit or loan account' : 'both current and available are null',
    );
  }
  return {
    accountId: encodeId('Account', 'plaid', wire.account_id),
    current: balance,
    available: available === null ? null : amountOf(available, currency, path, 'available', 'half-even'),
    asOf: updated ? new Date(updated) : freshness.asOf,
    freshness,
  };
}

const utcDate = (date: string) => new Date(`${date}T00:00:00Z`);

/**
 * A Plaid transaction as kept in the local copy. A posted transaction is booked on `datetime` (or its
 * posting `date`), a pending one at its authorisation; the value date is the posting date, so pending
 * ones have none. Amounts with more decimals than the currency has are a contract violation.
 */
export function toStoredTransaction(wire: PlaidTransaction, source: MapSource): PlaidStoredTransaction {
  const currency = currencyOf(wire, source);
  const bookedAt = wire.pending
    ? (wire.authorized_datetime ?? wire.datetime ?? utcDate(wire.authorized_date ?? wire.date))
    : (wire.datetime ?? utcDate(wire.date));
  return {
    transactionId: wire.transaction_id,
    accountId: wire.account_id,
    amount: negate(amountOf(wire.amount, currency, source, 'amount', 'reject')),
    status: wire.pending ? 'PENDING' : 'BOOKED',
    pendingTransactionId: wire.pending_transaction_id,
    description: wire.name,
    merchantName: wire.merchant_name ?? null,
    category: wire.personal_finance_category?.primary ?? wire.category?.[0] ?? null,
    bookedAt: typeof bookedAt === 'string' ? new Date(bookedAt) : bookedAt,
    valueDate: wire.pending ? null : utcDate(wire.date),
  };
}

/**
 * A transaction of the local copy as the canonical Transaction of `ownerId`; `freshness` says when
 * the copy last heard from Plaid (one object shared by the whole answer).
 */
export function toTransaction(
  stored: PlaidStoredTransaction,
  ownerId: string,
  freshness: Freshness,
): Transaction {
  return {
    id: encodeId('Transaction', 'plaid', stored.transactionId),
    provider: 'plaid',
    partnerId: stored.transactionId,
    ownerId,
    accountId: encodeId('Account', 'plaid', stored.accountId),
    amount: { ...stored.amount },
    status: stored.status,
    description: stored.description,
    merchantName: stored.merchantName,
    bookedAt: stored.bookedAt,
    valueDate: stored.valueDate,
    category: stored.category,
    freshness,
  };
}

/** Every account of an /accounts/get answer; one bad account fails the whole answer. */
export function toAccounts(
  accounts: readonly PlaidAccount[],
  ownerId: string,
  freshness: Freshness,
  endpoint: string,
): Account[] {
  return accounts.map((wire, index) =>
    toAccount(wire, ownerId, freshness, { endpoint, path: `accounts[${index}]` }),
  );
}

/** The balances of the requested accounts of an /accounts/balance/get answer, by Plaid account id. */
export function toBalances(
  accounts: readonly PlaidAccount[],
  wanted: ReadonlySet<string>,
  freshness: Freshness,
  endpoint: string,
): Map<string, Balance> {
  const out = new Map<string, Balance>();
  accounts.forEach((wire, index) => {
    if (wanted.has(wire.account_id)) {
      out.set(wire.account_id, toBalance(wire, freshness, { endpoint, path: `accounts[${index}]` }));
    }
  });
  return out;
}
