/**
 * Batching over real HTTP: whatever the number of accounts or references, one request costs at most
 * one call per partner and resource kind (the partner sandboxes count what they were asked).
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { SandboxHandle } from '../../sandboxes/kit/sandbox.js';
import { startTestApp, type TestApp } from '../helpers/app.js';

const DASHBOARD = /* GraphQL */ `
  query Dashboard {
    accounts(first: 20) {
      edges {
        node {
          id
          provider
          name
          freshness {
            source
          }
          balance {
            current {
              amount
              currency
            }
            freshness {
              source
            }
          }
          transactions(first: 10) {
            edges {
              node {
                id
                amount {
                  amount
                }
                bookedAt
              }
            }
          }
        }
      }
    }
  }
`;

const ENTITIES = /* GraphQL */ `
  query ($r: [_Any!]!) {
    _entities(representations: $r) {
      ... on Account {
        id
        name
        balance {
          current {
            amount
          }
        }
        transactions(first: 3) {
          edges {
            node {
              id
            }
          }
        }
      }
    }
  }
`;

type Node = { id: string; provider: string; balance: unknown; transactions: { edges: unknown[] } };

let app: TestApp;
beforeAll(async () => {
  app = await startTestApp({
    sandboxes: {
      // cust_twenty: ten accounts at each partner; cust_hundred: fifty at each. One bank page holds all.
      openbanking: { extraAccounts: { cust_twenty: 10, cust_hundred: 50 }, pageSize: 1000 },
      plaid: { extraAccounts: { cust_twenty: 10, cust_hundred: 50 } },
    },
    customers: ['cust_twenty', 'cust_hundred'],
  });
});
afterAll(() => app?.close());

function sandboxes(): [string, SandboxHandle][] {
  return Object.entries(app.sandboxes).map(([name, sandbox]) => [name, sandbox.handle]);
}

function resetLedgers(): void {
  for (const [, handle] of sandboxes()) handle.resetLedger();
}

/** Requests per route at each partner since the last reset. */
function counts(): Record<string, Record<string, number>> {
  return Object.fromEntries(sandboxes().map(([name, handle]) => [name, { ...handle.ledger().requests }]));
}

/** Every data route (not the OAuth/link plumbing) was called at most `max` times. */
function expectAtMost(max: number, observed: Record<string, Record<string, number>>): void {
  for (const [partner, routes] of Object.entries(observed)) {
    for (const [route, count] of Object.entries(routes)) {
      expect({ partner, route, count }).toEqual({ partner, route, count: Math.min(count, max) });
    }
  }
}

describe('batching against the partner sandboxes', () => {
  it('serves a 20-account dashboard over two partners with one call per partner and resource kind', async () => {
    resetLedgers();
    const { body } = await app.graphql(DASHBOARD, {}, { subject: 'cust_twenty' });
    expect(body.errors).toBeUndefined();
    const nodes = (body.data?.accounts as { edges: { node: Node }[] }).edges.map((edge) => edge.node);
    expect(nodes).toHaveLength(20);
    expect(new Set(nodes.map((node) => node.provider))).toEqual(new Set(['OPENBANKING', 'PLAID']));
    for (const node of nodes) expect(node.balance).not.toBeNull();

    const observed = counts();
    expect(observed.openbanking).toMatchObject({
      'GET /open-banking/v3.1/aisp/accounts': 1,
      'GET /open-banking/v3.1/aisp/balances': 1,
      'GET /open-banking/v3.1/aisp/transactions': 1,
    });
    expect(observed.plaid).toMatchObject({ 'POST /accounts/get': 1, 'POST /accounts/balance/get': 1 });
    expect(observed.plaid?.['POST /transactions/sync']).toBeLessThanOrEqual(2);
    expectAtMost(2, observed);
    expect(Object.keys(observed.openbanking ?? {}).filter((route) => route.includes('{AccountId}'))).toEqual(
      [],
    );
  });

  it("answers a later dashboard's Plaid transactions from the local copy, without syncing on the read", async () => {
    await app.graphql(DASHBOARD, {}, { subject: 'cust_twenty' });
    resetLedgers();
    const { body } = await app.graphql(DASHBOARD, {}, { subject: 'cust_twenty' });
    expect(body.errors).toBeUndefined();
    const observed = counts();
    expect(observed.plaid).toMatchObject({ 'POST /accounts/get': 1, 'POST /accounts/balance/get': 1 });
    expect(observed.plaid?.['POST /transactions/sync']).toBeUndefined();
    const nodes = (body.data?.accounts as { edges: { node: Node }[] }).edges.map((edge) => edge.node);
    const plaidTransactions = nodes
      .filter((node) => node.provider === 'PLAID')
      .flatMap((node) => node.transactions.edges);
    expect(plaidTransactions.length).toBeGreaterThan(0);
  });

  it('resolves 100 Account references through _entities with at most one call per provider and resource kind', async () => {
    const all = await app.graphql(
      '{ accounts(first: 100) { edges { node { id } } } }',
      {},
      { subject: 'cust_hundred' },
    );
    const ids = (all.body.data?.accounts as { edges: { node: { id: string } }[] }).edges.map(
      (edge) => edge.node.id,
    );
    expect(ids).toHaveLength(100);

    resetLedgers();
    const { body } = await app.graphql(
      ENTITIES,
      { r: ids.map((id) => ({ __typename: 'Account', id })) },
      { subject: 'cust_hundred' },
    );
    expect(body.errors).toBeUndefined();
    const entities = body.data?._entities as Node[];
    expect(entities.map((entity) => entity.id)).toEqual(ids);
    for (const entity of entities) expect(entity.balance).not.toBeNull();

    const observed = counts();
    expect(observed.openbanking).toMatchObject({
      'GET /open-banking/v3.1/aisp/accounts': 1,
      'GET /open-banking/v3.1/aisp/balances': 1,
      'GET /open-banking/v3.1/aisp/transactions': 1,
    });
    expect(observed.plaid).toMatchObject({ 'POST /accounts/get': 1, 'POST /accounts/balance/get': 1 });
    expectAtMost(1, observed);
  });

  it('never shares a loader or a cached value between subjects in one process', async () => {
    const twenty = await app.graphql(
      '{ accounts(first: 100) { edges { node { id } } } }',
      {},
      { subject: 'cust_twenty' },
    );
    const ids = (twenty.body.data?.accounts as { edges: { node: { id: string } }[] }).edges.map(
      (e) => e.node.id,
    );
    const stolen = await app.graphql(
      ENTITIES,
      { r: ids.slice(0, 5).map((id) => ({ __typename: 'Account', id })) },
      { subject: 'cust_hundred' },
    );
    expect(stolen.body.data?._entities).toEqual([null, null, null, null, null]);
  });
});
