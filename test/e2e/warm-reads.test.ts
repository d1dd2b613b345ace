/**
 * A warm read at the price of its GraphQL work: with maximum ages configured for partner data, a
 * dashboard asked again within them reaches neither the database nor any partner (the consent cache,
 * the verified-token cache and the subject-scoped partner cache answer), says so in `freshness`, and a
 * client that sends `Cache-Control: no-cache` gets live data. Ownership and consent still hold on the
 * cached answer: another subject gets nothing of it, and a revoked consent is refused at once.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { requestMaxAge } from '../../server/app.js';
import { startTestApp, type TestApp } from '../helpers/app.js';
import { recordingDb, testBackends } from '../helpers/db.js';
import { partnerRequests, resetLedgers } from './security-support.js';

const DASHBOARD = /* GraphQL */ `
  {
    accounts {
      edges {
        node {
          id
          provider
          freshness {
            source
            asOf
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
                freshness {
                  source
                }
              }
            }
          }
        }
      }
    }
  }
`;

type Edge = {
  node: {
    id: string;
    provider: string;
    freshness: { source: string };
    balance: { freshness: { source: string } };
    transactions: { edges: { node: { id: string; freshness: { source: string } } }[] };
  };
};
/** The freshness sources of every transaction on the dashboard. */
const transactionSources = (data: unknown) =>
  new Set(
    edgesOf(data).flatMap((edge) =>
      edge.node.transactions.edges.map((transaction) => transaction.node.freshness.source),
    ),
  );
const edgesOf = (data: unknown) => (data as { accounts: { edges: Edge[] } }).accounts.edges;

let app: TestApp;
let statements: string[];
beforeAll(async () => {
  const recorded = recordingDb(await testBackends()[0]!.open({ migrate: false }));
  statements = recorded.statements;
  app = await startTestApp({
    db: recorded.db,
    env: {
      MAX_AGE_ACCOUNTS_SECONDS: '300',
      MAX_AGE_BALANCES_SECONDS: '300',
      MAX_AGE_TRANSACTIONS_SECONDS: '300',
    },
  });
  // Background work (the audit chain's backstop sealer, the webhook worker's poll, the key reaper, the
  // revocation and copy-refresh schedules) would otherwise add its statements to whichever read is being
  // counted: none of it is a request's. Entries are sealed explicitly below instead.
  const services = app.server.services;
  services.audit.close();
  services.keyReaper.stop();
  services.revocationWorker.stop();
  services.copyRefresher.stop();
  await services.webhooks.worker.stop();
});
afterAll(() => app?.close());

