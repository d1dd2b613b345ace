/**
 * The consent lifecycle through the graph against the partner sandboxes: grant -> the customer answers
 * at the partner (the bank's authorisation page and redirect; Plaid Link) -> read -> revoke -> read
 * refused, a declined authorisation, an expired consent, and a revocation while the bank is down.
 * No demo links: each customer's only link is the one these tests make.
 */
import { readFileSync } from 'node:fs';
import { randomBytes } from 'node:crypto';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { customerAnswersAtBank } from '../../sandboxes/openbanking/index.js';
import { customerCompletesLink } from '../../sandboxes/plaid/index.js';
import { startTestApp, type GraphQLAnswer, type TestApp } from '../helpers/app.js';
import { partnerRequests } from './security-support.js';

const SCOPES = ['accounts:read', 'balances:read', 'transactions:read', 'consents:read', 'consents:write'];
const key = () => `consent-e2e-${randomBytes(8).toString('hex')}`;

const CONSENT = 'id provider status permissions grantedAt authorisedAt expiresAt revokedAt';
const GRANT = `mutation($input: GrantConsentInput!, $key: String!) {
  grantConsent(input: $input, idempotencyKey: $key) {
    consent { ${CONSENT} } authorisation { url linkToken state answerBy } userErrors { code message field } } }`;
const COMPLETE = `mutation($input: CompleteConsentInput!, $key: String!) {
  completeConsent(input: $input, idempotencyKey: $key) { consent { ${CONSENT} } userErrors { code field } } }`;
const REVOKE = `mutation($id: ID!, $key: String!) {
  revokeConsent(id: $id, idempotencyKey: $key) { consent { ${CONSENT} } userErrors { code } } }`;
const ACCOUNTS = `query($provider: Provider) { accounts(provider: $provider) { edges { node { id provider
  balance { current { amount } } } } } }`;
const ACCOUNT = `query($id: ID!) { account(id: $id) { id name } }`;
const CONSENTS = `{ consents { ${CONSENT} } }`;

interface ConsentView {
  id: string;
  provider: string;
  status: string;
  permissions: string[];
  authorisedAt: string | null;
  expiresAt: string | null;
  revokedAt: string | null;
}
interface GrantView {
  consent: ConsentView | null;
  authorisation: {
    url: string | null;
    linkToken: string | null;
    state: string;
    answerBy: string | null;
  } | null;
  userErrors: { code: string; field: string[] | null }[];
}

let app: TestApp;
let bankTls: { ca: Buffer; cert: Buffer; key: Buffer };

beforeAll(async () => {
  const extraAccounts = { cust_dave: 2, cust_erin: 1 };
  app = await startTestApp({
    seed: false,
    sandboxes: { openbanking: { extraAccounts }, plaid: { extraAccounts } },
    // Warm reads within a minute: a revoked consent must still be refused, never answered from the cache.
    env: {
      MAX_AGE_ACCOUNTS_SECONDS: '60',
      MAX_AGE_BALANCES_SECONDS: '60',
      MAX_AGE_TRANSACTIONS_SECONDS: '60',
    },
  });
  const files = app.sandboxes.openbanking!.tls!;
  bankTls = {
    ca: readFileSync(files.caFile!),
    cert: readFileSync(files.certFile),
    key: readFileSync(files.keyFile),
  };
}, 120_000);
afterAll(() => app?.close());

async function as(
  subject: string,
  query: string,
  variables?: Record<string, unknown>,
): Promise<GraphQLAnswer> {
  return app.graphql(query, variables, { token: await app.token(subject, SCOPES) });
}

async function grant(subject: string, input: Record<string, unknown>): Promise<GrantView> {
  const answer = await as(subject, GRANT, { input, key: key() });
  expect(answer.body.errors).toBeUndefined();
  return answer.body.data!.grantConsent as GrantView;
}

/** The customer answers at the bank; their browser follows the redirect to Tributary's callback. */
async function answerAtBank(url: string, subject: string, decision: 'approve' | 'reject') {
  const back = await customerAnswersAtBank(url, subject, decision, bankTls);
  const callback = await fetch(back, { redirect: 'manual' });
  return { back, callback, page: await callback.text() };
}

const obRequests = (route: string) => partnerRequests(app.sandboxes)[`openbanking ${route}`] ?? 0;

