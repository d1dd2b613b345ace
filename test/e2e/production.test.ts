import { randomBytes } from 'node:crypto';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { generateDevKey, signDevToken } from '../../server/auth.js';
import { startSandboxes, stopSandboxes, type RunningSandboxes } from '../../sandboxes/index.js';
import { startTestApp, type TestApp } from '../helpers/app.js';
import { startJwksServer } from '../helpers/jwks.js';

const ROUTER_SECRET = randomBytes(24).toString('hex');
const ISSUER = 'https://id.tributary.test/';
const AUDIENCE = 'tributary-api';

let app: TestApp;
let jwks: Awaited<ReturnType<typeof startJwksServer>>;
let partners: RunningSandboxes;
const idpKey = await generateDevKey();

const tokenFor = (subject: string, overrides: { audience?: string; issuer?: string } = {}) =>
  signDevToken(idpKey, {
    subject,
    scopes: ['accounts:read', 'balances:read', 'transactions:read'],
    issuer: overrides.issuer ?? ISSUER,
    audience: overrides.audience ?? AUDIENCE,
  });

beforeAll(async () => {
  jwks = await startJwksServer([idpKey.publicJwk]);
  // In production the bank is "configured", not a dev sandbox: point the config at a running one.
  partners = await startSandboxes();
  const bank = partners.openbanking!;
  app = await startTestApp({
    seed: false,
    env: {
      NODE_ENV: 'production',
      DATABASE_URL: 'postgres://unused.invalid/tributary',
      AUTH_JWKS_URL: jwks.url,
      AUTH_ISSUER: ISSUER,
      AUTH_AUDIENCE: AUDIENCE,
      ROUTER_SECRET,
      SECRETS_KEY: `k1:${randomBytes(32).toString('base64')}`,
      OPENBANKING_BASE_URL: bank.handle.url,
      OPENBANKING_CLIENT_ID: bank.clientId ?? '',
      OPENBANKING_CLIENT_SECRET: bank.clientSecret,
    },
  });
});
afterAll(async () => {
  await app?.close();
  await stopSandboxes(partners);
  await jwks?.close();
});

const asRouter = { 'router-authorization': ROUTER_SECRET };

describe('a production deployment', () => {
  it('refuses requests that do not come through the router', async () => {
    const { status, body } = await app.graphql('{ __typename }', {}, { token: await tokenFor('cust_alice') });
    expect(status).toBe(403);
    expect(body.errors?.[0]?.extensions?.code).toBe('FORBIDDEN');
    const wrong = await app.graphql(
      '{ __typename }',
      {},
      { token: await tokenFor('cust_alice'), headers: { 'router-authorization': 'x'.repeat(48) } },
    );
    expect(wrong.status).toBe(403);
  });

  it('verifies tokens against the JWKS: issuer and audience are checked', async () => {
    const ok = await app.graphql(
      '{ consents { id } }',
      {},
      { token: await tokenFor('cust_alice'), headers: asRouter },
    );
    expect(ok.body.errors?.[0]?.extensions?.code).not.toBe('UNAUTHENTICATED');
    const wrongAudience = await app.graphql(
      '{ __typename }',
      {},
      { token: await tokenFor('cust_alice', { audience: 'other' }), headers: asRouter },
    );
    expect(wrongAudience.body.errors?.[0]?.extensions?.code).toBe('UNAUTHENTICATED');
    const devSigned = await signDevToken(app.devKey, {
      subject: 'cust_alice',
      scopes: ['accounts:read'],
      issuer: ISSUER,
      audience: AUDIENCE,
    });
    const foreignKey = await app.graphql('{ __typename }', {}, { token: devSigned, headers: asRouter });
    expect(foreignKey.body.errors?.[0]?.extensions?.code).toBe('UNAUTHENTICATED');
  });

  it('masks an unexpected failure as INTERNAL_SERVER_ERROR without its message, SQL or stack', async () => {
    await app.server.services.db.query('DROP TABLE consents CASCADE');
    const { body } = await app.graphql(
      '{ accounts { edges { node { id } } } }',
      {},
      { token: await tokenFor('cust_alice'), headers: asRouter },
    );
    const error = body.errors?.[0];
    expect(error?.extensions?.code).toBe('INTERNAL_SERVER_ERROR');
    expect(error?.message).toBe('Internal server error.');
    expect(typeof error?.extensions?.correlationId).toBe('string');
    const text = JSON.stringify(body);
    for (const leak of [/consents/, /relation "/, /SELECT /i, /stacktrace/, /\.ts:\d+/, /PGlite|pglite/]) {
      expect(text).not.toMatch(leak);
    }
  });

  it('turns introspection off', async () => {
    const { body } = await app.graphql(
      '{ __schema { types { name } } }',
      {},
      { token: await tokenFor('cust_alice'), headers: asRouter },
    );
    expect(body.data ?? null).toBeNull();
    expect(body.errors?.[0]?.extensions?.code).toBe('BAD_USER_INPUT');
  });
});
