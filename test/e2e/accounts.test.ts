import { composeServices } from '@apollo/composition';
import { readFileSync } from 'node:fs';
import { parse } from 'graphql';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { fromRoot } from '../../store/paths.js';
import { startTestApp, type TestApp } from '../helpers/app.js';

const DASHBOARD = /* GraphQL */ `
  query Dashboard {
    accounts {
      edges {
        node {
          id
          provider
          name
          type
          currency
          maskedNumber
          freshness {
            source
            provider
          }
          balance {
            current {
              amount
              currency
            }
            available {
              amount
              currency
            }
            asOf
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
                  currency
                }
                status
                description
                bookedAt
                account {
                  id
                }
              }
            }
            pageInfo {
              hasNextPage
              endCursor
            }
          }
        }
      }
    }
  }
`;

// eslint-disable-next-line @typescript-eslint/no-explicit-any -- response bodies are checked field by field
type Edge = { node: Record<string, any> };

let app: TestApp;
beforeAll(async () => {
  app = await startTestApp({
    // One page holds everything here, so request counts measure batching, not the bank's paging.
    sandboxes: {
      openbanking: { extraAccounts: { cust_many: 60 }, pageSize: 1000 },
      plaid: { extraAccounts: { cust_many: 5 } },
    },
    customers: ['cust_alice', 'cust_bob', 'cust_many'],
  });
});
afterAll(() => app?.close());

