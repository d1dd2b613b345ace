import { describe, expect, it } from 'vitest';
import type { Freshness } from '../../../domain/model.js';
import { encodeId } from '../../../domain/ids.js';
import {
  accountTypeOf,
  toAccounts,
  toBalance,
  toBalances,
  toStoredTransaction,
  toTransaction,
} from '../../../datasources/plaid/mapper.js';
import {
  accountsGetResponseSchema,
  transactionsSyncResponseSchema,
  type PlaidAccount,
  type PlaidTransaction,
} from '../../../datasources/plaid/types.js';
import { PartnerError } from '../../../domain/errors.js';
import { FIXTURES, plaidFixture } from './fixtures.js';

const freshness: Freshness = { source: 'LIVE', asOf: new Date('2025-03-15T12:00:00Z'), provider: 'plaid' };
const source = { endpoint: 'POST /test', path: 'x' };

const carolAccounts = () => accountsGetResponseSchema.parse(plaidFixture(FIXTURES.accountsCarol)).accounts;
const aliceBalances = () => accountsGetResponseSchema.parse(plaidFixture(FIXTURES.balancesAlice)).accounts;
const carolSync = () => transactionsSyncResponseSchema.parse(plaidFixture(FIXTURES.syncCarol));
const aliceChanges = () => transactionsSyncResponseSchema.parse(plaidFixture(FIXTURES.syncAliceChanges));
const byName = (accounts: PlaidAccount[], name: string) =>
  accounts.find((a) => a.name === name) as PlaidAccount;
const stored = (wire: PlaidTransaction) => toStoredTransaction(wire, source);

function violation(fn: () => unknown): PartnerError {
  try {
    fn();
  } catch (error) {
    expect(error).toBeInstanceOf(PartnerError);
    expect((error as PartnerError).code).toBe('PARTNER_CONTRACT_VIOLATION');
    return error as PartnerError;
  }
  throw new Error('expected a contract violation');
}

describe('plaid mapper: accounts', () => {
  it('maps every recorded account type and subtype to the canonical type', () => {
    const mapped = toAccounts(carolAccounts(), 'cust_carol', freshness, 'POST /accounts/get');
    expect(mapped.map((a) => [a.name, a.type, a.currency, a.maskedNumber])).toEqual([
      ['Plaid Saving', 'SAVINGS', 'USD', '1234'],
      ['Plaid Money Market', 'OTHER', 'USD', '4444'],
      ['Plaid Student Loan', 'LOAN', 'USD', '7777'],
      ['Plaid Mortgage', 'LOAN', 'USD', '8888'],
      ['Plaid Brokerage', 'OTHER', 'USD', '5555'],
      ['Prepaid Wallet', 'OTHER', 'USD', null],
      ['Yen Checking', 'CURRENT', 'JPY', '9090'],
      ['Dinar Saving', 'SAVINGS', 'BHD', '6060'],
    ]);
    const first = mapped[0];
    expect(first).toMatchObject({ provider: 'plaid', ownerId: 'cust_carol', freshness });
    expect(first?.id).toBe(encodeId('Account', 'plaid', first?.partnerId ?? ''));
  });

  it('decides the type from Plaid type and subtype, totally', () => {
    expect(accountTypeOf('depository', 'checking')).toBe('CURRENT');
    expect(accountTypeOf('depository', 'savings')).toBe('SAVINGS');
    expect(accountTypeOf('depository', 'cd')).toBe('OTHER');
    expect(accountTypeOf('depository', null)).toBe('OTHER');
    expect(accountTypeOf('credit', 'credit card')).toBe('CREDIT_CARD');
    expect(accountTypeOf('credit', 'paypal')).toBe('CREDIT_CARD');
    expect(accountTypeOf('loan', 'mortgage')).toBe('LOAN');
    expect(accountTypeOf('investment', 'brokerage')).toBe('OTHER');
    expect(accountTypeOf('brokerage', null)).toBe('OTHER');
    expect(accountTypeOf('other', 'other')).toBe('OTHER');
  });

  it('keeps only the last four characters of a mask', () => {
    const wire = { ...byName(carolAccounts(), 'Plaid Saving'), mask: '00991234' };
    expect(toAccounts([wire], 'c', freshness, 'e')[0]?.maskedNumber).toBe('1234');
  });

  it('rejects an account type outside the spec enum at the schema', () => {
    const body = plaidFixture<{ accounts: Record<string, unknown>[] }>(FIXTURES.accountsCarol);
    (body.accounts[0] as Record<string, unknown>).type = 'chequing';
    expect(accountsGetResponseSchema.safeParse(body).success).toBe(false);
  });

  it('treats a missing or unofficial currency as a contract violation, not a default', () => {
    const wire = byName(carolAccounts(), 'Plaid Saving');
    const none = { ...wire, balances: { ...wire.balances, iso_currency_code: null } };
    expect(violation(() => toAccounts([none], 'c', freshness, 'POST /accounts/get')).issues).toEqual([
      'accounts[0].balances.iso_currency_code: missing: neither an ISO nor an unofficial currency code',
    ]);
    const btc = {
      ...wire,
      balances: { ...wire.balances, iso_currency_code: null, unofficial_currency_code: 'BTC' },
    };
    expect(violation(() => toBalance(btc, freshness, source)).issues?.[0]).toMatch(
      /unofficial_currency_code.*BTC/,
    );
  });
});

