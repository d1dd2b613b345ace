import { readFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import { encodeId } from '../../../domain/ids.js';
import {
  ACCOUNT_TYPES,
  mapAccounts,
  mapBalances,
  mapTransactions,
  MappingError,
  maskedNumber,
  type MapContext,
} from '../../../datasources/openbanking/mapper.js';
import {
  ACCOUNT_SUB_TYPES,
  readAccountSchema,
  readBalanceSchema,
  readTransactionSchema,
  type WireBalance,
  type WireTransaction,
} from '../../../datasources/openbanking/types.js';

function fixture(name: string): unknown {
  return JSON.parse(readFileSync(new URL(`../../fixtures/openbanking/${name}`, import.meta.url), 'utf8'));
}

const ctx: MapContext = { ownerId: 'cust_alice', asOf: new Date('2025-03-14T12:05:00Z') };
const accounts = (name: string) => readAccountSchema.parse(fixture(name)).Data.Account ?? [];
const balances = (name: string) => readBalanceSchema.parse(fixture(name)).Data.Balance;
const transactions = (name: string) => readTransactionSchema.parse(fixture(name)).Data.Transaction ?? [];

function mappingIssues(fn: () => unknown): string[] {
  try {
    fn();
  } catch (error) {
    if (error instanceof MappingError) return error.issues;
    throw error;
  }
  throw new Error('expected a MappingError');
}

describe('Open Banking mapper: accounts', () => {
  it('maps accounts with their canonical type, nickname and only the last four digits of the number', () => {
    const mapped = mapAccounts(accounts('accounts-alice.json'), ctx);
    expect(mapped.map((a) => [a.partnerId, a.type, a.name, a.maskedNumber, a.currency])).toEqual([
      ['alice-current-01', 'CURRENT', 'Everyday', '5678', 'GBP'],
      ['alice-savings-01', 'SAVINGS', 'Rainy day', '4321', 'GBP'],
      ['alice-card-01', 'CREDIT_CARD', 'Travel card', '2222', 'GBP'],
    ]);
    expect(mapped[0]).toMatchObject({
      id: encodeId('Account', 'openbanking', 'alice-current-01'),
      provider: 'openbanking',
      ownerId: 'cust_alice',
      freshness: { source: 'LIVE', asOf: ctx.asOf, provider: 'openbanking' },
    });
  });

  it('maps every AccountSubType of the spec to a canonical type', () => {
    const base = accounts('accounts-alice.json')[0]!;
    const mapped = mapAccounts(
      ACCOUNT_SUB_TYPES.map((subType, i) => ({ ...base, AccountId: `a${i}`, AccountSubType: subType })),
      ctx,
    );
    expect(mapped.map((a) => a.type)).toEqual(ACCOUNT_SUB_TYPES.map((subType) => ACCOUNT_TYPES[subType]));
    expect(new Set(mapped.map((a) => a.type))).toEqual(
      new Set(['CURRENT', 'SAVINGS', 'CREDIT_CARD', 'LOAN', 'OTHER']),
    );
  });

  it('never shows more than four characters of an identification', () => {
    expect(maskedNumber('GB29 NWBK 6016 1331 9268 19')).toBe('6819');
    expect(maskedNumber('555544******2222')).toBe('2222');
    expect(maskedNumber(undefined)).toBeNull();
  });

  it('leaves out accounts switched to another bank or deleted', () => {
    const [first, second, third] = accounts('accounts-alice.json');
    const mapped = mapAccounts(
      [{ ...first!, SwitchStatus: 'UK.CASS.SwitchCompleted' }, { ...second!, Status: 'Deleted' }, third!],
      ctx,
    );
    expect(mapped.map((a) => a.partnerId)).toEqual(['alice-card-01']);
  });

  it('names an account by its description or type when it has no nickname, and no number without Detail', () => {
    const { Nickname: _n, Account: _a, ...bare } = accounts('accounts-alice.json')[1]!;
    expect(mapAccounts([bare], ctx)[0]).toMatchObject({ name: 'Instant Access Saver', maskedNumber: null });
    const { Description: _d, ...noDescription } = bare;
    expect(mapAccounts([noDescription], ctx)[0]?.name).toBe('Savings account');
  });

  it('turns an account in a non-ISO currency into a mapping issue with its path', () => {
    const [first] = accounts('accounts-alice.json');
    expect(mappingIssues(() => mapAccounts([first!, { ...first!, Currency: 'XXX' }], ctx))).toEqual([
      'Data.Account[1].Currency: not an ISO 4217 currency',
    ]);
  });
});

describe('Open Banking mapper: balances', () => {
  it('keeps a Debit balance negative and takes the bank available figure as is', () => {
    const current = mapBalances(balances('balances-alice.json'), ctx).get('alice-current-01')!;
    expect(current.current).toEqual({ minor: -12345n, currency: 'GBP' });
    expect(current.available).toEqual({ minor: 37655n, currency: 'GBP' });
    expect(current.asOf).toEqual(new Date('2025-03-14T12:00:00Z'));
    expect(current.accountId).toBe(encodeId('Account', 'openbanking', 'alice-current-01'));
  });

  it('derives a credit card available balance from a credit line the balance does not include', () => {
    const card = mapBalances(balances('balances-alice.json'), ctx).get('alice-card-01')!;
    expect(card.current).toEqual({ minor: -84210n, currency: 'GBP' });
    expect(card.available).toEqual({ minor: 215790n, currency: 'GBP' });
  });

  it('falls back from InterimBooked to ClosingBooked, and from InterimAvailable to ClosingAvailable', () => {
    const bob = mapBalances(balances('balances-bob.json'), ctx).get('bob-current-01')!;
    expect(bob.current).toEqual({ minor: 152033n, currency: 'GBP' });
    expect(bob.available).toEqual({ minor: 152033n, currency: 'GBP' });
    expect(bob.asOf).toEqual(new Date('2025-03-13T12:00:00Z'));
  });

  it('prefers InterimBooked over ClosingBooked over Expected whatever the order on the wire', () => {
    const make = (Type: WireBalance['Type'], Amount: string): WireBalance => ({
      AccountId: 'x',
      CreditDebitIndicator: 'Credit',
      Type,
      DateTime: '2025-03-14T12:00:00+00:00',
      Amount: { Amount, Currency: 'GBP' },
    });
    const pick = (list: WireBalance[]) => mapBalances(list, ctx).get('x')?.current.minor;
    expect(
      pick([make('Expected', '3.00'), make('ClosingBooked', '2.00'), make('InterimBooked', '1.00')]),
    ).toBe(100n);
    expect(pick([make('Expected', '3.00'), make('ClosingBooked', '2.00')])).toBe(200n);
    expect(pick([make('Information', '9.00'), make('Expected', '3.00')])).toBe(300n);
    const onlyAvailable = mapBalances([make('InterimAvailable', '4.00')], ctx).get('x')!;
    expect([onlyAvailable.current.minor, onlyAvailable.available?.minor]).toEqual([400n, 400n]);
    expect(mapBalances([make('Information', '9.00')], ctx).has('x')).toBe(false);
  });

  it('maps 0, 2 and 3-decimal currencies to exact minor units', () => {
    const carol = mapBalances(balances('balances-carol.json'), ctx);
    expect(carol.get('carol-jpy-01')?.current).toEqual({ minor: 152300n, currency: 'JPY' });
    expect(carol.get('carol-bhd-01')?.current).toEqual({ minor: 1250125n, currency: 'BHD' });
  });

  it('rejects an amount with more digits than its currency has, naming the path', () => {
    const list = balances('balances-carol.json');
    const tooPrecise = list.map((b, i) => (i === 0 ? { ...b, Amount: { ...b.Amount, Amount: '10.5' } } : b));
    expect(mappingIssues(() => mapBalances(tooPrecise, ctx))[0]).toMatch(/^Data\.Balance\[0\]\.Amount: /);
    const zeros = list.map((b, i) => (i === 0 ? { ...b, Amount: { ...b.Amount, Amount: '10.00000' } } : b));
    expect(mapBalances(zeros, ctx).get('carol-jpy-01')?.current.minor).toBe(10n);
  });

  it('rejects a credit line in another currency than its balance', () => {
    const card = balances('balances-alice.json').filter((b) => b.AccountId === 'alice-card-01');
    const broken = card.map((b) =>
      b.CreditLine
        ? { ...b, CreditLine: [{ Included: false, Amount: { Amount: '10.00', Currency: 'EUR' } }] }
        : b,
    );
    expect(mappingIssues(() => mapBalances(broken, ctx))[0]).toContain('CreditLine[0].Amount.Currency');
  });
});

describe('Open Banking mapper: transactions', () => {
  const page = readTransactionSchema.parse(fixture('transactions-alice-page1.json'));
  const mapped = mapTransactions(page.Data.Transaction ?? [], ctx);

  it('maps a page of a paged response, whose Links.Next points at the following page', () => {
    expect(page.Links?.Next).toMatch(/\/transactions\?page=2$/);
    expect(page.Meta?.TotalPages).toBe(3);
    expect(mapped).toHaveLength(25);
  });

  it('signs Debit entries negative and Credit entries positive', () => {
    const wire = page.Data.Transaction!;
    for (const [i, tx] of mapped.entries()) {
      const sign = wire[i]!.CreditDebitIndicator === 'Debit' ? -1n : 1n;
      expect(tx.amount.minor * sign > 0n).toBe(true);
    }
    expect(mapped.some((tx) => tx.amount.minor > 0n)).toBe(true);
  });

  it('maps Booked, Pending and Rejected to BOOKED, PENDING and REVERSED', () => {
    const byWire = new Map(page.Data.Transaction!.map((tx, i) => [tx.Status, mapped[i]!.status]));
    expect(Object.fromEntries(byWire)).toEqual({
      Booked: 'BOOKED',
      Pending: 'PENDING',
      Rejected: 'REVERSED',
    });
  });

  it('keeps description, merchant, category, dates and ids', () => {
    const first = mapped[0]!;
    expect(first).toMatchObject({
      id: encodeId('Transaction', 'openbanking', 'alice-card-01-tx-001'),
      partnerId: 'alice-card-01-tx-001',
      accountId: encodeId('Account', 'openbanking', 'alice-card-01'),
      ownerId: 'cust_alice',
      amount: { minor: -8900n, currency: 'GBP' },
      status: 'PENDING',
      description: 'JOHN LEWIS OXFORD ST',
      merchantName: 'John Lewis',
      category: 'mcc:5311',
      bookedAt: new Date('2025-03-14T12:00:00Z'),
      valueDate: null,
    });
    const booked = mapped.find((tx) => tx.status === 'BOOKED')!;
    expect(booked.valueDate).toEqual(booked.bookedAt);
  });

  it('maps yen and dinar transactions exactly', () => {
    const carol = mapTransactions(transactions('transactions-carol.json'), ctx);
    const yen = carol.find((tx) => tx.amount.currency === 'JPY' && tx.description.includes('LAWSON'))!;
    expect(yen.amount).toEqual({ minor: -1480n, currency: 'JPY' });
    const dinar = carol.find((tx) => tx.amount.currency === 'BHD' && tx.description.includes('LAWSON'))!;
    expect(dinar.amount.minor).toBe(-1480n);
    const raw = transactions('transactions-carol.json').find((tx) => tx.TransactionId === dinar.partnerId)!;
    expect(raw.Amount.Amount).toBe('1.480');
  });

  it('gives an entry without TransactionId a stable id, distinct for identical entries', () => {
    const { TransactionId: _id, ...anonymous } = page.Data.Transaction![3]!;
    const entry = anonymous as WireTransaction;
    const once = mapTransactions([entry], ctx);
    const twice = mapTransactions([entry, entry], ctx);
    expect(once[0]!.partnerId).toMatch(/^h-/);
    expect(twice[0]!.partnerId).toBe(once[0]!.partnerId);
    expect(twice[1]!.partnerId).not.toBe(twice[0]!.partnerId);
  });

  it('falls back to merchant, reference or bank code when there is no TransactionInformation', () => {
    const { TransactionInformation: _info, ...rest } = page.Data.Transaction![0]!;
    expect(mapTransactions([rest], ctx)[0]!.description).toBe('John Lewis');
    const { MerchantDetails: _m, ...bare } = rest;
    expect(mapTransactions([bare], ctx)[0]).toMatchObject({
      description: 'CARD',
      merchantName: null,
      category: null,
    });
  });
});

describe('Open Banking wire contract (zod) on recorded payloads', () => {
  it('accepts every recorded fixture', () => {
    expect(() => accounts('accounts-carol.json')).not.toThrow();
    expect(() => transactions('transactions-alice-page3.json')).not.toThrow();
  });

  it('names the path of a payload that breaks the spec', () => {
    const broken = structuredClone(fixture('balances-alice.json')) as {
      Data: { Balance: Array<Record<string, unknown>> };
    };
    delete broken.Data.Balance[2]!.Amount;
    broken.Data.Balance[0]!.CreditDebitIndicator = 'Sideways';
    const result = readBalanceSchema.safeParse(broken);
    expect(result.success).toBe(false);
    expect(result.error?.issues.map((i) => i.path.join('.'))).toEqual([
      'Data.Balance.0.CreditDebitIndicator',
      'Data.Balance.2.Amount',
    ]);
  });

  it('requires Currency and AccountSubType unless the account was switched', () => {
    const { Currency: _c, ...noCurrency } = accounts('accounts-alice.json')[0]!;
    expect(readAccountSchema.safeParse({ Data: { Account: [noCurrency] } }).success).toBe(false);
    const switched = { ...noCurrency, SwitchStatus: 'UK.CASS.SwitchCompleted' };
    expect(readAccountSchema.safeParse({ Data: { Account: [switched] } }).success).toBe(true);
  });
});
