/**
 * Plaid Link against the sandbox: /link/token/create through the official SDK, the customer's side
 * of Link (customerCompletesLink), the public token exchange, and /item/remove.
 */
import { Configuration, CountryCode, PlaidApi, Products, type LinkTokenCreateRequest } from 'plaid';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { SandboxHandle } from '../../sandboxes/kit/sandbox.js';
import {
  customerCompletesLink,
  PLAID_SANDBOX_CLIENT_ID,
  PLAID_SANDBOX_SECRET,
  SandboxLinkError,
  SEEDED_ACCOUNTS,
  startPlaidSandbox,
} from '../../sandboxes/plaid/index.js';
import { loadPlaidSpec, specIssues } from '../datasources/plaid/spec.js';
import { plaidError } from './plaid-sdk-errors.js';

let now = Date.parse('2025-03-15T12:00:00Z');
let sandbox: SandboxHandle;
let api: PlaidApi;

const headers = { 'PLAID-CLIENT-ID': PLAID_SANDBOX_CLIENT_ID, 'PLAID-SECRET': PLAID_SANDBOX_SECRET };
const WEBHOOK = 'https://app.example.test/plaid/webhook';

const request = (overrides: Partial<LinkTokenCreateRequest> = {}): LinkTokenCreateRequest => ({
  client_name: 'Tributary',
  language: 'en',
  country_codes: [CountryCode.Gb, CountryCode.Us],
  user: { client_user_id: 'user-ref-1' },
  products: [Products.Transactions],
  webhook: WEBHOOK,
  ...overrides,
});

async function linkToken(overrides: Partial<LinkTokenCreateRequest> = {}): Promise<string> {
  return (await api.linkTokenCreate(request(overrides))).data.link_token;
}

const completeRaw = (body: Record<string, unknown>) =>
  fetch(`${sandbox.url}/__sandbox/link/complete`, {
    method: 'POST',
    headers: { 'content-type': 'application/json' },
    body: JSON.stringify(body),
  });

/** The SandboxLinkError a completion fails with. */
const linkError = (attempt: Promise<unknown>) =>
  attempt.then(
    () => new Error('expected Link to fail'),
    (error: unknown) => error,
  );

beforeAll(async () => {
  sandbox = await startPlaidSandbox({ now: () => now });
  api = new PlaidApi(new Configuration({ basePath: sandbox.url, baseOptions: { headers } }));
});
afterAll(async () => {
  await sandbox?.close();
});