describe('accounts over HTTP, end to end with the partner sandboxes', () => {
  it("serves cust_alice's accounts from Open Banking and Plaid with balances and transactions", async () => {
    const { status, body } = await app.graphql(DASHBOARD);
    expect(status).toBe(200);
    expect(body.errors).toBeUndefined();
    const edges = (body.data?.accounts as { edges: Edge[] }).edges;
    expect(new Set(edges.map(({ node }) => node.provider))).toEqual(new Set(['OPENBANKING', 'PLAID']));
    for (const { node } of edges) {
      expect(node.freshness).toEqual({ source: 'LIVE', provider: node.provider });
      expect(node.balance.current.amount).toMatch(/^-?\d+\.\d{2}$/);
      expect(node.balance.current.currency).toBe(node.currency);
      if (node.maskedNumber !== null) expect(node.maskedNumber).toMatch(/^.{1,4}$/);
      expect(node.transactions.edges.length).toBeGreaterThan(0);
      expect(node.transactions.edges.length).toBeLessThanOrEqual(10);
      for (const edge of node.transactions.edges as Edge[]) expect(edge.node.account.id).toBe(node.id);
    }
    expect(edges.some(({ node }) => node.balance.current.amount.startsWith('-'))).toBe(true);
  });

  it("never shows cust_bob cust_alice's accounts", async () => {
    const alice = await app.graphql('{ accounts { edges { node { id } } } }');
    const bob = await app.graphql('{ accounts { edges { node { id } } } }', {}, { subject: 'cust_bob' });
    const ids = (answer: typeof alice) =>
      (answer.body.data?.accounts as { edges: Edge[] }).edges.map((edge) => edge.node.id);
    expect(ids(bob).length).toBeGreaterThan(0);
    expect(ids(alice).filter((id) => ids(bob).includes(id))).toEqual([]);
    const stolen = await app.graphql(
      'query($id: ID!) { account(id: $id) { name } }',
      { id: ids(alice)[0] },
      { subject: 'cust_bob' },
    );
    expect(stolen.body.data?.account).toBeNull();
    expect(stolen.body.errors?.[0]?.extensions?.code).toBe('NOT_FOUND');
  });

  it('makes one bulk call per resource kind for the whole dashboard, whatever the number of accounts', async () => {
    const sandbox = app.sandboxes.openbanking!.handle;
    sandbox.resetLedger();
    const { body } = await app.graphql(DASHBOARD, {}, { subject: 'cust_many' });
    expect(body.errors).toBeUndefined();
    expect((body.data?.accounts as { edges: Edge[] }).edges.length).toBe(20);
    const requests = sandbox.ledger().requests;
    expect(requests['GET /open-banking/v3.1/aisp/accounts']).toBe(1);
    expect(requests['GET /open-banking/v3.1/aisp/balances']).toBe(1);
    expect(requests['GET /open-banking/v3.1/aisp/transactions']).toBe(1);
    expect(requests['GET /open-banking/v3.1/aisp/accounts/{AccountId}']).toBeUndefined();
  });

  it('resolves 50 Account references through _entities with one bulk call, not 50', async () => {
    const all = await app.graphql(
      '{ accounts(first: 100) { edges { node { id } } } }',
      {},
      { subject: 'cust_many' },
    );
    const ids = (all.body.data?.accounts as { edges: Edge[] }).edges.map((edge) => edge.node.id).slice(0, 50);
    expect(ids).toHaveLength(50);
    const sandbox = app.sandboxes.openbanking!.handle;
    sandbox.resetLedger();
    const { body } = await app.graphql(
      'query($r: [_Any!]!) { _entities(representations: $r) { ... on Account { id name balance { current { amount } } } } }',
      { r: ids.map((id) => ({ __typename: 'Account', id })) },
      { subject: 'cust_many' },
    );
    expect(body.errors).toBeUndefined();
    expect((body.data?._entities as { id: string }[]).map((entity) => entity.id)).toEqual(ids);
    const requests = sandbox.ledger().requests;
    expect(requests['GET /open-banking/v3.1/aisp/accounts']).toBe(1);
    expect(requests['GET /open-banking/v3.1/aisp/balances']).toBe(1);
    expect(Object.keys(requests).filter((route) => route.includes('{AccountId}'))).toEqual([]);
  });

  it('pages transactions with Relay cursors', async () => {
    const first = await app.graphql(
      '{ transactions(first: 5) { edges { cursor node { id } } pageInfo { hasNextPage endCursor } } }',
    );
    const page = first.body.data?.transactions as {
      edges: { cursor: string; node: { id: string } }[];
      pageInfo: { hasNextPage: boolean; endCursor: string };
    };
    expect(page.edges).toHaveLength(5);
    expect(page.pageInfo.hasNextPage).toBe(true);
    const next = await app.graphql(
      'query($after: String) { transactions(first: 5, after: $after) { edges { node { id } } } }',
      {
        after: page.pageInfo.endCursor,
      },
    );
    const nextIds = (next.body.data?.transactions as { edges: Edge[] }).edges.map((edge) => edge.node.id);
    expect(nextIds).toHaveLength(5);
    expect(nextIds.filter((id) => page.edges.some((edge) => edge.node.id === id))).toEqual([]);
  });

  it('refuses first outside 1..100', async () => {
    for (const first of [0, 101]) {
      const { status, body } = await app.graphql(
        'query($n: Int) { accounts(first: $n) { edges { node { id } } } }',
        { n: first },
      );
      expect(status).toBe(400);
      expect(body.errors?.[0]?.extensions?.code).toBe('BAD_USER_INPUT');
    }
  });

  it('answers UNAUTHENTICATED without a token, with a bad token, and with an expired one', async () => {
    const none = await app.graphql('{ accounts { edges { node { id } } } }', {}, { token: null });
    expect(none.body.errors?.[0]?.extensions?.code).toBe('UNAUTHENTICATED');
    const forged = await app.graphql('{ accounts { edges { node { id } } } }', {}, { token: 'e30.e30.c2ln' });
    expect(forged.status).toBe(401);
    expect(forged.body.errors?.[0]?.extensions?.code).toBe('UNAUTHENTICATED');
    const expired = await app.graphql(
      '{ accounts { edges { node { id } } } }',
      {},
      { token: await app.token('cust_alice', undefined, { ttlSeconds: -120 }) },
    );
    expect(expired.body.errors?.[0]?.extensions?.code).toBe('UNAUTHENTICATED');
  });

  it('forbids every cache to keep a GraphQL answer (Cache-Control: no-store), data and errors alike', async () => {
    const answered = await app.graphql('{ accounts { edges { node { id } } } }');
    expect(answered.body.errors).toBeUndefined();
    expect(answered.headers.get('cache-control')).toBe('no-store');
    const refused = await app.graphql('{ account(id: "nope") { id } }');
    expect(refused.body.errors?.length).toBeGreaterThan(0);
    expect(refused.headers.get('cache-control')).toBe('no-store');
  });

  it('stamps every error with the correlation id it echoes in x-request-id', async () => {
    const { headers, body } = await app.graphql(
      '{ account(id: "nope") { id } }',
      {},
      { headers: { 'x-request-id': 'req-1234567890' } },
    );
    expect(headers.get('x-request-id')).toBe('req-1234567890');
    expect(body.errors?.[0]?.extensions?.correlationId).toBe('req-1234567890');
  });

  it('publishes an SDL through _service that composes with a neighbour Customer subgraph', async () => {
    const { body } = await app.graphql('{ _service { sdl } }');
    const sdl = (body.data?._service as { sdl: string }).sdl;
    const customers = readFileSync(fromRoot('test', 'fixtures', 'subgraphs', 'customers.graphql'), 'utf8');
    const result = composeServices([
      { name: 'tributary', url: 'http://tributary/graphql', typeDefs: parse(sdl) },
      { name: 'customers', url: 'http://customers/graphql', typeDefs: parse(customers) },
    ]);
    expect(result.errors ?? []).toEqual([]);
    expect(result.supergraphSdl).toContain('type Customer');
  });
});
