import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { ConsentRequiredError, PartnerError } from '../../../domain/errors.js';
import { SEEDED_ACCOUNTS } from '../../../sandboxes/plaid/index.js';
import { MemoryCredentials, startHarness, type Harness } from './harness.js';

describe('plaid provider: accounts and balances', () => {
  let h: Harness;
  beforeAll(async () => {
    h = await startHarness({ sandbox: { extraAccounts: { cust_dave: 22 } } });
    await Promise.all(['cust_alice', 'cust_bob', 'cust_dave'].map((subject) => h.link(subject)));
  });
  afterAll(async () => {
    await h?.close();
  });

  it('links a customer through the sandbox public token flow without storing a token itself', async () => {
    const link = await h.provider.connectSandboxCustomer?.('cust_bob');
    expect(link).toMatchObject({
      refreshToken: null,
      tokenExpiresAt: null,
      expiresAt: null,
      permissions: ['accounts:read', 'balances:read', 'transactions:read'],
    });
    expect(link?.accessToken).toMatch(/^access-sandbox-/);
    expect(link?.externalRef).toMatch(/^[A-Za-z0-9]{37}$/);
    const rows = await h.db.query('SELECT * FROM plaid_sync_items');
    expect(JSON.stringify(rows)).not.toContain('access-sandbox-');
  });

  it("lists only the subject's own accounts: alice and bob are never mixed", async () => {
    const alice = await h.accounts.listAccounts(h.ctx('cust_alice'));
    const bob = await h.accounts.listAccounts(h.ctx('cust_bob'));
    expect(alice.map((a) => a.partnerId)).toEqual(SEEDED_ACCOUNTS.cust_alice);
    expect(bob.map((a) => a.partnerId)).toEqual(SEEDED_ACCOUNTS.cust_bob);
    expect(alice.every((a) => a.ownerId === 'cust_alice' && a.provider === 'plaid')).toBe(true);
    expect(bob.every((a) => a.ownerId === 'cust_bob')).toBe(true);
    expect(alice.map((a) => [a.type, a.currency, a.maskedNumber])).toEqual([
      ['CURRENT', 'USD', '0000'],
      ['CREDIT_CARD', 'USD', '3333'],
    ]);
    expect(alice[0]?.freshness).toMatchObject({ source: 'LIVE', provider: 'plaid' });
  });

  it('reads balances with the canonical sign: a credit card balance owed is negative', async () => {
    const [checking, card] = SEEDED_ACCOUNTS.cust_alice as [string, string];
    const balances = await h.accounts.getBalances(h.ctx('cust_alice'), [checking, card]);
    expect(balances.get(checking)?.current).toEqual({ minor: 124567n, currency: 'USD' });
    expect(balances.get(card)?.current).toEqual({ minor: -43210n, currency: 'USD' });
    expect(balances.get(card)?.available).toEqual({ minor: 456790n, currency: 'USD' });
  });

  it("never returns another subject's balance, even when asked for it by id", async () => {
    const bobs = SEEDED_ACCOUNTS.cust_bob as string[];
    const balances = await h.accounts.getBalances(h.ctx('cust_alice'), bobs);
    expect(balances.size).toBe(0);
  });

  it('costs one partner call for 22 accounts and one for all their balances', async () => {
    h.sandbox.resetLedger();
    const accounts = await h.accounts.listAccounts(h.ctx('cust_dave'));
    expect(accounts).toHaveLength(22);
    const balances = await h.accounts.getBalances(
      h.ctx('cust_dave'),
      accounts.map((a) => a.partnerId),
    );
    expect(balances.size).toBe(22);
    expect(h.sandbox.ledger().requests).toEqual({ 'POST /accounts/balance/get': 1, 'POST /accounts/get': 1 });
  });

  it('makes no partner call for an empty request', async () => {
    h.sandbox.resetLedger();
    expect((await h.accounts.getBalances(h.ctx('cust_alice'), [])).size).toBe(0);
    expect(await h.accounts.listTransactions(h.ctx('cust_alice'), [], {})).toEqual([]);
    expect(h.sandbox.ledger().requests).toEqual({});
  });

  it('sends the correlation id and the credentials in headers on every call', async () => {
    await h.accounts.listAccounts(h.ctx('cust_alice', 'corr-accounts-1'));
    const call = (await h.calls()).at(-1);
    expect(call).toMatchObject({
      route: '/accounts/get',
      correlationId: 'corr-accounts-1',
      credentials: 'headers',
    });
  });

  it("reads the subject's Item link from the call's own credential store", async () => {
    const own = new MemoryCredentials();
    own.bySubject.set('cust_erin', { ...h.credentials.bySubject.get('cust_bob')!, subject: 'cust_erin' });
    const accounts = await h.accounts.listAccounts({ ...h.ctx('cust_erin'), credentials: own });
    expect(accounts.map((account) => account.ownerId)).toEqual(accounts.map(() => 'cust_erin'));
    expect(accounts.length).toBeGreaterThan(0);
    // The process-wide store has no link for that subject.
    await expect(h.accounts.listAccounts(h.ctx('cust_erin'))).rejects.toBeInstanceOf(ConsentRequiredError);
  });

  it('asks for consent when the subject has no Plaid credential', async () => {
    const ctx = h.ctx('cust_nobody');
    h.sandbox.resetLedger();
    await expect(h.accounts.listAccounts(ctx)).rejects.toBeInstanceOf(ConsentRequiredError);
    await expect(h.accounts.getBalances(ctx, ['x'])).rejects.toMatchObject({
      code: 'CONSENT_REQUIRED',
      extensions: { provider: 'plaid', permission: 'balances:read' },
    });
    await expect(h.accounts.listTransactions(ctx, ['x'], {})).rejects.toBeInstanceOf(ConsentRequiredError);
    expect(h.sandbox.ledger().requests).toEqual({});
  });

  it('asks for consent again when Plaid says the Item needs the user to log in', async () => {
    await h.control('item-error', { customer: 'cust_bob', error_code: 'ITEM_LOGIN_REQUIRED' });
    try {
      const ctx = h.ctx('cust_bob');
      await expect(h.accounts.listAccounts(ctx)).rejects.toBeInstanceOf(ConsentRequiredError);
      // Each endpoint's answer names the permission a re-link restores.
      await expect(h.accounts.getBalances(ctx, ['x'])).rejects.toMatchObject({
        code: 'CONSENT_REQUIRED',
        extensions: { provider: 'plaid', permission: 'balances:read' },
      });
      await expect(h.accounts.listTransactions(ctx, ['x'], {})).rejects.toMatchObject({
        code: 'CONSENT_REQUIRED',
        extensions: { provider: 'plaid', permission: 'transactions:read' },
      });
      expect(h.logs.some((line) => line.includes('"partnerCode":"ITEM_LOGIN_REQUIRED"'))).toBe(true);
    } finally {
      await h.control('item-error', { customer: 'cust_bob', error_code: null });
    }
  });

  it('refuses a token that opens another Item than the one linked for the subject', async () => {
    const alice = h.credentials.bySubject.get('cust_alice');
    const bob = h.credentials.bySubject.get('cust_bob');
    if (!alice || !bob) throw new Error('not linked');
    h.credentials.bySubject.set('cust_mallory', {
      ...bob,
      subject: 'cust_mallory',
      externalRef: alice.externalRef,
    });
    const error = await h.accounts.listAccounts(h.ctx('cust_mallory')).catch((e: unknown) => e);
    expect(error).toBeInstanceOf(PartnerError);
    expect(error).toMatchObject({
      code: 'PARTNER_CONTRACT_VIOLATION',
      issues: [expect.stringMatching(/item_id/)],
    });
  });

  it('never writes the access token or the Plaid secret to its logs', async () => {
    const tokens = [...h.credentials.bySubject.values()].map((c) => c.accessToken);
    const text = h.logs.join('\n');
    expect(text.length).toBeGreaterThan(0);
    for (const token of tokens) expect(text).not.toContain(token);
    expect(text).not.toContain('tributary-dev-plaid-secret');
  });
});