describe('warm reads within the maximum ages', () => {
  it('answer a warm dashboard with no database statement and no partner call, marked CACHED', async () => {
    const token = await app.token('cust_alice');
    const cold = await app.graphql(DASHBOARD, {}, { token });
    expect(cold.body.errors).toBeUndefined();
    expect(edgesOf(cold.body.data).every((edge) => edge.node.freshness.source === 'LIVE')).toBe(true);
    expect(transactionSources(cold.body.data)).toEqual(new Set(['LIVE']));
    await app.server.services.audit.seal();
    statements.length = 0;
    resetLedgers(app.sandboxes);

    const warm = await app.graphql(DASHBOARD, {}, { token });

    expect(warm.body.errors).toBeUndefined();
    expect(statements).toEqual([]);
    expect(partnerRequests(app.sandboxes)).toEqual({});
    const edges = edgesOf(warm.body.data);
    expect(edges.map((edge) => edge.node.id)).toEqual(edgesOf(cold.body.data).map((edge) => edge.node.id));
    expect(new Set(edges.map((edge) => edge.node.provider))).toEqual(new Set(['OPENBANKING', 'PLAID']));
    for (const edge of edges) {
      expect(edge.node.freshness.source).toBe('CACHED');
      expect(edge.node.balance.freshness.source).toBe('CACHED');
    }
    expect(transactionSources(warm.body.data)).toEqual(new Set(['CACHED']));
  });

  it('asks the partners again for a client that wants live data', async () => {
    await app.graphql(DASHBOARD, {}, { subject: 'cust_alice' });
    resetLedgers(app.sandboxes);
    const live = await app.graphql(
      DASHBOARD,
      {},
      { subject: 'cust_alice', headers: { 'cache-control': 'no-cache' } },
    );
    expect(live.body.errors).toBeUndefined();
    expect(edgesOf(live.body.data).every((edge) => edge.node.freshness.source === 'LIVE')).toBe(true);
    expect(transactionSources(live.body.data)).toEqual(new Set(['LIVE']));
    expect(partnerRequests(app.sandboxes)).toHaveProperty(['plaid POST /transactions/sync']);
    const partners = new Set(Object.keys(partnerRequests(app.sandboxes)).map((route) => route.split(' ')[0]));
    expect(partners).toEqual(new Set(['openbanking', 'plaid']));
  });

  it('syncs Plaid for a live read without a statement when Plaid has nothing new: the copy this replica read at that cursor is the answer', async () => {
    const live = { subject: 'cust_alice', headers: { 'cache-control': 'no-cache' } };
    const plaidStatements = () =>
      statements
        .filter((sql) => /plaid_(sync_items|transactions)/.test(sql))
        .map((sql) => sql.trim().split(/\s+/).slice(0, 2).join(' '));
    const transactionIds = (data: unknown) =>
      edgesOf(data).map((edge) => edge.node.transactions.edges.map((transaction) => transaction.node.id));
    const first = await app.graphql(DASHBOARD, {}, live);
    await app.server.services.audit.seal();
    statements.length = 0;
    resetLedgers(app.sandboxes);

    const answer = await app.graphql(DASHBOARD, {}, live);

    expect(answer.body.errors).toBeUndefined();
    expect(transactionSources(answer.body.data)).toEqual(new Set(['LIVE']));
    expect(partnerRequests(app.sandboxes)).toHaveProperty(['plaid POST /transactions/sync']);
    expect(plaidStatements()).toEqual([]);
    expect(transactionIds(first.body.data).flat()).toHaveLength(50);
    expect(transactionIds(answer.body.data)).toEqual(transactionIds(first.body.data));

    // Another replica erased the customer: this one forgets what it holds, so the next live read asks
    // the database for the cursor, then moves it and reads the copy back in one statement.
    app.server.services.registry.forgetSubject('cust_alice');
    statements.length = 0;
    const after = await app.graphql(DASHBOARD, {}, live);
    expect(after.body.errors).toBeUndefined();
    expect(plaidStatements()).toEqual(['SELECT cursor', 'WITH i']);
    expect(transactionIds(after.body.data)).toEqual(transactionIds(first.body.data));
  });

  it("keeps one subject's cached data from another, and refuses it once the consent is revoked", async () => {
    const alice = edgesOf((await app.graphql(DASHBOARD, {}, { subject: 'cust_alice' })).body.data);
    const bob = edgesOf((await app.graphql(DASHBOARD, {}, { subject: 'cust_bob' })).body.data);
    const aliceIds = new Set(alice.map((edge) => edge.node.id));
    expect(bob.some((edge) => aliceIds.has(edge.node.id))).toBe(false);

    const consents = app.server.services.consents;
    const consent = await consents.findActive('cust_bob', 'plaid');
    await consents.revoke('cust_bob', consent!.id);
    const after = await app.graphql(DASHBOARD, {}, { subject: 'cust_bob' });
    expect(edgesOf(after.body.data).map((edge) => edge.node.provider)).not.toContain('PLAID');
  });
});

describe('Cache-Control on a request', () => {
  it.each([
    ['no-cache', { maxAgeSeconds: 0 }],
    ['no-store', { maxAgeSeconds: 0 }],
    ['max-age=0', { maxAgeSeconds: 0 }],
    ['max-age=15, stale-if-error=60', { maxAgeSeconds: 15 }],
    ['private', {}],
    ['max-age=-3', {}],
    [undefined, {}],
  ])('%s asks for %j', (value, expected) => {
    expect(requestMaxAge(value)).toEqual(expected);
  });
});
