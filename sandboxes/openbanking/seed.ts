/**
 * Builds the seeded bank from the fixed profiles in seed-data.ts: accounts, balances and
 * transactions as Open Banking wire objects. Deterministic: the same options give the same bank.
 */
import {
  ACCOUNT_PROFILES,
  extraProfile,
  SEED_BASE_DATE,
  type AccountProfile,
  type TxTemplate,
} from './seed-data.js';
import { decimal, obDateTime, type WireAccount, type WireBalance, type WireTransaction } from './wire.js';

export { SEED_BASE_DATE } from './seed-data.js';

const HOUR = 3_600_000;
const DAY = 24 * HOUR;

/** One account as the bank holds it. */
export interface BankAccount {
  psuId: string;
  account: WireAccount;
  balances: WireBalance[];
  /** Newest first. */
  transactions: WireTransaction[];
}

/** The seeded bank: accounts by id, and account ids per PSU. */
export interface Bank {
  accounts: Map<string, BankAccount>;
  /** Account ids per PSU, in seed order. */
  byPsu: Map<string, string[]>;
}

/** The account ids of the fixed seed, per customer. */
export const SEEDED_ACCOUNTS: Readonly<Record<string, readonly string[]>> = Object.freeze(
  ACCOUNT_PROFILES.reduce<Record<string, string[]>>((acc, profile) => {
    (acc[profile.psuId] ??= []).push(profile.accountId);
    return acc;
  }, {}),
);

/** Builds the bank; `extraAccounts` adds that many accounts to each named PSU (new PSUs included). */
export function buildBank(extraAccounts: Record<string, number> = {}): Bank {
  const profiles = [...ACCOUNT_PROFILES];
  Object.entries(extraAccounts).forEach(([psuId, count], psuIndex) => {
    for (let index = 0; index < count; index++) profiles.push(extraProfile(psuId, psuIndex, index));
  });
  const bank: Bank = { accounts: new Map(), byPsu: new Map() };
  for (const profile of profiles) {
    if (bank.accounts.has(profile.accountId))
      throw new Error(`duplicate seeded account ${profile.accountId}`);
    bank.accounts.set(profile.accountId, {
      psuId: profile.psuId,
      account: toAccount(profile),
      balances: toBalances(profile),
      transactions: toTransactions(profile),
    });
    const ids = bank.byPsu.get(profile.psuId) ?? [];
    ids.push(profile.accountId);
    bank.byPsu.set(profile.psuId, ids);
  }
  return bank;
}

function at(daysAgo: number, hourOffset = 0): string {
  return obDateTime(new Date(SEED_BASE_DATE.getTime() - daysAgo * DAY + hourOffset * HOUR));
}

function toAccount(profile: AccountProfile): WireAccount {
  return {
    AccountId: profile.accountId,
    Status: 'Enabled',
    StatusUpdateDateTime: at(profile.openedDaysAgo),
    Currency: profile.currency,
    AccountType: 'Personal',
    AccountSubType: profile.subType,
    Description: profile.description,
    Nickname: profile.nickname,
    OpeningDate: at(profile.openedDaysAgo),
    Account: [{ SchemeName: profile.scheme, Identification: profile.identification, Name: profile.holder }],
  };
}

function toBalances(profile: AccountProfile): WireBalance[] {
  return profile.balances.map((seed) => {
    const balance: WireBalance = {
      AccountId: profile.accountId,
      CreditDebitIndicator: seed.minor < 0 ? 'Debit' : 'Credit',
      Type: seed.type,
      DateTime: at(seed.daysAgo),
      Amount: { Amount: decimal(seed.minor, profile.exponent), Currency: profile.currency },
    };
    if (seed.creditLine) {
      balance.CreditLine = [
        {
          Included: seed.creditLine.included,
          Type: seed.creditLine.type,
          Amount: { Amount: decimal(seed.creditLine.minor, profile.exponent), Currency: profile.currency },
        },
      ];
    }
    return balance;
  });
}

function toTransactions(profile: AccountProfile): WireTransaction[] {
  const out: WireTransaction[] = [];
  for (let i = 0; i < profile.transactionCount; i++) {
    const credit = i % profile.creditEvery === profile.creditEvery - 1;
    const templates = credit ? profile.credits : profile.debits;
    const template = templates[(i * 5 + profile.accountId.length) % templates.length] as TxTemplate;
    // Small deterministic variation so amounts are not all identical.
    const minor = template.minor + (template.minor > 1000 ? (i * 37) % 100 : 0);
    const status = profile.pending.includes(i)
      ? 'Pending'
      : profile.rejected.includes(i)
        ? 'Rejected'
        : 'Booked';
    const booked = at(i * 1.25, -((i * 7) % 5));
    const tx: WireTransaction = {
      AccountId: profile.accountId,
      TransactionId: `${profile.accountId}-tx-${String(i + 1).padStart(3, '0')}`,
      CreditDebitIndicator: credit ? 'Credit' : 'Debit',
      Status: status,
      TransactionMutability: status === 'Pending' ? 'Mutable' : 'Immutable',
      BookingDateTime: booked,
      TransactionInformation: template.info,
      Amount: { Amount: decimal(minor, profile.exponent), Currency: profile.currency },
      BankTransactionCode: { Code: template.code.code, SubCode: template.code.subCode },
      ProprietaryBankTransactionCode: { Code: template.code.proprietary, Issuer: 'TributaryBank' },
    };
    if (status === 'Booked') tx.ValueDateTime = booked;
    if (template.code.proprietary === 'FPI' || template.code.proprietary === 'FPO') {
      tx.TransactionReference = `REF${String(i + 1).padStart(6, '0')}`;
    }
    if (template.merchant) {
      tx.MerchantDetails = {
        MerchantName: template.merchant.name,
        MerchantCategoryCode: template.merchant.mcc,
      };
    }
    out.push(tx);
  }
  return out;
}