async function accountsAt(subject: string, provider: string) {
  const answer = await as(subject, ACCOUNTS, { provider });
  expect(answer.body.errors).toBeUndefined();
  return (answer.body.data!.accounts as { edges: { node: { id: string } }[] }).edges.map(
    (edge) => edge.node.id,
  );
}

describe('consents through the graph: Open Banking', () => {
  it('grants, is authorised at the bank through the callback, reads, revokes, and reads nothing after', async () => {
    const subject = 'cust_alice';
    const granted = await grant(subject, {
      provider: 'OPENBANKING',
      permissions: ['accounts:read', 'balances:read', 'transactions:read'],
    });
    expect(granted.consent).toMatchObject({
      provider: 'OPENBANKING',
      status: 'AWAITING_AUTHORISATION',
      authorisedAt: null,
    });
    const url = new URL(granted.authorisation!.url!);
    expect(url.searchParams.get('code_challenge_method')).toBe('S256');
    expect(url.searchParams.get('state')).toBe(granted.authorisation!.state);
    expect(url.searchParams.get('redirect_uri')).toBe(`${app.url}/consents/callback`);
    // Nothing is read with a consent the customer has not authorised.
    expect(await accountsAt(subject, 'OPENBANKING')).toEqual([]);

    const { back, callback, page } = await answerAtBank(url.toString(), subject, 'approve');
    expect(back.searchParams.get('state')).toBe(granted.authorisation!.state);
    expect(callback.status).toBe(200);
    expect(page).toContain('Consent given');
    expect(page).not.toContain(back.searchParams.get('code')!);

    const consents = (await as(subject, CONSENTS)).body.data!.consents as ConsentView[];
    expect(consents).toEqual([expect.objectContaining({ id: granted.consent!.id, status: 'ACTIVE' })]);
    expect(consents[0]!.authorisedAt).not.toBeNull();
    const accounts = await accountsAt(subject, 'OPENBANKING');
    expect(accounts.length).toBeGreaterThan(0);

    // The same answer twice: the grant no longer waits, and nothing changes.
    const again = await fetch(back, { redirect: 'manual' });
    expect(again.status).toBe(400);

    const deletesBefore = obRequests('DELETE /open-banking/v3.1/aisp/account-access-consents/{ConsentId}');
    const revoked = await as(subject, REVOKE, { id: granted.consent!.id, key: key() });
    expect(revoked.body.data!.revokeConsent).toMatchObject({
      consent: { status: 'REVOKED' },
      userErrors: [],
    });
    expect(obRequests('DELETE /open-banking/v3.1/aisp/account-access-consents/{ConsentId}')).toBe(
      deletesBefore + 1,
    );

    const readsBefore = obRequests('GET /open-banking/v3.1/aisp/accounts');
    expect(await accountsAt(subject, 'OPENBANKING')).toEqual([]);
    const one = await as(subject, ACCOUNT, { id: accounts[0] });
    expect(one.body.errors?.[0]?.extensions).toMatchObject({ code: 'CONSENT_REQUIRED' });
    expect(obRequests('GET /open-banking/v3.1/aisp/accounts')).toBe(readsBefore);

    // Revoking again is a user error, not a second deletion.
    const twice = await as(subject, REVOKE, { id: granted.consent!.id, key: key() });
    expect(twice.body.data!.revokeConsent).toMatchObject({ userErrors: [{ code: 'CONSENT_NOT_ACTIVE' }] });
  });

  it('records a customer who declines at the bank as REJECTED, and reads nothing', async () => {
    const subject = 'cust_bob';
    const granted = await grant(subject, { provider: 'OPENBANKING', permissions: ['accounts:read'] });
    const { back, callback, page } = await answerAtBank(granted.authorisation!.url!, subject, 'reject');
    expect(back.searchParams.get('error')).toBe('access_denied');
    expect(callback.status).toBe(200);
    expect(page).toContain('Consent declined');
    const consents = (await as(subject, CONSENTS)).body.data!.consents as ConsentView[];
    expect(consents.find((consent) => consent.id === granted.consent!.id)?.status).toBe('REJECTED');
    expect(await accountsAt(subject, 'OPENBANKING')).toEqual([]);
  });

  it('lets an app that owns the redirect complete the grant, and only for its own subject', async () => {
    const subject = 'cust_carol';
    const granted = await grant(subject, {
      provider: 'OPENBANKING',
      permissions: ['accounts:read', 'balances:read'],
      redirectUri: 'https://app.example/consent-done',
    });
    const back = await customerAnswersAtBank(granted.authorisation!.url!, subject, 'approve', bankTls);
    expect(back.origin + back.pathname).toBe('https://app.example/consent-done');
    const input = { state: back.searchParams.get('state'), code: back.searchParams.get('code') };

    // Neither a code nor an error is not an answer (and declines nothing).
    const empty = await as(subject, COMPLETE, { input: { state: input.state }, key: key() });
    expect(empty.body.errors?.[0]?.extensions).toMatchObject({ code: 'BAD_USER_INPUT', field: 'input.code' });

    // Another customer holding the state and the code gets nothing.
    const stolen = await as('cust_bob', COMPLETE, { input, key: key() });
    expect(stolen.body.data!.completeConsent).toEqual({
      consent: null,
      userErrors: [{ code: 'CONSENT_AUTHORISATION_INVALID', field: ['input', 'state'] }],
    });

    const k = key();
    const done = await as(subject, COMPLETE, { input, key: k });
    expect(done.body.data!.completeConsent).toMatchObject({
      consent: { status: 'ACTIVE', permissions: ['accounts:read', 'balances:read'] },
      userErrors: [],
    });
    const replay = await as(subject, COMPLETE, { input, key: k });
    expect(replay.body.extensions?.idempotency).toMatchObject({ replayed: true });
    expect(replay.body.data).toEqual(done.body.data);
    expect((await accountsAt(subject, 'OPENBANKING')).length).toBeGreaterThan(0);
  });

  it('stops reading when the consent expires, with CONSENT_REQUIRED and nothing from the cache', async () => {
    const subject = 'cust_dave';
    const expiresAt = new Date(Date.now() + 4_000).toISOString();
    const granted = await grant(subject, {
      provider: 'OPENBANKING',
      permissions: ['accounts:read', 'balances:read'],
      expiresAt,
    });
    expect(Date.parse(granted.consent!.expiresAt!)).toBe(Date.parse(expiresAt));
    await answerAtBank(granted.authorisation!.url!, subject, 'approve');
    const accounts = await accountsAt(subject, 'OPENBANKING');
    expect(accounts.length).toBeGreaterThan(0);
    // Wait for the condition (the consent's own expiry), not for a fixed time.
    await expect
      .poll(async () => (await accountsAt(subject, 'OPENBANKING')).length, { timeout: 15_000, interval: 250 })
      .toBe(0);
    const one = await as(subject, ACCOUNT, { id: accounts[0] });
    expect(one.body.errors?.[0]?.extensions).toMatchObject({ code: 'CONSENT_REQUIRED' });
    const consents = (await as(subject, CONSENTS)).body.data!.consents as ConsentView[];
    expect(consents.find((consent) => consent.id === granted.consent!.id)?.status).toBe('EXPIRED');
  });

  it('revokes at once while the bank is down, and deletes at the bank once it is back', async () => {
    const subject = 'cust_erin';
    const granted = await grant(subject, { provider: 'OPENBANKING', permissions: ['accounts:read'] });
    await answerAtBank(granted.authorisation!.url!, subject, 'approve');
    const bank = app.sandboxes.openbanking!.handle;

    bank.setFaults([
      {
        kind: 'status',
        status: 503,
        match: 'DELETE /open-banking/v3.1/aisp/account-access-consents/{ConsentId}',
      },
    ]);
    const revoked = await as(subject, REVOKE, { id: granted.consent!.id, key: key() });
    expect(revoked.body.errors).toBeUndefined();
    expect(revoked.body.data!.revokeConsent).toMatchObject({
      consent: { status: 'REVOKED' },
      userErrors: [],
    });
    expect(await accountsAt(subject, 'OPENBANKING')).toEqual([]);

    // The deletion waits, with the credential the bank may need, until the bank confirms it.
    const consents = app.server.services.consents;
    const [row] = await app.server.services.db.query<{
      due: Date | null;
      attempts: number;
      sealed: string | null;
    }>(
      `SELECT partner_revocation_due AS due, partner_revocation_attempts AS attempts, credentials_sealed AS sealed
       FROM consents WHERE subject = $1`,
      [subject],
    );
    expect(row).toMatchObject({ attempts: 1, sealed: expect.any(String) });
    expect(row!.due!.getTime()).toBeGreaterThan(Date.now());

    bank.setFaults([]);
    // Time passes until the retry is due; the worker's next run reaches the bank.
    await app.server.services.db.query(
      `UPDATE consents SET partner_revocation_due = now() WHERE subject = $1 AND partner_revocation_due IS NOT NULL`,
      [subject],
    );
    await app.server.services.revocationWorker.runNow();
    expect((await consents.duePartnerRevocations(10)).some((item) => item.consent.subject === subject)).toBe(
      false,
    );
    const [after] = await app.server.services.db.query<{ sealed: string | null }>(
      'SELECT credentials_sealed AS sealed FROM consents WHERE subject = $1',
      [subject],
    );
    expect(after?.sealed).toBeNull();
    const audit = await app.server.services.db.query<{ action: string }>(
      `SELECT action FROM audit_log WHERE subject = $1 ORDER BY seq`,
      [subject],
    );
    expect(audit.map((row) => row.action)).toEqual([
      'consent.requested',
      'consent.granted',
      'consent.revoked',
      'consent.deleted_at_partner',
    ]);
  });
});

