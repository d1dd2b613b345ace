/**
 * Wire fidelity: the official `plaid` SDK, unmodified, against the loopback sandbox.
 */
import { Configuration, PlaidApi, Products, type TransactionsSyncResponse } from 'plaid';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import {
  PLAID_SANDBOX_CLIENT_ID,
  PLAID_SANDBOX_SECRET,
  SEEDED_ACCOUNTS,
  startPlaidSandbox,
} from '../../sandboxes/plaid/index.js';
import type { SandboxHandle } from '../../sandboxes/kit/sandbox.js';
import { plaidError } from './plaid-sdk-errors.js';

let now = Date.parse('2025-03-15T12:00:00Z');
let sandbox: SandboxHandle;
let api: PlaidApi;
let bare: PlaidApi;

const headers = { 'PLAID-CLIENT-ID': PLAID_SANDBOX_CLIENT_ID, 'PLAID-SECRET': PLAID_SANDBOX_SECRET };
const control = (path: string, body: unknown) =>
  fetch(`${sandbox.url}/__sandbox/plaid/${path}`, { method: 'POST', body: JSON.stringify(body) });

async function link(customer: string): Promise<{ accessToken: string; itemId: string }> {
  const created = await api.sandboxPublicTokenCreate({
    institution_id: 'ins_109508',
    initial_products: [Products.Transactions],
    options: { override_username: customer },
  });
  const exchanged = await api.itemPublicTokenExchange({ public_token: created.data.public_token });
  return { accessToken: exchanged.data.access_token, itemId: exchanged.data.item_id };
}

async function syncAll(accessToken: string, cursor: string | undefined, count: number) {
  const pages: TransactionsSyncResponse[] = [];
  let next = cursor;
  do {
    const { data } = await api.transactionsSync({
      access_token: accessToken,
      count,
      ...(next ? { cursor: next } : {}),
    });
    pages.push(data);
    next = data.next_cursor;
  } while (pages.at(-1)?.has_more);
  return pages;
}

beforeAll(async () => {
  sandbox = await startPlaidSandbox({ now: () => now });
  api = new PlaidApi(new Configuration({ basePath: sandbox.url, baseOptions: { headers } }));
  bare = new PlaidApi(new Configuration({ basePath: sandbox.url }));
});
afterAll(async () => {
  await sandbox?.close();
});

