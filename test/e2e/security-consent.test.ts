import pino from 'pino';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createLoaders } from '../../resolvers/loaders.js';
import type { Registry } from '../../datasources/registry.js';
import type { ConsentRepository } from '../../store/consents.js';
import { startTestApp, type TestApp } from '../helpers/app.js';
import { partnerRequests, resetLedgers } from './security-support.js';

const OB_ACCOUNTS = `{ accounts(provider: OPENBANKING) { edges { node { id
  balance { current { amount } } transactions(first: 3) { edges { node { id } } } } } } }`;

let app: TestApp;
let consents: ConsentRepository;
beforeAll(async () => {
  const extra = { cust_carol: 2, cust_dave: 2 };
  app = await startTestApp({
    customers: ['cust_alice', 'cust_bob', 'cust_carol', 'cust_dave'],
    sandboxes: { openbanking: { extraAccounts: extra }, plaid: { extraAccounts: extra } },
  });
  consents = app.server.services.consents;
});
afterAll(() => app?.close());

type Edge = { node: { id: string; transactions: { edges: { node: { id: string } }[] } } };
const edgesOf = (data: unknown) => (data as { accounts: { edges: Edge[] } }).accounts.edges;
const obRequests = () =>
  Object.keys(partnerRequests(app.sandboxes)).filter((route) => route.startsWith('openbanking'));

/** Replaces the subject's Open Banking consent by one with other permissions or expiry, same link. */
async function replaceConsent(
  subject: string,
  changes: { permissions?: string[]; grantedAt?: Date; expiresAt?: Date | null },
): Promise<void> {
  const current = await consents.findActive(subject, 'openbanking');
  const credential = await consents.credentials.get(subject, 'openbanking');
  if (!current || !credential) throw new Error(`${subject} is not linked to openbanking`);
  await consents.revoke(subject, current.id);
  await consents.grant({
    subject,
    provider: 'openbanking',
    permissions: changes.permissions ?? current.permissions,
    partnerRef: credential.externalRef,
    credential: {
      accessToken: credential.accessToken,
      refreshToken: credential.refreshToken,
      expiresAt: credential.expiresAt,
    },
    expiresAt: changes.expiresAt ?? null,
    ...(changes.grantedAt ? { grantedAt: changes.grantedAt } : {}),
  });
}

/** Every read path by id to one of the subject's Open Banking accounts and one of its transactions. */
async function readsById(subject: string, accountId: string, transactionId: string) {
  const entities =
    'query($r: [_Any!]!) { _entities(representations: $r) { ... on Account { id } ... on Transaction { id } } }';
  return Promise.all([
    app.graphql('query($id: ID!) { account(id: $id) { id } }', { id: accountId }, { subject }),
    app.graphql(
      'query($id: ID) { transactions(accountId: $id) { edges { node { id } } } }',
      { id: accountId },
      { subject },
    ),
    app.graphql(entities, { r: [{ __typename: 'Account', id: accountId }] }, { subject }),
    app.graphql(entities, { r: [{ __typename: 'Transaction', id: transactionId }] }, { subject }),
  ]);
}

async function firstObjects(subject: string) {
  const { body } = await app.graphql(OB_ACCOUNTS, {}, { subject });
  expect(body.errors).toBeUndefined();
  const account = edgesOf(body.data).find((edge) => edge.node.transactions.edges.length > 0)!.node;
  return { accountId: account.id, transactionId: account.transactions.edges[0]!.node.id };
}

