/**
 * One partner hanging must not slow another partner's data: the hanging partner's bulkhead holds its
 * own connections, a full queue fails fast, and a query over both partners answers in its normal time
 * with the healthy partner's data and an error on the failed path.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startTestApp, type TestApp } from '../helpers/app.js';

const READ_TIMEOUT_MS = 4_000;
const DEADLINE_MS = 5_000;
const MARGIN_MS = 1_500;
const ROUTE = 'GET /open-banking/v3.1/aisp/accounts';

const DASHBOARD = /* GraphQL */ `
  {
    accounts {
      edges {
        node {
          id
          provider
          freshness {
            source
          }
          balance {
            current {
              amount
            }
            freshness {
              source
            }
          }
          transactions(first: 10) {
            edges {
              node {
                id
              }
            }
          }
        }
      }
    }
  }
`;

type Node = {
  provider: string;
  freshness: { source: string };
  balance: { current: { amount: string }; freshness: { source: string } };
  transactions: { edges: unknown[] };
};
const BANK_ONLY = '{ accounts(provider: OPENBANKING) { edges { node { id } } } }';

let app: TestApp;
const sandbox = () => app.sandboxes.openbanking!.handle;

async function timed(query: string, subject: string) {
  const started = performance.now();
  const answer = await app.graphql(query, {}, { subject });
  return { ...answer, ms: performance.now() - started };
}

beforeAll(async () => {
  app = await startTestApp({
    env: {
      PARTNER_MAX_CONNECTIONS: '2',
      PARTNER_BULKHEAD_QUEUE: '1',
      PARTNER_READ_TIMEOUT_MS: String(READ_TIMEOUT_MS),
      PARTNER_READ_DEADLINE_MS: String(DEADLINE_MS),
      PARTNER_RETRY_ATTEMPTS: '0',
      PARTNER_BREAKER_MIN_REQUESTS: '100000',
    },
  });
});
afterAll(() => app?.close());

describe('a hanging partner is isolated', () => {
  it("answers the other partner's data in its normal time while one partner hangs", async () => {
    // cust_alice has been read once (the fallback holds her bank data); cust_bob never has.
    const normal = await timed(DASHBOARD, 'cust_alice');
    expect(normal.body.errors).toBeUndefined();
    const plaidAccounts = await app.graphql(
      '{ accounts(provider: PLAID) { edges { node { id } } } }',
      {},
      {
        subject: 'cust_bob',
      },
    );
    const plaidCount = (plaidAccounts.body.data?.accounts as { edges: unknown[] }).edges.length;
    expect(plaidCount).toBeGreaterThan(0);

    sandbox().resetLedger();
    sandbox().setFaults([{ kind: 'hang' }]);
    // Three requests hang at the bank: two hold its connections, one waits in the bulkhead's queue.
    const started = performance.now();
    const hanging = Array.from({ length: 3 }, () => timed(BANK_ONLY, 'cust_alice'));
    for (let waited = 0; (sandbox().ledger().requests[ROUTE] ?? 0) < 2 && waited < 5_000; waited += 25) {
      await new Promise((resolve) => setTimeout(resolve, 25));
    }
    expect(sandbox().ledger().requests[ROUTE]).toBe(2);

    // A subject with nothing cached: the healthy partner's data, and an error on the failed path.
    const cold = await timed(DASHBOARD, 'cust_bob');
    expect(cold.ms).toBeLessThan(normal.ms + 1_000);
    expect(cold.ms).toBeLessThan(READ_TIMEOUT_MS);
    const nodes = (cold.body.data?.accounts as { edges: { node: Node }[] }).edges.map(({ node }) => node);
    expect(nodes).toHaveLength(plaidCount);
    for (const node of nodes) {
      expect(node.provider).toBe('PLAID');
      expect(node.freshness.source).toBe('LIVE');
      expect(node.balance.current.amount).toMatch(/^-?\d+\.\d+$/);
      expect(node.transactions.edges.length).toBeGreaterThan(0);
    }
    expect(cold.body.errors).toEqual([
      expect.objectContaining({
        path: ['accounts'],
        extensions: expect.objectContaining({
          code: 'PARTNER_UNAVAILABLE',
          partner: 'openbanking',
          retryable: true,
        }),
      }),
    ]);

    // A subject read before: everything, the bank's part CACHED, in its normal time too.
    const warm = await timed(DASHBOARD, 'cust_alice');
    expect(warm.body.errors).toBeUndefined();
    expect(warm.ms).toBeLessThan(normal.ms + 1_000);
    const sources = (warm.body.data?.accounts as { edges: { node: Node }[] }).edges.map(
      ({ node }) => `${node.provider}:${node.freshness.source}:${node.balance.freshness.source}`,
    );
    expect(new Set(sources)).toEqual(new Set(['OPENBANKING:CACHED:CACHED', 'PLAID:LIVE:LIVE']));
    // The bank was not asked again: its full bulkhead refused both calls at once.
    expect(sandbox().ledger().requests[ROUTE]).toBe(2);

    // The hanging requests end at the deadline, answered from the cache.
    for (const outcome of await Promise.all(hanging)) {
      expect(outcome.body.errors).toBeUndefined();
      expect(outcome.ms).toBeLessThan(DEADLINE_MS + MARGIN_MS);
    }
    expect(performance.now() - started).toBeLessThan(DEADLINE_MS + MARGIN_MS);

    sandbox().setFaults([]);
    const healed = await app.graphql(DASHBOARD, {}, { subject: 'cust_bob' });
    expect(healed.body.errors).toBeUndefined();
  });
});