describe('plaid Link through the sandbox', () => {
  it('creates a link token that expires four hours later', async () => {
    const { data } = await api.linkTokenCreate(request({ redirect_uri: 'https://app.example.test/oauth' }));
    expect(data.link_token).toMatch(/^link-sandbox-[0-9a-f-]{36}$/);
    expect(data.expiration).toBe('2025-03-15T16:00:00Z');
    expect(data.request_id).toMatch(/^[A-Za-z0-9]{15}$/);
  });

  const spec = loadPlaidSpec();
  it.skipIf(spec === null)('answers /link/token/create as the Plaid spec describes', async () => {
    const { data } = await api.linkTokenCreate(request());
    expect(specIssues(spec!, 'LinkTokenCreateResponse', data)).toEqual([]);
    const missing = await plaidError(api.linkTokenCreate({} as LinkTokenCreateRequest));
    expect(specIssues(spec!, 'PlaidError', missing.body)).toEqual([]);
  });

  it('answers missing and invalid fields with Plaid error objects', async () => {
    const missing = await plaidError(
      api.linkTokenCreate({ client_name: 'Tributary' } as LinkTokenCreateRequest),
    );
    expect(missing).toMatchObject({
      status: 400,
      body: {
        error_type: 'INVALID_REQUEST',
        error_code: 'MISSING_FIELDS',
        error_message: 'the following required fields are missing: language, country_codes, user, products',
      },
    });
    const noUserId = await plaidError(api.linkTokenCreate(request({ user: {} as never })));
    expect(noUserId.body.error_message).toContain('user.client_user_id');
    const emptyCountries = await plaidError(api.linkTokenCreate(request({ country_codes: [] })));
    expect(emptyCountries.body).toMatchObject({ error_code: 'INVALID_FIELD' });
    const balance = await plaidError(api.linkTokenCreate(request({ products: [Products.Balance] })));
    expect(balance.body).toMatchObject({ error_code: 'INVALID_FIELD' });
    const bare = new PlaidApi(new Configuration({ basePath: sandbox.url }));
    expect((await plaidError(bare.linkTokenCreate(request()))).body.error_code).toBe('MISSING_FIELDS');
  });

  it('turns a completed Link into a public token the app exchanges for the Item', async () => {
    const completed = await customerCompletesLink(sandbox.url, await linkToken(), 'cust_bob');
    if (!('publicToken' in completed)) throw new Error('expected a public token');
    expect(completed.publicToken).toMatch(/^public-sandbox-/);
    const exchanged = await api.itemPublicTokenExchange({ public_token: completed.publicToken });
    const accessToken = exchanged.data.access_token;
    const { data } = await api.accountsGet({ access_token: accessToken });
    expect(data.accounts.map((a) => a.account_id)).toEqual(SEEDED_ACCOUNTS.cust_bob);
    expect(data.item).toMatchObject({
      item_id: exchanged.data.item_id,
      institution_id: 'ins_109508',
      webhook: WEBHOOK,
      products: ['transactions'],
    });
  });

  it('serves one completion per link token, an exit included', async () => {
    const token = await linkToken();
    await customerCompletesLink(sandbox.url, token, 'user_good');
    const again = await linkError(customerCompletesLink(sandbox.url, token, 'user_good'));
    expect(again).toBeInstanceOf(SandboxLinkError);
    expect(again).toMatchObject({ status: 400, code: 'INVALID_LINK_TOKEN' });
    const exited = await linkToken();
    expect(await customerCompletesLink(sandbox.url, exited, 'cust_alice', 'exit')).toEqual({ exited: true });
    const raw = await completeRaw({ link_token: exited, username: 'cust_alice', decision: 'exit' });
    expect([raw.status, await raw.json()]).toEqual([
      400,
      { error: 'INVALID_LINK_TOKEN', message: 'the link token is unknown, used or expired' },
    ]);
    expect(
      await linkError(customerCompletesLink(sandbox.url, 'link-sandbox-unknown', 'cust_alice')),
    ).toMatchObject({
      code: 'INVALID_LINK_TOKEN',
    });
  });

  it('refuses wrong credentials in Plaid shape and lets the customer try again', async () => {
    const token = await linkToken();
    const wrong = await completeRaw({ link_token: token, username: 'cust_alice', password: 'pass_bad' });
    expect(wrong.status).toBe(400);
    expect(await wrong.json()).toMatchObject({ error_type: 'ITEM_ERROR', error_code: 'INVALID_CREDENTIALS' });
    expect(await linkError(customerCompletesLink(sandbox.url, token, 'cust_nobody'))).toMatchObject({
      status: 400,
      code: 'INVALID_CREDENTIALS',
    });
    expect(await customerCompletesLink(sandbox.url, token, 'cust_alice')).toEqual({
      publicToken: expect.stringMatching(/^public-sandbox-/),
    });
  });

  it('expires link tokens after four hours', async () => {
    const token = await linkToken();
    now += 4 * 3_600_000;
    expect(await linkError(customerCompletesLink(sandbox.url, token, 'cust_alice'))).toMatchObject({
      code: 'INVALID_LINK_TOKEN',
    });
  });

  it('invalidates the access token of a removed Item; removing it again is refused', async () => {
    const completed = await customerCompletesLink(sandbox.url, await linkToken(), 'cust_carol');
    if (!('publicToken' in completed)) throw new Error('expected a public token');
    const { access_token } = (await api.itemPublicTokenExchange({ public_token: completed.publicToken }))
      .data;
    await api.itemRemove({ access_token });
    const calls = [
      () => api.accountsGet({ access_token }),
      () => api.transactionsSync({ access_token }),
      () => api.itemRemove({ access_token }),
    ];
    for (const call of calls) {
      expect((await plaidError(call())).body).toMatchObject({
        error_type: 'ITEM_ERROR',
        error_code: 'ITEM_NOT_FOUND',
      });
    }
  });
});
