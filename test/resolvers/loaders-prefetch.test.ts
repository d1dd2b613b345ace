/**
 * Reads started ahead of the account listing (Loaders.prefetch): they are asked for the accounts the
 * subject held when last listed, and the balance and transactions loaders use them only for accounts
 * the fresh listing confirms. An account listed before but not now gets nothing from them; an account
 * the fresh listing adds makes the loader ask again; a read the token's scopes or the consent do not
 * allow is never started. The partner here is a recording port: what is asked of it is the behaviour.
 */
import { pino } from 'pino';
import { describe, expect, it, vi } from 'vitest';
import { encodeId } from '../../domain/ids.js';
import type { Account, Balance, Transaction } from '../../domain/model.js';
import type { AccountsProvider, CallContext, TransactionQuery } from '../../domain/providers.js';
import { createLoaders, type LoaderPorts } from '../../resolvers/loaders.js';

const SUBJECT = 'cust_alice';
const ALL_SCOPES = ['accounts:read', 'balances:read', 'transactions:read'];

const globalId = (partnerId: string) => encodeId('Account', 'openbanking', partnerId);

const account = (partnerId: string) =>
  ({ id: globalId(partnerId), partnerId, provider: 'openbanking', ownerId: SUBJECT }) as Account;
const balance = (partnerId: string) => ({ accountId: globalId(partnerId) }) as unknown as Balance;
const transaction = (partnerId: string) =>
  ({
    id: `tx-${partnerId}`,
    partnerId: `tx-${partnerId}`,
    accountId: globalId(partnerId),
    ownerId: SUBJECT,
  }) as Transaction;

type Asked = { what: 'accounts' | 'balances' | 'transactions'; ids?: readonly string[] };

/**
 * A partner whose last listing held `known` and whose listing now holds `listed`; the listing answers
 * once `answer` resolves (at once without it).
 */
function partner(
  known: string[] | null,
  listed: string[],
  asked: Asked[],
  answer?: Promise<void>,
): AccountsProvider {
  return {
    name: 'openbanking',
    knownAccountIds: () => known,
    listAccounts: async () => {
      asked.push({ what: 'accounts' });
      await answer;
      return listed.map(account);
    },
    getBalances: async (_ctx: CallContext, ids: readonly string[]) => {
      asked.push({ what: 'balances', ids: [...ids] });
      return new Map(ids.map((id) => [id, balance(id)]));
    },
    listTransactions: async (_ctx: CallContext, ids: readonly string[], _query: TransactionQuery) => {
      asked.push({ what: 'transactions', ids: [...ids] });
      return ids.map(transaction);
    },
  };
}

function loaders(provider: AccountsProvider, options: { scopes?: string[]; permissions?: string[] } = {}) {
  const consent = {
    provider: 'openbanking',
    permissions: options.permissions ?? ['accounts:read', 'balances:read', 'transactions:read'],
  };
  const ports = {
    consents: {
      listActive: async () => [{ consent, openCredential: null }],
      credentials: {},
    } as unknown as LoaderPorts['consents'],
    partners: { accounts: () => provider, isPartner: () => true },
    payments: { paymentsById: async () => new Map() },
    disputes: { byPayments: async () => new Map() },
  } satisfies LoaderPorts;
  return createLoaders(
    {
      principal: { subject: SUBJECT, scopes: new Set(options.scopes ?? ALL_SCOPES) },
      correlationId: 'test-prefetch',
      logger: pino({ level: 'silent' }),
    },
    ports,
  );
}

const READS = { balances: true, transactionWindows: [{}] };

describe('reads started ahead of the account listing', () => {
  it('asks for balances and transactions of the accounts last listed before the listing answers, once', async () => {
    const asked: Asked[] = [];
    let answer!: () => void;
    const listed = new Promise<void>((resolve) => (answer = resolve));
    const l = loaders(partner(['a', 'b'], ['a', 'b'], asked, listed));
    l.prefetch('openbanking', READS);
    const listing = l.accountsByProvider.load('openbanking');
    // Both reads are asked while the listing has not answered (it answers only when told to).
    await vi.waitFor(() =>
      expect(asked).toEqual(
        expect.arrayContaining([
          { what: 'accounts' },
          { what: 'balances', ids: ['a', 'b'] },
          { what: 'transactions', ids: ['a', 'b'] },
        ]),
      ),
    );
    answer();
    const accounts = await listing;
    const [balances, lists] = await Promise.all([
      Promise.all(accounts.map((a) => l.balance.load(a.id))),
      Promise.all(accounts.map((a) => l.transactions.load({ accountId: a.id, window: {} }))),
    ]);
    expect(balances).toEqual([balance('a'), balance('b')]);
    expect(lists).toEqual([[transaction('a')], [transaction('b')]]);
    expect(asked.map((entry) => entry.what).sort()).toEqual(['accounts', 'balances', 'transactions']);
  });

  it('gives an account listed before but not now nothing from them', async () => {
    const asked: Asked[] = [];
    const l = loaders(partner(['a', 'gone'], ['a'], asked));
    l.prefetch('openbanking', READS);
    const [ownBalance, goneBalance, ownList, goneList] = await Promise.all([
      l.balance.load(globalId('a')),
      l.balance.load(globalId('gone')),
      l.transactions.load({ accountId: globalId('a'), window: {} }),
      l.transactions.load({ accountId: globalId('gone'), window: {} }),
    ]);
    expect([ownBalance, goneBalance]).toEqual([balance('a'), null]);
    expect([ownList, goneList]).toEqual([[transaction('a')], []]);
    // The reads started ahead covered every confirmed account: nothing was asked twice.
    expect(asked.filter((entry) => entry.what !== 'accounts')).toHaveLength(2);
  });

  it('asks again when the listing holds an account the reads started ahead did not cover', async () => {
    const asked: Asked[] = [];
    const l = loaders(partner(['a'], ['a', 'new'], asked));
    l.prefetch('openbanking', READS);
    const accounts = await l.accountsByProvider.load('openbanking');
    const balances = await Promise.all(accounts.map((a) => l.balance.load(a.id)));
    expect(balances).toEqual([balance('a'), balance('new')]);
    expect(asked.filter((entry) => entry.what === 'balances')).toEqual([
      { what: 'balances', ids: ['a'] },
      { what: 'balances', ids: ['a', 'new'] },
    ]);
  });

  it('starts nothing before the first listing, past the page size, or without the scope or consent', async () => {
    const cases: {
      name: string;
      known: string[] | null;
      scopes?: string[];
      permissions?: string[];
      atMost?: number;
    }[] = [
      { name: 'never listed', known: null },
      { name: 'more accounts than the page shows', known: ['a', 'b', 'c'], atMost: 2 },
      { name: 'token without balances:read or transactions:read', known: ['a'], scopes: ['accounts:read'] },
      { name: 'consent without balances or transactions', known: ['a'], permissions: ['accounts:read'] },
    ];
    for (const { name, known, scopes, permissions, atMost } of cases) {
      const asked: Asked[] = [];
      const l = loaders(partner(known, ['a'], asked), {
        ...(scopes ? { scopes } : {}),
        ...(permissions ? { permissions } : {}),
      });
      l.prefetch('openbanking', { ...READS, ...(atMost === undefined ? {} : { accountsAtMost: atMost }) });
      await l.accountsByProvider.load('openbanking');
      expect({ name, asked }).toEqual({ name, asked: [{ what: 'accounts' }] });
    }
  });
});
