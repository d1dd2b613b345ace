/**
 * The seeded bank's customers and accounts. Everything here is fixed: no randomness, every date an
 * offset from SEED_BASE_DATE, so fixtures recorded from the sandbox stay stable.
 */
import {
  CARD_CREDITS,
  CARD_DEBITS,
  EVERYDAY_CREDITS,
  EVERYDAY_DEBITS,
  FX_CREDITS,
  FX_DEBITS,
  SAVINGS_CREDITS,
  SAVINGS_DEBITS,
  type TxTemplate,
} from './seed-templates.js';

export type { TxTemplate } from './seed-templates.js';

/** The instant all seeded dates are relative to. */
export const SEED_BASE_DATE = new Date('2025-03-14T12:00:00Z');

/** One seeded balance entry. */
export interface BalanceSeed {
  type: string;
  /** Signed minor units: negative is a Debit balance. */
  minor: number;
  daysAgo: number;
  creditLine?: { included: boolean; type: 'Credit' | 'Pre-Agreed' | 'Available'; minor: number };
}

/** Everything that defines one seeded account. */
export interface AccountProfile {
  accountId: string;
  psuId: string;
  subType: 'CurrentAccount' | 'Savings' | 'CreditCard' | 'Loan' | 'Mortgage' | 'ChargeCard';
  currency: string;
  exponent: number;
  nickname: string;
  description: string;
  scheme: 'UK.OBIE.SortCodeAccountNumber' | 'UK.OBIE.IBAN' | 'UK.OBIE.PAN';
  /** Full identification; PANs are masked on the wire unless the consent has ReadPAN. */
  identification: string;
  holder: string;
  openedDaysAgo: number;
  balances: BalanceSeed[];
  transactionCount: number;
  /** Indexes (0 = newest) of pending and rejected entries; the rest are booked. */
  pending: number[];
  rejected: number[];
  debits: TxTemplate[];
  credits: TxTemplate[];
  /** Every n-th entry is a credit. */
  creditEvery: number;
}