describe('plaid mapper: balances', () => {
  it('negates what is owed on a credit card and keeps depository balances as they are', () => {
    const accounts = aliceBalances();
    const balances = toBalances(accounts, new Set(accounts.map((a) => a.account_id)), freshness, 'e');
    const checking = balances.get(byName(accounts, 'Plaid Checking').account_id);
    const card = balances.get(byName(accounts, 'Plaid Credit Card').account_id);
    expect(checking?.current).toEqual({ minor: 124567n, currency: 'USD' });
    expect(checking?.available).toEqual({ minor: 118012n, currency: 'USD' });
    expect(card?.current).toEqual({ minor: -43210n, currency: 'USD' });
    expect(card?.available).toEqual({ minor: 456790n, currency: 'USD' });
    expect(card?.asOf).toEqual(new Date('2025-03-15T12:00:00Z'));
    expect(card?.accountId).toBe(
      encodeId('Account', 'plaid', byName(accounts, 'Plaid Credit Card').account_id),
    );
  });

  it('converts 0, 2 and 3 decimal currencies exactly and negates loans', () => {
    const accounts = carolAccounts();
    expect(toBalance(byName(accounts, 'Yen Checking'), freshness, source).current).toEqual({
      minor: 85000n,
      currency: 'JPY',
    });
    expect(toBalance(byName(accounts, 'Dinar Saving'), freshness, source).current).toEqual({
      minor: 1234567n,
      currency: 'BHD',
    });
    const loan = toBalance(byName(accounts, 'Plaid Student Loan'), freshness, source);
    expect(loan.current).toEqual({ minor: -1234500n, currency: 'USD' });
    expect(loan.available).toBeNull();
    expect(loan.asOf).toEqual(freshness.asOf);
  });

  it('returns only the accounts asked for', () => {
    const accounts = aliceBalances();
    const one = accounts[0]?.account_id as string;
    expect([...toBalances(accounts, new Set([one, 'not-hers']), freshness, 'e').keys()]).toEqual([one]);
  });

  it('stands the available amount in for a null current on money held, never on a debt', () => {
    const wire = byName(carolAccounts(), 'Plaid Saving');
    const noCurrent = { ...wire, balances: { ...wire.balances, current: null, available: 12.3 } };
    expect(toBalance(noCurrent, freshness, source).current).toEqual({ minor: 1230n, currency: 'USD' });
    const neither = { ...wire, balances: { ...wire.balances, current: null, available: null } };
    expect(violation(() => toBalance(neither, freshness, source)).issues?.[0]).toMatch(/balances\.current/);
    const card = byName(aliceBalances(), 'Plaid Credit Card');
    const owedUnknown = { ...card, balances: { ...card.balances, current: null } };
    expect(violation(() => toBalance(owedUnknown, freshness, source)).issues).toEqual([
      'x.balances.current: null on a credit or loan account',
    ]);
  });
});

