/**
 * The sandbox against Plaid's published OpenAPI spec (DESIGN §6: a sandbox that disagrees with its
 * partner's spec is a bug): every response and error it sends, the recorded fixtures, and the enums
 * the client's zod contracts were written from.
 */
import { existsSync, readdirSync } from 'node:fs';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { ACCOUNT_SUBTYPES, ACCOUNT_TYPES, ERROR_TYPES } from '../../datasources/plaid/types.js';
import { fromRoot } from '../../store/paths.js';
import type { SandboxHandle } from '../../sandboxes/kit/sandbox.js';
import {
  PLAID_SANDBOX_CLIENT_ID,
  PLAID_SANDBOX_SECRET,
  startPlaidSandbox,
} from '../../sandboxes/plaid/index.js';
import { plaidFixture } from '../datasources/plaid/fixtures.js';
import { loadPlaidSpec, PLAID_SPEC_PATH, specIssues, type PlaidSpec } from '../datasources/plaid/spec.js';

const available = existsSync(PLAID_SPEC_PATH);
if (!available)
  console.warn(`Plaid spec not found at ${PLAID_SPEC_PATH}: the sandbox-vs-spec suite is skipped.`);

describe.skipIf(!available)('plaid sandbox against the Plaid OpenAPI spec (2020-09-14)', () => {
  let spec: PlaidSpec;
  let sandbox: SandboxHandle;

  const post = async (path: string, body: Record<string, unknown>) => {
    const response = await fetch(`${sandbox.url}${path}`, {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: JSON.stringify({ client_id: PLAID_SANDBOX_CLIENT_ID, secret: PLAID_SANDBOX_SECRET, ...body }),
    });
    return { status: response.status, body: (await response.json()) as Record<string, unknown> };
  };
  const conforms = (schema: string, body: unknown) => expect(specIssues(spec, schema, body)).toEqual([]);
  const link = async (customer: string) => {
    const created = await post('/sandbox/public_token/create', {
      institution_id: 'ins_109508',
      initial_products: ['transactions'],
      options: { override_username: customer },
    });
    conforms('SandboxPublicTokenCreateResponse', created.body);
    const exchanged = await post('/item/public_token/exchange', { public_token: created.body.public_token });
    conforms('ItemPublicTokenExchangeResponse', exchanged.body);
    return exchanged.body.access_token as string;
  };

  beforeAll(async () => {
    spec = loadPlaidSpec() as PlaidSpec;
    sandbox = await startPlaidSandbox();
  });
  afterAll(async () => {
    await sandbox?.close();
  });

  it('checks what it is told to check (the checker itself catches violations)', () => {
    expect(specIssues(spec, 'RemovedTransaction', { transaction_id: 'x' })).toEqual([
      'RemovedTransaction.account_id: required by the spec, missing',
    ]);
    expect(specIssues(spec, 'AccountBase', { type: 'chequing' })).toContain(
      'AccountBase.type: "chequing" is not one of the spec\'s values',
    );
  });

  it('answers the link flow, accounts and balances as the spec describes', async () => {
    for (const customer of ['cust_alice', 'cust_bob', 'cust_carol']) {
      const token = await link(customer);
      conforms('AccountsGetResponse', (await post('/accounts/get', { access_token: token })).body);
      conforms('AccountsGetResponse', (await post('/accounts/balance/get', { access_token: token })).body);
      conforms('ItemGetResponse', (await post('/item/get', { access_token: token })).body);
    }
  });

  it('answers /transactions/sync pages, changes and removals as the spec describes', async () => {
    const token = await link('cust_alice');
    let cursor: string | undefined;
    let page: Record<string, unknown>;
    const pending: string[] = [];
    do {
      page = (
        await post('/transactions/sync', { access_token: token, count: 7, ...(cursor ? { cursor } : {}) })
      ).body;
      conforms('TransactionsSyncResponse', page);
      const added = page.added as { transaction_id: string; pending: boolean }[];
      pending.push(...added.filter((t) => t.pending).map((t) => t.transaction_id));
      cursor = page.next_cursor as string;
    } while (page.has_more);
    await fetch(`${sandbox.url}/__sandbox/plaid/transactions`, {
      method: 'POST',
      body: JSON.stringify({ customer: 'cust_alice', post: [{ transaction_id: pending[0] }] }),
    });
    const changes = (await post('/transactions/sync', { access_token: token, cursor })).body;
    conforms('TransactionsSyncResponse', changes);
    expect(changes.removed).toHaveLength(1);
    expect(changes.added).toHaveLength(1);
  });

  it('answers /item/remove and every error as the spec describes', async () => {
    const token = await link('cust_bob');
    conforms('ItemRemoveResponse', (await post('/item/remove', { access_token: token })).body);
    const errors = [
      await post('/accounts/get', { access_token: token }),
      await post('/accounts/get', { access_token: 'access-sandbox-unknown' }),
      await post('/accounts/get', { access_token: 'x', secret: 'wrong' }),
      await post('/transactions/sync', { access_token: token, count: 0 }),
      await post('/sandbox/public_token/create', {
        institution_id: 'ins_1',
        initial_products: ['transactions'],
      }),
    ];
    sandbox.setFaults([
      { kind: 'rate_limit', times: 1 },
      { kind: 'status', status: 500, times: 1 },
    ]);
    errors.push(await post('/accounts/get', {}), await post('/accounts/get', {}));
    sandbox.setFaults([]);
    for (const error of errors) {
      expect(error.status).toBeGreaterThanOrEqual(400);
      conforms('PlaidError', error.body);
    }
  });

  it('recorded fixtures conform to the spec', () => {
    const schemas: [RegExp, string][] = [
      [/^accounts-(balance-)?get\./, 'AccountsGetResponse'],
      [/^transactions-sync\./, 'TransactionsSyncResponse'],
    ];
    const files = readdirSync(fromRoot('test', 'fixtures', 'plaid')).filter((file) => file.endsWith('.json'));
    expect(files.length).toBeGreaterThanOrEqual(9);
    for (const file of files) {
      const body = plaidFixture<Record<string, unknown>>(file);
      if (file.startsWith('error.')) conforms('PlaidError', body.body);
      else conforms(schemas.find(([pattern]) => pattern.test(file))?.[1] ?? `no schema for ${file}`, body);
    }
  });

  it("the client's zod enums are the spec's enums", () => {
    expect([...ACCOUNT_TYPES].sort()).toEqual([...(spec.schemas.AccountType?.enum as string[])].sort());
    expect([...ACCOUNT_SUBTYPES].sort()).toEqual(
      [...(spec.schemas.AccountSubtype?.enum as string[])].map(String).sort(),
    );
    expect([...ERROR_TYPES].sort()).toEqual([...(spec.schemas.PlaidErrorType?.enum as string[])].sort());
  });
});
