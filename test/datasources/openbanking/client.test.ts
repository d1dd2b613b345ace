import { afterAll, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { createOpenBankingProvider } from '../../../datasources/openbanking/provider.js';
import {
  AISP_BASE,
  sandboxConsentApprover,
  startOpenBankingSandbox,
} from '../../../sandboxes/openbanking/index.js';
import { ConsentRequiredError } from '../../../domain/errors.js';
import {
  accountClient,
  ACCOUNTS,
  BALANCES,
  ctx,
  failure,
  logger,
  MemoryCredentials,
  startHarness,
  TOKEN,
  TRANSACTIONS,
  type Harness,
} from './harness.js';

let h: Harness;
beforeAll(async () => {
  h = await startHarness({ extraAccounts: { cust_dave: 50 } });
  await h.connect('cust_alice');
  await h.connect('cust_bob');
  await h.connect('cust_dave');
});
afterAll(() => h.close());
beforeEach(() => {
  h.sandbox.setFaults([]);
  h.sandbox.resetLedger();
});

describe('Open Banking provider against the sandbox', () => {
  it("lists each customer's own accounts and never mixes customers, even concurrently", async () => {
    const runs = await Promise.all(
      Array.from({ length: 10 }, (_, i) =>
        h.provider.accounts.listAccounts(ctx(i % 2 ? 'cust_bob' : 'cust_alice')),
      ),
    );
    for (const [i, list] of runs.entries()) {
      const subject = i % 2 ? 'cust_bob' : 'cust_alice';
      expect(list.every((a) => a.ownerId === subject)).toBe(true);
      expect(list.map((a) => a.partnerId)).toEqual(
        subject === 'cust_alice'
          ? ['alice-current-01', 'alice-savings-01', 'alice-card-01']
          : ['bob-current-01', 'bob-savings-01'],
      );
    }
  });

  it('reads 50 accounts and their balances with one /accounts and one /balances call', async () => {
    const accounts = await h.provider.accounts.listAccounts(ctx('cust_dave'));
    expect(accounts).toHaveLength(50);
    const balances = await h.provider.accounts.getBalances(
      ctx('cust_dave'),
      accounts.map((a) => a.partnerId),
    );
    expect(balances.size).toBe(50);
    expect(h.requests(ACCOUNTS)).toBe(1);
    expect(h.requests(BALANCES)).toBe(1);
  });

  it('reads transactions of many accounts in one bulk call, following Links.Next to the last page', async () => {
    const accounts = await h.provider.accounts.listAccounts(ctx('cust_dave'));
    const txs = await h.provider.accounts.listTransactions(
      ctx('cust_dave'),
      accounts.map((a) => a.partnerId),
      {},
    );
    expect(txs).toHaveLength(150);
    expect(h.requests(TRANSACTIONS)).toBe(2);
    expect(`GET ${AISP_BASE}/accounts/{AccountId}/transactions` in h.sandbox.ledger().requests).toBe(false);
  });

  it('returns only balances of accounts the subject holds', async () => {
    const balances = await h.provider.accounts.getBalances(ctx('cust_alice'), [
      'alice-current-01',
      'bob-current-01',
    ]);
    expect([...balances.keys()]).toEqual(['alice-current-01']);
    expect(balances.get('alice-current-01')?.current).toEqual({ minor: -12345n, currency: 'GBP' });
    expect(await h.provider.accounts.getBalances(ctx('cust_alice'), [])).toEqual(new Map());
    expect(h.requests(BALANCES)).toBe(1);
  });

  it('filters transactions by booking date and account, newest first', async () => {
    const from = new Date('2025-03-01T00:00:00Z');
    const to = new Date('2025-03-10T00:00:00Z');
    const txs = await h.provider.accounts.listTransactions(ctx('cust_alice'), ['alice-current-01'], {
      from,
      to,
    });
    expect(txs.length).toBeGreaterThan(3);
    expect(txs.every((tx) => tx.partnerId.startsWith('alice-current-01'))).toBe(true);
    expect(txs.every((tx) => tx.bookedAt >= from && tx.bookedAt <= to)).toBe(true);
    const times = txs.map((tx) => tx.bookedAt.getTime());
    expect(times).toEqual([...times].sort((a, b) => b - a));
  });

  it('asks for consent, without calling the bank, when the subject has no credential', async () => {
    const error = await failure(h.provider.accounts.listAccounts(ctx('cust_nobody')));
    expect(error).toBeInstanceOf(ConsentRequiredError);
    expect(h.sandbox.ledger().requests).toEqual({});
  });
});

describe('Open Banking tokens', () => {
  it('caches the client-credentials token: one token call for 20 concurrent consents, one more after expiry', async () => {
    const client = accountClient(h.options, h.credentials);
    const create = () => client.createConsent(ctx('tpp'), { permissions: ['ReadAccountsBasic'] });
    await Promise.all(Array.from({ length: 20 }, create));
    expect(h.requests(TOKEN)).toBe(1);
    expect(h.requests(`POST ${AISP_BASE}/account-access-consents`)).toBe(20);
    await Promise.all(Array.from({ length: 20 }, create));
    expect(h.requests(TOKEN)).toBe(1);
    h.clock.advance(301_000);
    await Promise.all(Array.from({ length: 20 }, create));
    expect(h.requests(TOKEN)).toBe(2);
    await client.close();
  });

  it('refreshes an expired customer token once for 20 concurrent calls and saves the rotated tokens', async () => {
    const before = await h.connect('bob-refresh', 'cust_bob');
    h.sandbox.resetLedger();
    const updates = h.credentials.updates;
    h.clock.advance(600_000);
    const lists = await Promise.all(
      Array.from({ length: 20 }, () => h.provider.accounts.listAccounts(ctx('bob-refresh'))),
    );
    expect(lists.every((list) => list.length === 2)).toBe(true);
    expect(h.requests(TOKEN)).toBe(1);
    expect(h.credentials.updates - updates).toBe(1);
    const after = h.credentials.byKey.get('bob-refresh')!;
    expect(after.refreshToken).not.toBe(before.refreshToken);
    expect(after.expiresAt!.getTime()).toBeGreaterThan(h.clock.now());
  });

  it('uses the tokens another replica has just rotated instead of refreshing with the spent ones', async () => {
    const linked = await h.connect('erin-replicas', 'cust_bob');
    h.clock.advance(600_000);
    // The other replica refreshes first and saves the rotated tokens in the shared store.
    const other = accountClient(h.options, h.credentials);
    const rotated = await other.refreshPsuToken(ctx('erin-replicas'), linked);
    await other.close();
    h.sandbox.resetLedger();
    // This one read the link before that, so it holds the spent tokens; the store's lock re-reads.
    const stale = new MemoryCredentials();
    stale.byKey.set('erin-replicas', linked);
    stale.refreshing = (subject, provider, externalRef, fn) =>
      h.credentials.refreshing(subject, provider, externalRef, fn);
    const accounts = await h.provider.accounts.listAccounts({ ...ctx('erin-replicas'), credentials: stale });
    expect(accounts.map((a) => a.partnerId)).toEqual(['bob-current-01', 'bob-savings-01']);
    expect(h.requests(TOKEN)).toBe(0);
    expect(h.credentials.byKey.get('erin-replicas')).toEqual(rotated);
  });

  it("reads and saves the customer's tokens through the call's own credential store", async () => {
    const connected = await h.connect('carol-own-store', 'cust_bob');
    h.credentials.byKey.delete('carol-own-store');
    const own = new MemoryCredentials();
    own.byKey.set('carol-own-store', { ...connected, expiresAt: new Date(h.clock.now() - 1) });
    const updates = h.credentials.updates;
    const call = { ...ctx('carol-own-store'), credentials: own };
    const accounts = await h.provider.accounts.listAccounts(call);
    expect(accounts.map((a) => a.partnerId)).toEqual(['bob-current-01', 'bob-savings-01']);
    // The rotated tokens went to the call's store, not the process-wide one.
    expect(own.updates).toBe(1);
    expect(own.byKey.get('carol-own-store')!.refreshToken).not.toBe(connected.refreshToken);
    expect(h.credentials.updates).toBe(updates);
    expect(h.credentials.byKey.has('carol-own-store')).toBe(false);
    // Without a store of its own, the call reads the process-wide one: no credential there.
    expect(await failure(h.provider.accounts.listAccounts(ctx('carol-own-store')))).toBeInstanceOf(
      ConsentRequiredError,
    );
  });

  it('refreshes and retries once when the bank refuses the access token', async () => {
    await h.provider.accounts.listAccounts(ctx('cust_alice'));
    h.sandbox.resetLedger();
    h.sandbox.setFaults([{ match: ACCOUNTS, kind: 'status', status: 401, times: 1 }]);
    const accounts = await h.provider.accounts.listAccounts(ctx('cust_alice'));
    expect(accounts).toHaveLength(3);
    expect(h.requests(ACCOUNTS)).toBe(2);
    expect(h.requests(TOKEN)).toBe(1);
  });

  it('asks for consent again when the bank keeps refusing the token', async () => {
    h.sandbox.setFaults([{ match: ACCOUNTS, kind: 'status', status: 401, times: 2 }]);
    const error = await failure(h.provider.accounts.listAccounts(ctx('cust_alice')));
    expect(error).toBeInstanceOf(ConsentRequiredError);
  });

  it('asks for consent again when the refresh token is no longer valid', async () => {
    const alice = h.credentials.byKey.get('cust_alice')!;
    h.credentials.byKey.set('stale', {
      ...alice,
      subject: 'stale',
      expiresAt: new Date(0),
      refreshToken: 'revoked',
    });
    const error = await failure(h.provider.accounts.getBalances(ctx('stale'), ['alice-current-01']));
    expect(error).toBeInstanceOf(ConsentRequiredError);
    expect((error as ConsentRequiredError).extensions).toMatchObject({
      provider: 'openbanking',
      permission: 'balances:read',
    });
  });

  it('authenticates the client with client_secret_post as well as HTTP Basic', async () => {
    const client = accountClient({ ...h.options, clientAuth: 'client_secret_post' }, h.credentials);
    const consent = await client.createConsent(ctx('tpp'), { permissions: ['ReadBalances'] });
    expect(consent.Status).toBe('AwaitingAuthorisation');
    await client.close();
  });

  it('rejects wrong client credentials as a non-retryable PARTNER_UNAVAILABLE', async () => {
    const client = accountClient({ ...h.options, clientSecret: 'wrong' }, h.credentials);
    const error = await failure(client.createConsent(ctx('tpp'), { permissions: ['ReadBalances'] }));
    expect(error).toMatchObject({
      code: 'PARTNER_UNAVAILABLE',
      status: 401,
      retryable: false,
      partnerCode: 'invalid_client',
    });
    await client.close();
  });
});

describe('Open Banking paging', () => {
  it('follows Links.Next for accounts and balances when the bank pages them', async () => {
    const small = await startOpenBankingSandbox({ pageSize: 2, now: h.clock.now });
    const store = new MemoryCredentials();
    const paged = createOpenBankingProvider(
      { ...h.options, baseUrl: small.url, sandbox: { approveConsent: sandboxConsentApprover(small.url) } },
      { credentials: store, logger },
    );
    store.byKey.set('cust_alice', { subject: 'cust_alice', ...(await paged.connectCustomer('cust_alice')) });
    const accounts = await paged.accounts.listAccounts(ctx('cust_alice'));
    expect(accounts.map((a) => a.partnerId)).toEqual([
      'alice-current-01',
      'alice-savings-01',
      'alice-card-01',
    ]);
    const balances = await paged.accounts.getBalances(
      ctx('cust_alice'),
      accounts.map((a) => a.partnerId),
    );
    expect(balances.size).toBe(3);
    expect(small.ledger().requests[ACCOUNTS]).toBe(2);
    expect(small.ledger().requests[BALANCES]).toBe(5);
    await paged.close();
    await small.close();
  });
});