describe('plaid mapper: transactions', () => {
  const carol = () => new Map(carolSync().added.map((wire) => [`${wire.name}|${wire.amount}`, wire]));

  it('turns Plaid outflows negative and inflows positive, exactly, in 0, 2 and 3 decimal currencies', () => {
    const list = carol();
    const amount = (key: string) => stored(list.get(key) as PlaidTransaction).amount;
    expect(amount('INTEREST PAID|-0.42')).toEqual({ minor: 42n, currency: 'USD' });
    expect(amount('DEPOSIT TRANSFER|-1000')).toEqual({ minor: 100000n, currency: 'USD' });
    expect(amount('CARD VERIFICATION|0')).toMatchObject({ minor: 0n });
    expect(amount('ICHIRAN SHIBUYA|1500')).toEqual({ minor: -1500n, currency: 'JPY' });
    expect(amount('KABUSHIKI KAISHA SALARY|-250000')).toEqual({ minor: 250000n, currency: 'JPY' });
    expect(amount('MANAMA SOUQ|12.345')).toEqual({ minor: -12345n, currency: 'BHD' });
    expect(amount('DEPOSIT TRANSFER|-500.125')).toEqual({ minor: 500125n, currency: 'BHD' });
  });

  it('maps zero amounts in every currency to zero', () => {
    const zeros = carolSync()
      .added.filter((wire) => wire.amount === 0)
      .map(stored);
    expect(zeros.map((t) => [t.amount.minor, t.amount.currency]).sort()).toEqual([
      [0n, 'BHD'],
      [0n, 'USD'],
    ]);
  });

  it('maps pending to PENDING at its authorisation, and posted to BOOKED with a value date', () => {
    const pending = stored(carol().get('ICHIRAN SHIBUYA|980') as PlaidTransaction);
    expect(pending).toMatchObject({
      status: 'PENDING',
      valueDate: null,
      bookedAt: new Date('2025-03-14T00:00:00Z'),
    });
    const posted = carol().get('MANAMA SOUQ|12.345') as PlaidTransaction;
    expect(stored(posted)).toMatchObject({
      status: 'BOOKED',
      bookedAt: new Date(posted.datetime as string),
      valueDate: new Date(`${posted.date}T00:00:00Z`),
      description: 'MANAMA SOUQ',
      merchantName: 'Manama Souq',
      category: 'GENERAL_MERCHANDISE',
    });
    const dateOnly = stored(carol().get('DEPOSIT TRANSFER|-1000') as PlaidTransaction);
    expect(dateOnly.bookedAt.toISOString()).toMatch(/T00:00:00\.000Z$/);
  });

  it('links a posted transaction to the pending one it replaces, which Plaid removes', () => {
    const changes = aliceChanges();
    const posted = changes.added.map(stored)[0];
    expect(posted?.status).toBe('BOOKED');
    expect(posted?.pendingTransactionId).not.toBeNull();
    expect(changes.removed.map((r) => r.transaction_id)).toContain(posted?.pendingTransactionId);
    expect(changes.modified.map(stored)[0]?.amount).toEqual({ minor: -1230n, currency: 'USD' });
  });

  it('builds the canonical transaction with global ids for the transaction and its account', () => {
    const wire = carolSync().added[0] as PlaidTransaction;
    const syncedAt = new Date('2026-01-02T03:04:05Z');
    const canonical = toTransaction(stored(wire), 'cust_carol', {
      source: 'CACHED',
      asOf: syncedAt,
      provider: 'plaid',
    });
    expect(canonical).toMatchObject({
      id: encodeId('Transaction', 'plaid', wire.transaction_id),
      partnerId: wire.transaction_id,
      accountId: encodeId('Account', 'plaid', wire.account_id),
      provider: 'plaid',
      ownerId: 'cust_carol',
      freshness: { source: 'CACHED', asOf: syncedAt, provider: 'plaid' },
    });
  });

  it('treats a null currency or more decimals than the currency has as a contract violation', () => {
    const wire = carolSync().added[0] as PlaidTransaction;
    const issues = violation(() => stored({ ...wire, iso_currency_code: null })).issues;
    expect(issues).toEqual(['x.iso_currency_code: missing: neither an ISO nor an unofficial currency code']);
    const yen = { ...wire, iso_currency_code: 'JPY', amount: 12.5 };
    expect(violation(() => stored(yen)).issues?.[0]).toMatch(/^x\.amount: .*more than 0 decimal places/);
  });
});
