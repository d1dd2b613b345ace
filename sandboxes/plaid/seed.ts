/**
 * Builds the seeded institution data from seed-data.ts as Plaid wire objects. Deterministic: the same
 * options give the same accounts, transactions and ids.
 */
import {
  ACCOUNT_PROFILES,
  extraProfile,
  SEED_BASE_DATE,
  type AccountProfile,
  type TxTemplate,
} from './seed-data.js';
import {
  isoDate,
  isoDateTime,
  stableId,
  toWireAmount,
  type WireAccount,
  type WireTransaction,
} from './wire.js';

export { SEED_BASE_DATE } from './seed-data.js';

const DAY = 24 * 3_600_000;

/** One customer's accounts and transactions (oldest transaction first). */
export interface CustomerSeed {
  customer: string;
  accounts: WireAccount[];
  /** Minor-unit exponent per account id, for transactions added later through the control routes. */
  exponents: Map<string, number>;
  transactions: WireTransaction[];
}

/** The Plaid account id of a seeded account key, e.g. "alice-checking". */
export function accountIdOf(key: string): string {
  return stableId(`plaid/account/${key}`);
}

/** The account ids of the fixed seed, per customer, in seed order. */
export const SEEDED_ACCOUNTS: Readonly<Record<string, readonly string[]>> = Object.freeze(
  ACCOUNT_PROFILES.reduce<Record<string, string[]>>((acc, profile) => {
    (acc[profile.customer] ??= []).push(accountIdOf(profile.key));
    return acc;
  }, {}),
);

/** Everything needed to write one transaction the way Plaid does. */
export interface TransactionInput {
  transactionId: string;
  accountId: string;
  /** Plaid's signed float: positive = money out. */
  amount: number;
  currency: string;
  name: string;
  merchant: string | null;
  channel: WireTransaction['payment_channel'];
  pfc: [string, string] | null;
  legacy: [string[], string] | null;
  city?: [string, string, string];
  date: Date;
  withTime: boolean;
  pending: boolean;
  pendingTransactionId: string | null;
}

/** A complete wire transaction (every field the spec requires, nullable ones as null). */
export function wireTransaction(input: TransactionInput): WireTransaction {
  const [city, region, postal] = input.city ?? [null, null, null];
  const authorised = new Date(input.date.getTime() - (input.pending ? 0 : DAY));
  return {
    account_id: input.accountId,
    account_owner: null,
    amount: input.amount,
    iso_currency_code: input.currency,
    unofficial_currency_code: null,
    category: input.legacy ? [...input.legacy[0]] : null,
    category_id: input.legacy ? input.legacy[1] : null,
    check_number: null,
    date: isoDate(input.date),
    datetime: input.withTime && !input.pending ? isoDateTime(input.date) : null,
    authorized_date: isoDate(authorised),
    authorized_datetime: input.withTime ? isoDateTime(authorised) : null,
    location: {
      address: null,
      city,
      region,
      postal_code: postal,
      country: input.city ? countryOf(input.currency) : null,
      lat: null,
      lon: null,
      store_number: null,
    },
    name: input.name,
    merchant_name: input.merchant,
    merchant_entity_id: input.merchant ? stableId(`plaid/merchant/${input.merchant}`) : null,
    logo_url: null,
    website: null,
    payment_meta: {
      reference_number: null,
      ppd_id: null,
      payee: null,
      by_order_of: null,
      payer: null,
      payment_method: null,
      payment_processor: null,
      reason: null,
    },
    payment_channel: input.channel,
    pending: input.pending,
    pending_transaction_id: input.pendingTransactionId,
    personal_finance_category: input.pfc
      ? { primary: input.pfc[0], detailed: input.pfc[1], confidence_level: 'VERY_HIGH' }
      : null,
    transaction_id: input.transactionId,
    transaction_code: null,
    transaction_type:
      input.channel === 'online' ? 'digital' : input.channel === 'in store' ? 'place' : 'special',
  };
}

function countryOf(currency: string): string {
  return currency === 'JPY' ? 'JP' : currency === 'BHD' ? 'BH' : 'US';
}

/** Builds every customer; `extraAccounts` adds that many checking accounts to each named customer. */
export function buildSeed(extraAccounts: Record<string, number> = {}): Map<string, CustomerSeed> {
  const profiles = [...ACCOUNT_PROFILES];
  for (const [customer, count] of Object.entries(extraAccounts)) {
    for (let index = 0; index < count; index++) profiles.push(extraProfile(customer, index));
  }
  const customers = new Map<string, CustomerSeed>();
  for (const profile of profiles) {
    let seed = customers.get(profile.customer);
    if (!seed) {
      seed = { customer: profile.customer, accounts: [], exponents: new Map(), transactions: [] };
      customers.set(profile.customer, seed);
    }
    const accountId = accountIdOf(profile.key);
    if (seed.exponents.has(accountId)) throw new Error(`duplicate seeded account ${profile.key}`);
    seed.accounts.push(toAccount(profile, accountId));
    seed.exponents.set(accountId, profile.exponent);
    seed.transactions.push(...toTransactions(profile, accountId));
  }
  for (const seed of customers.values()) {
    // Oldest first: the order a fresh /transactions/sync reports them as added.
    seed.transactions.sort(
      (a, b) => a.date.localeCompare(b.date) || a.transaction_id.localeCompare(b.transaction_id),
    );
  }
  return customers;
}

function toAccount(profile: AccountProfile, accountId: string): WireAccount {
  const amount = (minor: number | null) => (minor === null ? null : toWireAmount(minor, profile.exponent));
  return {
    account_id: accountId,
    balances: {
      available: amount(profile.balance.available),
      current: amount(profile.balance.current),
      limit: amount(profile.balance.limit),
      iso_currency_code: profile.currency,
      unofficial_currency_code: null,
    },
    mask: profile.mask,
    name: profile.name,
    official_name: profile.officialName,
    type: profile.type,
    subtype: profile.subtype,
    holder_category: 'personal',
  };
}

function toTransactions(profile: AccountProfile, accountId: string): WireTransaction[] {
  return profile.transactions.map((seed, index) => {
    const template: TxTemplate = seed.template;
    const hours = (index * 7) % 9;
    return wireTransaction({
      transactionId: stableId(`plaid/transaction/${profile.key}/${index}`),
      accountId,
      amount: toWireAmount(seed.minor, profile.exponent),
      currency: profile.currency,
      name: template.name,
      merchant: template.merchant,
      channel: template.channel,
      pfc: [...template.pfc],
      legacy: [[...template.legacy[0]], template.legacy[1]],
      ...(template.city ? { city: [...template.city] } : {}),
      date: new Date(SEED_BASE_DATE.getTime() - seed.daysAgo * DAY - hours * 3_600_000),
      withTime: seed.withTime ?? false,
      pending: seed.pending ?? false,
      pendingTransactionId: null,
    });
  });
}