/** The seeded accounts of cust_alice, cust_bob and cust_carol (a yen and a dinar account). */
export const ACCOUNT_PROFILES: AccountProfile[] = [
  {
    accountId: 'alice-current-01',
    psuId: 'cust_alice',
    subType: 'CurrentAccount',
    currency: 'GBP',
    exponent: 2,
    nickname: 'Everyday',
    description: 'Classic Current Account',
    scheme: 'UK.OBIE.SortCodeAccountNumber',
    identification: '40400412345678',
    holder: 'Ms Alice Archer',
    openedDaysAgo: 2100,
    balances: [
      { type: 'InterimBooked', minor: -12345, daysAgo: 0 },
      {
        type: 'InterimAvailable',
        minor: 37655,
        daysAgo: 0,
        creditLine: { included: true, type: 'Pre-Agreed', minor: 50000 },
      },
      { type: 'ClosingBooked', minor: -9820, daysAgo: 1 },
      { type: 'Expected', minor: -17145, daysAgo: 0 },
    ],
    transactionCount: 24,
    pending: [0, 1],
    rejected: [4],
    debits: EVERYDAY_DEBITS,
    credits: EVERYDAY_CREDITS,
    creditEvery: 5,
  },
  {
    accountId: 'alice-savings-01',
    psuId: 'cust_alice',
    subType: 'Savings',
    currency: 'GBP',
    exponent: 2,
    nickname: 'Rainy day',
    description: 'Instant Access Saver',
    scheme: 'UK.OBIE.SortCodeAccountNumber',
    identification: '40400487654321',
    holder: 'Ms Alice Archer',
    openedDaysAgo: 900,
    balances: [
      { type: 'InterimBooked', minor: 525000, daysAgo: 0 },
      { type: 'InterimAvailable', minor: 525000, daysAgo: 0 },
      { type: 'ClosingBooked', minor: 520000, daysAgo: 1 },
    ],
    transactionCount: 16,
    pending: [0],
    rejected: [6],
    debits: SAVINGS_DEBITS,
    credits: SAVINGS_CREDITS,
    creditEvery: 2,
  },
  {
    accountId: 'alice-card-01',
    psuId: 'cust_alice',
    subType: 'CreditCard',
    currency: 'GBP',
    exponent: 2,
    nickname: 'Travel card',
    description: 'Platinum Credit Card',
    scheme: 'UK.OBIE.PAN',
    identification: '5555444433332222',
    holder: 'Ms Alice Archer',
    openedDaysAgo: 600,
    // No available balance: the mapper derives it from the credit line, as some issuers require.
    balances: [
      {
        type: 'InterimBooked',
        minor: -84210,
        daysAgo: 0,
        creditLine: { included: false, type: 'Credit', minor: 300000 },
      },
      { type: 'ClosingBooked', minor: -79000, daysAgo: 1 },
    ],
    transactionCount: 20,
    pending: [0, 1, 2],
    rejected: [7],
    debits: CARD_DEBITS,
    credits: CARD_CREDITS,
    creditEvery: 9,
  },
  {
    accountId: 'bob-current-01',
    psuId: 'cust_bob',
    subType: 'CurrentAccount',
    currency: 'GBP',
    exponent: 2,
    nickname: 'Main account',
    description: 'Classic Current Account',
    scheme: 'UK.OBIE.SortCodeAccountNumber',
    identification: '20000055443322',
    holder: 'Mr Bob Brown',
    openedDaysAgo: 3000,
    // Only end-of-day figures: the mapper falls back from InterimBooked to ClosingBooked.
    balances: [
      { type: 'ClosingBooked', minor: 152033, daysAgo: 1 },
      { type: 'ClosingAvailable', minor: 152033, daysAgo: 1 },
      { type: 'Expected', minor: 148033, daysAgo: 0 },
    ],
    transactionCount: 28,
    pending: [0],
    rejected: [3, 11],
    debits: EVERYDAY_DEBITS,
    credits: EVERYDAY_CREDITS,
    creditEvery: 6,
  },
  {
    accountId: 'bob-savings-01',
    psuId: 'cust_bob',
    subType: 'Savings',
    currency: 'GBP',
    exponent: 2,
    nickname: 'House deposit',
    description: 'Fixed Rate Saver',
    scheme: 'UK.OBIE.SortCodeAccountNumber',
    identification: '20000099887766',
    holder: 'Mr Bob Brown',
    openedDaysAgo: 400,
    balances: [
      { type: 'InterimBooked', minor: 1200000, daysAgo: 0 },
      { type: 'InterimAvailable', minor: 1200000, daysAgo: 0 },
    ],
    transactionCount: 15,
    pending: [1],
    rejected: [5],
    debits: SAVINGS_DEBITS,
    credits: SAVINGS_CREDITS,
    creditEvery: 2,
  },
  {
    accountId: 'carol-jpy-01',
    psuId: 'cust_carol',
    subType: 'CurrentAccount',
    currency: 'JPY',
    exponent: 0,
    nickname: 'Yen wallet',
    description: 'Multi-currency Account JPY',
    scheme: 'UK.OBIE.IBAN',
    identification: 'GB29NWBK60161331926819',
    holder: 'Ms Carol Chen',
    openedDaysAgo: 300,
    balances: [
      { type: 'InterimBooked', minor: 152300, daysAgo: 0 },
      { type: 'InterimAvailable', minor: 150000, daysAgo: 0 },
    ],
    transactionCount: 15,
    pending: [0],
    rejected: [2],
    debits: FX_DEBITS,
    credits: FX_CREDITS,
    creditEvery: 4,
  },
  {
    accountId: 'carol-bhd-01',
    psuId: 'cust_carol',
    subType: 'Savings',
    currency: 'BHD',
    exponent: 3,
    nickname: 'Dinar savings',
    description: 'Multi-currency Account BHD',
    scheme: 'UK.OBIE.IBAN',
    identification: 'GB94BARC10201530093459',
    holder: 'Ms Carol Chen',
    openedDaysAgo: 300,
    balances: [
      { type: 'InterimBooked', minor: 1250125, daysAgo: 0 },
      { type: 'InterimAvailable', minor: 1250125, daysAgo: 0 },
    ],
    transactionCount: 15,
    pending: [0],
    rejected: [3],
    debits: FX_DEBITS,
    credits: FX_CREDITS,
    creditEvery: 3,
  },
];

/** The shape of every account seeded through `extraAccounts`. */
export function extraProfile(psuId: string, psuIndex: number, index: number): AccountProfile {
  const short =
    psuId
      .replace(/^cust_/, '')
      .replace(/[^A-Za-z0-9-]/g, '')
      .slice(0, 20) || 'psu';
  const savings = index % 2 === 1;
  return {
    accountId: `${short}-extra-${String(index + 1).padStart(3, '0')}`,
    psuId,
    subType: savings ? 'Savings' : 'CurrentAccount',
    currency: 'GBP',
    exponent: 2,
    nickname: `${savings ? 'Pot' : 'Account'} ${index + 1}`,
    description: savings ? 'Instant Access Saver' : 'Classic Current Account',
    scheme: 'UK.OBIE.SortCodeAccountNumber',
    identification: `309${String(psuIndex % 1000).padStart(3, '0')}${String(index + 1).padStart(8, '0')}`,
    holder: psuId,
    openedDaysAgo: 100 + index,
    balances: [
      { type: 'InterimBooked', minor: 10000 + index * 100, daysAgo: 0 },
      { type: 'InterimAvailable', minor: 10000 + index * 100, daysAgo: 0 },
    ],
    transactionCount: 3,
    pending: [0],
    rejected: [],
    debits: EVERYDAY_DEBITS,
    credits: EVERYDAY_CREDITS,
    creditEvery: 3,
  };
}