describe('plaid sandbox through the official SDK', () => {
  it('links a seeded customer with a sandbox public token and serves only their accounts', async () => {
    const { accessToken, itemId } = await link('cust_bob');
    const { data } = await api.accountsGet({ access_token: accessToken });
    expect(data.accounts.map((a) => a.account_id)).toEqual(SEEDED_ACCOUNTS.cust_bob);
    expect(data.item.item_id).toBe(itemId);
    expect(data.request_id).toMatch(/^[A-Za-z0-9]{15}$/);
  });

  it('accepts client_id and secret in the body instead of the headers', async () => {
    const { data } = await bare.sandboxPublicTokenCreate({
      client_id: PLAID_SANDBOX_CLIENT_ID,
      secret: PLAID_SANDBOX_SECRET,
      institution_id: 'ins_109509',
      initial_products: [Products.Transactions],
    });
    expect(data.public_token).toMatch(/^public-sandbox-/);
  });

  it('answers bad credentials, missing fields and unknown fields with Plaid error objects', async () => {
    expect(await plaidError(bare.accountsGet({ access_token: 'x' }))).toMatchObject({
      status: 400,
      body: { error_type: 'INVALID_REQUEST', error_code: 'MISSING_FIELDS', display_message: null },
    });
    const wrong = new PlaidApi(
      new Configuration({
        basePath: sandbox.url,
        baseOptions: { headers: { ...headers, 'PLAID-SECRET': 'nope' } },
      }),
    );
    expect((await plaidError(wrong.accountsGet({ access_token: 'x' }))).body.error_code).toBe(
      'INVALID_API_KEYS',
    );
    const unknown = api.accountsGet({ access_token: 'x', surprise: true } as never);
    expect((await plaidError(unknown)).body).toMatchObject({ error_code: 'UNKNOWN_FIELDS' });
    const invalid = await plaidError(api.accountsGet({ access_token: 'access-sandbox-unknown' }));
    expect(invalid.body).toMatchObject({ error_type: 'INVALID_INPUT', error_code: 'INVALID_ACCESS_TOKEN' });
    expect(invalid.body.request_id).toMatch(/^[A-Za-z0-9]{15}$/);
  });

  it('refuses unknown sandbox users and reused or expired public tokens', async () => {
    const stranger = api.sandboxPublicTokenCreate({
      institution_id: 'ins_109508',
      initial_products: [Products.Transactions],
      options: { override_username: 'cust_nobody' },
    });
    expect(await plaidError(stranger)).toMatchObject({
      status: 400,
      body: { error_code: 'INVALID_CREDENTIALS' },
    });
    const { data } = await api.sandboxPublicTokenCreate({
      institution_id: 'ins_109508',
      initial_products: [Products.Auth],
    });
    await api.itemPublicTokenExchange({ public_token: data.public_token });
    const reused = await plaidError(api.itemPublicTokenExchange({ public_token: data.public_token }));
    expect(reused.body.error_code).toBe('INVALID_PUBLIC_TOKEN');
    const later = await api.sandboxPublicTokenCreate({
      institution_id: 'ins_109508',
      initial_products: [Products.Auth],
    });
    now += 31 * 60_000;
    const expired = await plaidError(api.itemPublicTokenExchange({ public_token: later.data.public_token }));
    expect(expired.body.error_code).toBe('INVALID_PUBLIC_TOKEN');
  });

  it('filters balances by account id and rejects ids that are not on the Item', async () => {
    const { accessToken } = await link('cust_alice');
    const card = SEEDED_ACCOUNTS.cust_alice?.[1] as string;
    const { data } = await api.accountsBalanceGet({
      access_token: accessToken,
      options: { account_ids: [card] },
    });
    expect(data.accounts.map((a) => [a.account_id, a.balances.current, a.balances.limit])).toEqual([
      [card, 432.1, 5000],
    ]);
    const foreign = SEEDED_ACCOUNTS.cust_bob?.[0] as string;
    const error = await plaidError(
      api.accountsBalanceGet({ access_token: accessToken, options: { account_ids: [foreign] } }),
    );
    expect(error.body.error_code).toBe('INVALID_ACCOUNT_ID');
  });

  it('pages /transactions/sync with count, has_more and next_cursor, then reports only changes', async () => {
    const { accessToken } = await link('cust_bob');
    const pages = await syncAll(accessToken, undefined, 4);
    expect(pages.map((p) => [p.added.length, p.has_more])).toEqual([
      [4, true],
      [4, true],
      [4, true],
      [3, false],
    ]);
    expect(new Set(pages.flatMap((p) => p.added.map((t) => t.transaction_id))).size).toBe(15);
    const last = pages.at(-1)?.next_cursor;
    const bobAccount = SEEDED_ACCOUNTS.cust_bob?.[0] as string;
    const pendingId = pages.flatMap((p) => p.added).find((t) => t.pending)?.transaction_id;
    await control('transactions', {
      customer: 'cust_bob',
      add: [{ account_id: bobAccount, amount: 9.99, name: 'NEW' }],
      post: [{ transaction_id: pendingId }],
    });
    const [changes] = await syncAll(accessToken, last, 100);
    expect(changes?.added.map((t) => [t.name, t.pending, t.pending_transaction_id])).toEqual([
      ['NEW', false, null],
      [expect.any(String), false, pendingId],
    ]);
    expect(changes?.removed).toEqual([{ transaction_id: pendingId, account_id: bobAccount }]);
    expect(
      (await plaidError(api.transactionsSync({ access_token: accessToken, count: 501 }))).body.error_code,
    ).toBe('INVALID_FIELD');
  });

  it('fails a paginated sync whose data changed mid-way, and succeeds when restarted from its first cursor', async () => {
    const { accessToken } = await link('cust_carol');
    const first = (await api.transactionsSync({ access_token: accessToken, count: 3 })).data;
    expect(first.has_more).toBe(true);
    const account = first.added[0]?.account_id as string;
    await control('transactions', {
      customer: 'cust_carol',
      add: [{ account_id: account, amount: 1, name: 'MID-WAY' }],
    });
    const error = await plaidError(
      api.transactionsSync({ access_token: accessToken, cursor: first.next_cursor, count: 3 }),
    );
    expect(error).toMatchObject({
      status: 400,
      body: { error_type: 'TRANSACTIONS_ERROR', error_code: 'TRANSACTIONS_SYNC_MUTATION_DURING_PAGINATION' },
    });
    const restarted = await syncAll(accessToken, undefined, 3);
    expect(restarted.flatMap((p) => p.added).map((t) => t.name)).toContain('MID-WAY');
  });

  it('rejects a cursor issued for another Item', async () => {
    const alice = await link('cust_alice');
    const bob = await link('cust_bob');
    const { data } = await api.transactionsSync({ access_token: alice.accessToken });
    const error = await plaidError(
      api.transactionsSync({ access_token: bob.accessToken, cursor: data.next_cursor }),
    );
    expect(error.body.error_code).toBe('INVALID_FIELD');
  });

  it('describes and removes an Item; a removed Item answers ITEM_NOT_FOUND', async () => {
    const { accessToken, itemId } = await link('cust_alice');
    const item = (await api.itemGet({ access_token: accessToken })).data.item;
    expect(item).toMatchObject({
      item_id: itemId,
      institution_id: 'ins_109508',
      error: null,
      update_type: 'background',
    });
    expect((await api.itemRemove({ access_token: accessToken })).data.request_id).toBeTruthy();
    const gone = await plaidError(api.accountsGet({ access_token: accessToken }));
    expect(gone.body).toMatchObject({ error_type: 'ITEM_ERROR', error_code: 'ITEM_NOT_FOUND' });
  });

  it('injects faults that look like Plaid and counts only partner routes', async () => {
    const { accessToken } = await link('cust_alice');
    sandbox.resetLedger();
    sandbox.setFaults([{ kind: 'rate_limit', retryAfter: 3, match: '/accounts/get', times: 1 }]);
    const limited = await api.accountsGet({ access_token: accessToken }).catch((e: unknown) => e);
    const response = (
      limited as { response: { status: number; headers: Record<string, string>; data: unknown } }
    ).response;
    expect(response.status).toBe(429);
    expect(response.headers['retry-after']).toBe('3');
    expect(response.data).toMatchObject({ error_type: 'RATE_LIMIT_EXCEEDED', error_code: 'ACCOUNTS_LIMIT' });
    await control('item-error', { customer: 'cust_alice', error_code: null });
    expect(sandbox.ledger().requests).toEqual({ 'POST /accounts/get': 1 });
  });

  it('answers other methods and unknown routes with Plaid error objects', async () => {
    const get = await fetch(`${sandbox.url}/accounts/get`);
    expect(get.status).toBe(405);
    expect(await get.json()).toMatchObject({ error_type: 'INVALID_REQUEST' });
    const missing = await fetch(`${sandbox.url}/nowhere`, { method: 'POST', headers, body: '{}' });
    expect(missing.status).toBe(404);
    const notJson = await fetch(`${sandbox.url}/accounts/get`, {
      method: 'POST',
      headers: { ...headers, 'content-type': 'application/json' },
      body: '{nope',
    });
    expect(await notJson.json()).toMatchObject({ error_code: 'INVALID_BODY' });
  });
});
