/**
 * The seeded customers, accounts and transactions of the Plaid sandbox. Everything is fixed: no
 * randomness, every date an offset from SEED_BASE_DATE, so fixtures recorded from the sandbox stay stable.
 * Amounts follow Plaid's convention: positive = money out of the account, negative = money in.
 */
import { EVERYDAY, INCOME, series, T, type TxSeed } from './seed-templates.js';
import type { WireAccountType } from './wire.js';

export type { TxSeed, TxTemplate } from './seed-templates.js';

/** The instant all seeded dates are relative to. */
export const SEED_BASE_DATE = new Date('2025-03-14T12:00:00Z');

/** Plaid's own sandbox institutions (same ids and names as sandbox.plaid.com). */
export const INSTITUTIONS: Readonly<Record<string, string>> = {
  ins_109508: 'First Platypus Bank',
  ins_109509: 'First Gingham Credit Union',
  ins_109510: 'Tattersall Federal Credit Union',
};

export interface AccountProfile {
  /** Stable key the account id is derived from, e.g. "alice-checking". */
  key: string;
  customer: string;
  name: string;
  officialName: string | null;
  type: WireAccountType;
  subtype: string | null;
  mask: string | null;
  currency: string;
  exponent: number;
  /** Minor units; Plaid's sign conventions (credit and loan `current` = amount owed, positive). */
  balance: { current: number; available: number | null; limit: number | null };
  transactions: TxSeed[];
}

/** The fixed seed. cust_alice and cust_bob are the demo customers; cust_carol covers every account kind. */
export const ACCOUNT_PROFILES: readonly AccountProfile[] = [
  {
    key: 'alice-checking',
    customer: 'cust_alice',
    name: 'Plaid Checking',
    officialName: 'Plaid Gold Standard 0% Interest Checking',
    type: 'depository',
    subtype: 'checking',
    mask: '0000',
    currency: 'USD',
    exponent: 2,
    balance: { current: 124567, available: 118012, limit: null },
    transactions: series(16, EVERYDAY, INCOME, { creditEvery: 5, pending: 2 }),
  },
  {
    key: 'alice-credit',
    customer: 'cust_alice',
    name: 'Plaid Credit Card',
    officialName: 'Plaid Diamond 12.5% APR Interest Credit Card',
    type: 'credit',
    subtype: 'credit card',
    mask: '3333',
    currency: 'USD',
    exponent: 2,
    balance: { current: 43210, available: 456790, limit: 500000 },
    transactions: series(15, EVERYDAY, [[T.cardPayment, 50000]], { creditEvery: 6, pending: 2 }),
  },
  {
    key: 'bob-checking',
    customer: 'cust_bob',
    name: 'Everyday Checking',
    officialName: 'Tattersall Everyday Checking',
    type: 'depository',
    subtype: 'checking',
    mask: '1111',
    currency: 'USD',
    exponent: 2,
    balance: { current: 52030, available: 52030, limit: null },
    transactions: series(15, EVERYDAY.slice(2), INCOME, { creditEvery: 4, pending: 1 }),
  },
  {
    key: 'carol-savings',
    customer: 'cust_carol',
    name: 'Plaid Saving',
    officialName: 'Plaid Silver Standard 0.1% Interest Saving',
    type: 'depository',
    subtype: 'savings',
    mask: '1234',
    currency: 'USD',
    exponent: 2,
    balance: { current: 1500000, available: 1500000, limit: null },
    transactions: [
      { template: T.interest, minor: -42, daysAgo: 1 },
      { template: T.verification, minor: 0, daysAgo: 3, withTime: true },
      { template: T.deposit, minor: -100000, daysAgo: 9 },
    ],
  },
  {
    key: 'carol-money-market',
    customer: 'cust_carol',
    name: 'Plaid Money Market',
    officialName: null,
    type: 'depository',
    subtype: 'money market',
    mask: '4444',
    currency: 'USD',
    exponent: 2,
    balance: { current: 250000, available: 250000, limit: null },
    transactions: [{ template: T.interest, minor: -1875, daysAgo: 2 }],
  },
  {
    key: 'carol-student',
    customer: 'cust_carol',
    name: 'Plaid Student Loan',
    officialName: null,
    type: 'loan',
    subtype: 'student',
    mask: '7777',
    currency: 'USD',
    exponent: 2,
    balance: { current: 1234500, available: null, limit: null },
    transactions: [{ template: T.loanPayment, minor: -35000, daysAgo: 5 }],
  },
  {
    key: 'carol-mortgage',
    customer: 'cust_carol',
    name: 'Plaid Mortgage',
    officialName: null,
    type: 'loan',
    subtype: 'mortgage',
    mask: '8888',
    currency: 'USD',
    exponent: 2,
    balance: { current: 25000000, available: null, limit: null },
    transactions: [],
  },
  {
    key: 'carol-brokerage',
    customer: 'cust_carol',
    name: 'Plaid Brokerage',
    officialName: null,
    type: 'investment',
    subtype: 'brokerage',
    mask: '5555',
    currency: 'USD',
    exponent: 2,
    balance: { current: 3250075, available: 12000, limit: null },
    transactions: [],
  },
  {
    key: 'carol-other',
    customer: 'cust_carol',
    name: 'Prepaid Wallet',
    officialName: null,
    type: 'other',
    subtype: null,
    mask: null,
    currency: 'USD',
    exponent: 2,
    balance: { current: 1000, available: null, limit: null },
    transactions: [],
  },
  {
    key: 'carol-yen',
    customer: 'cust_carol',
    name: 'Yen Checking',
    officialName: null,
    type: 'depository',
    subtype: 'checking',
    mask: '9090',
    currency: 'JPY',
    exponent: 0,
    balance: { current: 85000, available: 84020, limit: null },
    transactions: [
      { template: T.ramen, minor: 980, daysAgo: 0, pending: true },
      { template: T.ramen, minor: 1500, daysAgo: 2, withTime: true },
      { template: T.salary, minor: -250000, daysAgo: 6 },
    ],
  },
  {
    key: 'carol-dinar',
    customer: 'cust_carol',
    name: 'Dinar Saving',
    officialName: null,
    type: 'depository',
    subtype: 'savings',
    mask: '6060',
    currency: 'BHD',
    exponent: 3,
    balance: { current: 1234567, available: 1234567, limit: null },
    transactions: [
      { template: T.souq, minor: 12345, daysAgo: 1, withTime: true },
      { template: T.deposit, minor: -500125, daysAgo: 4 },
      { template: T.verification, minor: 0, daysAgo: 7 },
    ],
  },
];

/** The n-th extra account of a customer (tests ask for 20+ accounts). */
export function extraProfile(customer: string, index: number): AccountProfile {
  const n = String(index + 1).padStart(2, '0');
  return {
    key: `${customer}-extra-${n}`,
    customer,
    name: `Extra Checking ${n}`,
    officialName: null,
    type: 'depository',
    subtype: 'checking',
    mask: String(2000 + index).slice(-4),
    currency: 'USD',
    exponent: 2,
    balance: { current: 10000 + index * 101, available: 10000 + index * 101, limit: null },
    transactions: series(3, EVERYDAY, INCOME, { creditEvery: 3, pending: 0 }),
  };
}