describe('consent-aware reads', () => {
  it("reads the subject's active consents once per request for every provider and permission", async () => {
    const asked: string[] = [];
    const listActive = consents.listActive.bind(consents);
    consents.listActive = async (subject) => {
      asked.push(subject);
      return listActive(subject);
    };
    try {
      const { body } = await app.graphql(OB_ACCOUNTS, {}, { subject: 'cust_alice' });
      expect(body.errors).toBeUndefined();
      expect(edgesOf(body.data).length).toBeGreaterThan(1);
    } finally {
      consents.listActive = listActive;
    }
    expect(asked).toEqual(['cust_alice']);
  });

  it('refuses a permission the consent lacks with CONSENT_REQUIRED, and never calls the partner for it', async () => {
    await replaceConsent('cust_dave', { permissions: ['accounts:read'] });
    resetLedgers(app.sandboxes);
    const balances = await app.graphql(
      '{ accounts(provider: OPENBANKING) { edges { node { id balance { current { amount } } } } } }',
      {},
      { subject: 'cust_dave' },
    );
    const edges = edgesOf(balances.body.data);
    expect(edges.length).toBeGreaterThan(0);
    expect(edges.every((edge) => (edge.node as { balance?: unknown }).balance === null)).toBe(true);
    for (const error of balances.body.errors ?? []) {
      expect(error.extensions).toMatchObject({ code: 'CONSENT_REQUIRED', permission: 'balances:read' });
    }
    const transactions = await app.graphql(
      '{ transactions { edges { node { id } } } }',
      {},
      { subject: 'cust_dave' },
    );
    expect(transactions.body.errors?.[0]?.extensions).toMatchObject({
      code: 'CONSENT_REQUIRED',
      permission: 'transactions:read',
    });
    expect(obRequests().filter((route) => /balances|transactions/.test(route))).toEqual([]);
  });

  it('answers CONSENT_REQUIRED on every path by id once the consent is revoked, without a partner call', async () => {
    const { accountId, transactionId } = await firstObjects('cust_alice');
    const consent = await consents.findActive('cust_alice', 'openbanking');
    await consents.revoke('cust_alice', consent!.id);
    resetLedgers(app.sandboxes);
    for (const { body } of await readsById('cust_alice', accountId, transactionId)) {
      expect(body.errors?.[0]?.extensions).toMatchObject({
        code: 'CONSENT_REQUIRED',
        provider: 'openbanking',
      });
      expect(JSON.stringify(body.data)).not.toContain(accountId);
    }
    const list = await app.graphql(OB_ACCOUNTS, {}, { subject: 'cust_alice' });
    expect(JSON.stringify(list.body)).not.toContain(accountId);
    expect(obRequests()).toEqual([]);
  });

  it('answers CONSENT_REQUIRED once the consent has expired', async () => {
    const { accountId, transactionId } = await firstObjects('cust_bob');
    const day = 24 * 3600 * 1000;
    await replaceConsent('cust_bob', {
      grantedAt: new Date(Date.now() - 2 * day),
      expiresAt: new Date(Date.now() - day),
    });
    resetLedgers(app.sandboxes);
    for (const { body } of await readsById('cust_bob', accountId, transactionId)) {
      expect(body.errors?.[0]?.extensions?.code).toBe('CONSENT_REQUIRED');
    }
    expect(obRequests()).toEqual([]);
    const { body } = await app.graphql('{ consents { provider status } }', {}, { subject: 'cust_bob' });
    expect(body.data?.consents).toContainEqual({ provider: 'OPENBANKING', status: 'EXPIRED' });
  });

  it('serves up to the moment a consent expires, and not after', async () => {
    const { accountId } = await firstObjects('cust_carol');
    // Long enough for the first read to finish before it on a loaded machine; then wait for the moment.
    const expiresAt = new Date(Date.now() + 3_000);
    await replaceConsent('cust_carol', { expiresAt });
    const before = await app.graphql(
      'query($id: ID!) { account(id: $id) { id } }',
      { id: accountId },
      { subject: 'cust_carol' },
    );
    expect(before.body.data?.account).toEqual({ id: accountId });
    expect(Date.now()).toBeLessThan(expiresAt.getTime());
    await new Promise((resolve) => setTimeout(resolve, Math.max(0, expiresAt.getTime() - Date.now()) + 100));
    const after = await app.graphql(
      'query($id: ID!) { account(id: $id) { id } }',
      { id: accountId },
      { subject: 'cust_carol' },
    );
    expect(after.body.errors?.[0]?.extensions?.code).toBe('CONSENT_REQUIRED');
  });

  it('enforces consent in the data layer itself: loaders refuse before reaching the registry', async () => {
    const untouchable = new Proxy({} as Registry, {
      get: (_target, name) => () => {
        throw new Error(`the registry was asked for ${String(name)}`);
      },
    });
    const loaders = createLoaders(
      {
        principal: { subject: 'cust_alice', scopes: new Set() },
        correlationId: 'test-consent',
        logger: pino({ level: 'silent' }),
      },
      {
        partners: { accounts: (name) => untouchable.accounts(name), isPartner: () => true },
        consents,
        payments: { paymentsById: async () => new Map() },
        disputes: { byPayments: async () => new Map() },
      },
    );
    await expect(loaders.accountsByProvider.load('openbanking')).rejects.toMatchObject({
      code: 'CONSENT_REQUIRED',
    });
    await expect(loaders.requireConsent('openbanking', 'balances:read')).rejects.toMatchObject({
      code: 'CONSENT_REQUIRED',
    });
  });
});