describe('consents through the graph: Plaid', () => {
  it('grants with a Link token, completes with the public token, reads, revokes with /item/remove', async () => {
    const subject = 'cust_alice';
    const granted = await grant(subject, {
      provider: 'PLAID',
      permissions: ['accounts:read', 'balances:read', 'transactions:read'],
    });
    expect(granted.authorisation).toMatchObject({
      url: null,
      linkToken: expect.stringMatching(/^link-sandbox-/),
    });
    const linked = await customerCompletesLink(
      app.sandboxes.plaid!.handle.url,
      granted.authorisation!.linkToken!,
      subject,
    );
    expect('publicToken' in linked).toBe(true);
    const done = await as(subject, COMPLETE, {
      input: { state: granted.authorisation!.state, code: (linked as { publicToken: string }).publicToken },
      key: key(),
    });
    expect(done.body.data!.completeConsent).toMatchObject({ consent: { status: 'ACTIVE' }, userErrors: [] });
    const accounts = await accountsAt(subject, 'PLAID');
    expect(accounts.length).toBeGreaterThan(0);

    const removes = () => partnerRequests(app.sandboxes)['plaid POST /item/remove'] ?? 0;
    const before = removes();
    const revoked = await as(subject, REVOKE, { id: granted.consent!.id, key: key() });
    expect(revoked.body.data!.revokeConsent).toMatchObject({ consent: { status: 'REVOKED' } });
    expect(removes()).toBe(before + 1);
    expect(await accountsAt(subject, 'PLAID')).toEqual([]);
    const one = await as(subject, ACCOUNT, { id: accounts[0] });
    expect(one.body.errors?.[0]?.extensions).toMatchObject({ code: 'CONSENT_REQUIRED' });
  });

  it('records a customer who leaves Link as REJECTED', async () => {
    const subject = 'cust_bob';
    const granted = await grant(subject, { provider: 'PLAID', permissions: ['accounts:read'] });
    const exited = await customerCompletesLink(
      app.sandboxes.plaid!.handle.url,
      granted.authorisation!.linkToken!,
      subject,
      'exit',
    );
    expect(exited).toEqual({ exited: true });
    const done = await as(subject, COMPLETE, {
      input: { state: granted.authorisation!.state, error: 'requires_credentials' },
      key: key(),
    });
    expect(done.body.data!.completeConsent).toMatchObject({
      consent: { status: 'REJECTED' },
      userErrors: [{ code: 'CONSENT_DECLINED' }],
    });
  });

  it('refuses permissions Plaid cannot grant with a clear input error, before calling Plaid', async () => {
    const before = partnerRequests(app.sandboxes)['plaid POST /link/token/create'] ?? 0;
    const answer = await as('cust_bob', GRANT, {
      input: { provider: 'PLAID', permissions: ['payments:write'] },
      key: key(),
    });
    expect(answer.body.errors?.[0]?.extensions).toMatchObject({
      code: 'BAD_USER_INPUT',
      field: 'permissions',
    });
    expect(partnerRequests(app.sandboxes)['plaid POST /link/token/create'] ?? 0).toBe(before);
  });
});
