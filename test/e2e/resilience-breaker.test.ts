/**
 * The Open Banking circuit breaker over real HTTP: past the failure threshold calls fail fast without
 * reaching the partner (the sandbox's ledger stays flat), the cached fallback answers the subjects it
 * has data for — each with their own — and a half-open probe closes the breaker once the partner heals.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startTestApp, type TestApp } from '../helpers/app.js';

const HALF_OPEN_MS = 1_500;
const ROUTE = 'GET /open-banking/v3.1/aisp/accounts';
const QUERY = '{ accounts(provider: OPENBANKING) { edges { node { id name freshness { source } } } } }';

type Edge = { node: { id: string; name: string; freshness: { source: string } } };

let app: TestApp;
const sandbox = () => app.sandboxes.openbanking!.handle;
const calls = () => sandbox().ledger().requests[ROUTE] ?? 0;
const ids = (answer: Awaited<ReturnType<TestApp['graphql']>>) =>
  ((answer.body.data?.accounts as { edges: Edge[] } | undefined)?.edges ?? []).map((edge) => edge.node.id);

async function breakerState(): Promise<unknown> {
  const token = await app.token('ops_oncall', ['ops:read']);
  const { body } = await app.graphql('{ partnerHealth { provider breakerState } }', {}, { token });
  return (body.data?.partnerHealth as { provider: string; breakerState: string }[]).find(
    (line) => line.provider === 'OPENBANKING',
  )?.breakerState;
}

beforeAll(async () => {
  app = await startTestApp({
    env: {
      PARTNER_RETRY_ATTEMPTS: '0',
      PARTNER_BREAKER_FAILURE_RATIO: '0.5',
      PARTNER_BREAKER_MIN_REQUESTS: '4',
      PARTNER_BREAKER_WINDOW_MS: '60000',
      PARTNER_BREAKER_HALF_OPEN_MS: String(HALF_OPEN_MS),
    },
    sandboxes: {
      openbanking: { extraAccounts: { cust_carol: 2 } },
      plaid: { extraAccounts: { cust_carol: 2 } },
    },
    customers: ['cust_alice', 'cust_bob', 'cust_carol'],
  });
});
afterAll(() => app?.close());

describe('the circuit breaker and the cached fallback', () => {
  const live: Record<string, string[]> = {};

  it('opens after the failure threshold and then fails fast without touching the partner', async () => {
    for (const subject of ['cust_alice', 'cust_bob']) {
      const answer = await app.graphql(QUERY, {}, { subject });
      live[subject] = ids(answer);
      expect(live[subject]!.length).toBeGreaterThan(0);
    }
    sandbox().setFaults([{ kind: 'status', status: 503, match: ROUTE }]);
    // The window also holds the successful calls of seeding and warming: it takes more failures than
    // the minimum before they are half of it.
    let failures = 0;
    while ((await breakerState()) === 'CLOSED' && failures < 40) {
      const answer = await app.graphql(QUERY, {}, { subject: 'cust_carol' });
      expect(answer.body.errors?.[0]?.extensions?.code).toBe('PARTNER_UNAVAILABLE');
      failures++;
    }
    expect(failures).toBeGreaterThanOrEqual(4);
    expect(await breakerState()).toBe('OPEN');

    const before = calls();
    const started = performance.now();
    const refused = await app.graphql(QUERY, {}, { subject: 'cust_carol' });
    expect(performance.now() - started).toBeLessThan(1_000);
    expect(refused.body.errors?.[0]?.extensions).toMatchObject({
      code: 'PARTNER_UNAVAILABLE',
      retryable: true,
    });
    expect(calls()).toBe(before);
  });

  it("serves each subject only their own cached data while it is open, never another's", async () => {
    const before = calls();
    for (const subject of ['cust_alice', 'cust_bob', 'cust_carol', 'cust_bob', 'cust_alice']) {
      const answer = await app.graphql(QUERY, {}, { subject });
      if (subject === 'cust_carol') {
        // Nothing was ever fetched for carol: an error, not somebody else's accounts.
        expect(answer.body.data).toEqual({ accounts: null });
        expect(answer.body.errors?.[0]?.extensions?.code).toBe('PARTNER_UNAVAILABLE');
        continue;
      }
      expect(answer.body.errors).toBeUndefined();
      expect(ids(answer)).toEqual(live[subject]);
      const edges = (answer.body.data?.accounts as { edges: Edge[] }).edges;
      expect(edges.every(({ node }) => node.freshness.source === 'CACHED')).toBe(true);
    }
    expect(live.cust_alice!.filter((id) => live.cust_bob!.includes(id))).toEqual([]);
    expect(calls()).toBe(before);
  });

  it('recovers through a half-open probe once the partner heals', async () => {
    sandbox().setFaults([]);
    await new Promise((resolve) => setTimeout(resolve, HALF_OPEN_MS + 200));
    const before = calls();
    const answer = await app.graphql(QUERY, {}, { subject: 'cust_carol' });
    expect(answer.body.errors).toBeUndefined();
    expect(ids(answer).length).toBeGreaterThan(0);
    expect(calls()).toBe(before + 1);
    expect(await breakerState()).toBe('CLOSED');
    const alice = await app.graphql(QUERY, {}, { subject: 'cust_alice' });
    const edges = (alice.body.data?.accounts as { edges: Edge[] }).edges;
    expect(edges.every(({ node }) => node.freshness.source === 'LIVE')).toBe(true);
  });
});
