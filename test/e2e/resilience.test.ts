/**
 * Partner faults over real HTTP, injected into the Open Banking sandbox: every fault ends in a typed
 * PARTNER_* error (a subject with nothing cached) or a CACHED answer (a subject read before), within
 * the read deadline plus a margin, after exactly the configured attempts; and the process keeps serving.
 */
import { afterAll, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import type { FaultRule } from '../../sandboxes/kit/sandbox.js';
import { startTestApp, type TestApp } from '../helpers/app.js';

// Room for every attempt of a hanging partner (3 x 800 ms + backoff) on a loaded 2-core machine.
const DEADLINE_MS = 6_000;
/** Scheduling noise on a loaded two-core machine; behaviour is asserted, not speed. */
const MARGIN_MS = 1_500;
const RETRIES = 2;
const ACCOUNTS_ROUTE = 'GET /open-banking/v3.1/aisp/accounts';

const OB_ACCOUNTS = '{ accounts(provider: OPENBANKING) { edges { node { id freshness { source asOf } } } } }';
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

type Edge = { node: { id: string; provider: string; freshness: { source: string; asOf?: string } } };
type DashboardNode = {
  provider: string;
  freshness: { source: string };
  balance: { current: { amount: string } };
  transactions: { edges: unknown[] };
};

let app: TestApp;
let warmedAt: number;
const sandbox = () => app.sandboxes.openbanking!.handle;
const requests = () => sandbox().ledger().requests[ACCOUNTS_ROUTE] ?? 0;

async function timed(query: string, subject: string) {
  const started = performance.now();
  const answer = await app.graphql(query, {}, { subject });
  return { ...answer, ms: performance.now() - started };
}

beforeAll(async () => {
  app = await startTestApp({
    env: {
      PARTNER_CONNECT_TIMEOUT_MS: '800',
      PARTNER_READ_TIMEOUT_MS: '800',
      PARTNER_READ_DEADLINE_MS: String(DEADLINE_MS),
      PARTNER_RETRY_ATTEMPTS: String(RETRIES),
      PARTNER_RETRY_BASE_MS: '20',
      PARTNER_RETRY_MAX_DELAY_MS: '100',
      // This suite is about single calls; the breaker has its own suite.
      PARTNER_BREAKER_MIN_REQUESTS: '100000',
      CACHE_MAX_STALENESS_SECONDS: '600',
    },
  });
  // cust_alice's Open Banking accounts are read once, so the fallback has them; cust_bob's never are.
  const warm = await app.graphql(OB_ACCOUNTS, {}, { subject: 'cust_alice' });
  expect(warm.body.errors).toBeUndefined();
  warmedAt = Date.now();
});
afterAll(() => app?.close());
beforeEach(() => {
  sandbox().setFaults([]);
  sandbox().resetLedger();
});

const FAULTS: { name: string; rule: FaultRule; code: string; attempts: number }[] = [
  {
    name: 'latency beyond the timeout',
    rule: { kind: 'latency', ms: 3_000 },
    code: 'PARTNER_TIMEOUT',
    attempts: 3,
  },
  { name: '500 answers', rule: { kind: 'status', status: 500 }, code: 'PARTNER_UNAVAILABLE', attempts: 3 },
  { name: 'a hang', rule: { kind: 'hang' }, code: 'PARTNER_TIMEOUT', attempts: 3 },
  { name: 'connection resets', rule: { kind: 'reset' }, code: 'PARTNER_UNAVAILABLE', attempts: 3 },
  { name: 'truncated bodies', rule: { kind: 'truncate' }, code: 'PARTNER_UNAVAILABLE', attempts: 3 },
  { name: 'malformed bodies', rule: { kind: 'malformed' }, code: 'PARTNER_CONTRACT_VIOLATION', attempts: 1 },
  {
    name: 'contract-breaking bodies',
    rule: { kind: 'contract' },
    code: 'PARTNER_CONTRACT_VIOLATION',
    attempts: 1,
  },
  {
    name: '429 with a Retry-After beyond the deadline',
    rule: { kind: 'rate_limit', retryAfter: 30 },
    code: 'PARTNER_RATE_LIMITED',
    attempts: 1,
  },
];

describe('partner faults end in a typed error or a cached answer, within the deadline', () => {
  it.each(FAULTS)('$name', async ({ rule, code, attempts }) => {
    sandbox().setFaults([{ ...rule, match: ACCOUNTS_ROUTE }]);

    const cold = await timed(OB_ACCOUNTS, 'cust_bob');
    // The failure stays at its path (accounts is nullable): data is there, the field is null.
    expect(cold.body.data).toEqual({ accounts: null });
    expect(cold.body.errors?.[0]?.extensions).toMatchObject({ code, partner: 'openbanking' });
    expect(cold.ms).toBeLessThan(DEADLINE_MS + MARGIN_MS);
    expect(requests()).toBe(attempts);

    const warm = await timed(OB_ACCOUNTS, 'cust_alice');
    expect(warm.body.errors).toBeUndefined();
    const edges = (warm.body.data?.accounts as { edges: Edge[] }).edges;
    expect(edges.length).toBeGreaterThan(0);
    for (const { node } of edges) {
      expect(node.freshness.source).toBe('CACHED');
      expect(Math.abs(Date.parse(node.freshness.asOf!) - warmedAt)).toBeLessThan(5_000);
    }
    expect(warm.ms).toBeLessThan(DEADLINE_MS + MARGIN_MS);
  });

  it("honours Retry-After and answers live once the partner's pause is over", async () => {
    sandbox().setFaults([{ kind: 'rate_limit', retryAfter: 1, times: 1, match: ACCOUNTS_ROUTE }]);
    const answer = await timed(OB_ACCOUNTS, 'cust_alice');
    expect(answer.body.errors).toBeUndefined();
    const edges = (answer.body.data?.accounts as { edges: Edge[] }).edges;
    expect(edges.every(({ node }) => node.freshness.source === 'LIVE')).toBe(true);
    expect(answer.ms).toBeGreaterThanOrEqual(950);
    expect(requests()).toBe(2);
  });

  it("returns the healthy partner's data beside an error on the failed path when one partner hangs", async () => {
    sandbox().setFaults([{ kind: 'hang' }]);
    const answer = await timed(DASHBOARD, 'cust_bob');
    expect(answer.ms).toBeLessThan(DEADLINE_MS + MARGIN_MS);
    const edges = (answer.body.data?.accounts as { edges: { node: DashboardNode }[] }).edges;
    expect(edges.length).toBeGreaterThan(0);
    for (const { node } of edges) {
      expect(node.provider).toBe('PLAID');
      expect(node.freshness.source).toBe('LIVE');
      expect(node.balance.current.amount).toMatch(/^-?\d+\.\d+$/);
      expect(node.transactions.edges.length).toBeGreaterThan(0);
    }
    expect(answer.body.errors).toHaveLength(1);
    expect(answer.body.errors?.[0]).toMatchObject({
      path: ['accounts'],
      extensions: { code: 'PARTNER_TIMEOUT', partner: 'openbanking', retryable: true },
    });
  });

  it('keeps serving after every fault, and counts what happened in /metrics and partnerHealth', async () => {
    const answer = await app.graphql(OB_ACCOUNTS, {}, { subject: 'cust_bob' });
    expect(answer.body.errors).toBeUndefined();

    const metrics = await (await fetch(`${app.url}/metrics`)).text();
    for (const series of [
      'tributary_partner_request_duration_seconds_bucket{le="0.005",partner="openbanking",endpoint="GET /accounts",status="200"}',
      'tributary_partner_errors_total{partner="openbanking",code="PARTNER_TIMEOUT"}',
      'tributary_partner_errors_total{partner="openbanking",code="PARTNER_CONTRACT_VIOLATION"}',
      'tributary_partner_rate_limited_total{partner="openbanking",endpoint="GET /accounts"}',
      'tributary_partner_retries_total{partner="openbanking",endpoint="GET /accounts"}',
      'tributary_partner_breaker_state{partner="openbanking"} 0',
      'tributary_cache_stale_serves_total{partner="openbanking",resource="accounts"}',
      'tributary_cache_misses_total{partner="openbanking",resource="accounts"}',
      'tributary_graphql_operations_total{type="query",outcome="partial"}',
      'tributary_graphql_operations_total{type="query",outcome="error"}',
      'process_cpu_seconds_total',
    ]) {
      expect(metrics).toContain(series);
    }

    const token = await app.token('ops_oncall', ['ops:read']);
    const health = await app.graphql(
      '{ partnerHealth { provider breakerState errorRate requestsLastMinute lastErrorAt latencyP50Ms latencyP99Ms } }',
      {},
      { token },
    );
    expect(health.body.errors).toBeUndefined();
    const openbanking = (health.body.data?.partnerHealth as Record<string, unknown>[]).find(
      (line) => line.provider === 'OPENBANKING',
    );
    expect(openbanking).toMatchObject({ breakerState: 'CLOSED' });
    expect(openbanking?.requestsLastMinute).toBeGreaterThan(10);
    expect(openbanking?.errorRate).toBeGreaterThan(0);
    expect(openbanking?.lastErrorAt).toEqual(expect.any(String));
    expect(openbanking?.latencyP99Ms).toBeGreaterThanOrEqual(openbanking?.latencyP50Ms as number);
  });
});
