/**
 * Tributary behind The Guild's Hive Gateway running as its own process: the real `hive-gateway` CLI
 * with docs/routers/hive-gateway.config.ts, as the README tells a platform team to start it, on a
 * supergraph written by `tributary supergraph`. Tributary keeps @requiresScopes in its SDL
 * (FEDERATION_AUTH_DIRECTIVES=keep, the default) and the gateway enforces them at the router, with the
 * token verified against the identity provider's JWKS (here a loopback one serving Tributary's dev key).
 */
import { readFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import { dirname, join } from 'node:path';
import { afterAll, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { fromRoot } from '../../../store/paths.js';
import { startTestApp, type TestApp } from '../../helpers/app.js';
import { startJwksServer } from '../../helpers/jwks.js';
import {
  ENTITIES_OF_ALICE,
  MY_ACCOUNTS,
  MY_ACCOUNT_NAMES,
  MY_BALANCES,
  ROUTER_SECRET,
  ask,
  bearer,
  composeSupergraph,
  expectAlicesAccounts,
  freePort,
  recordRequests,
  scratchDir,
  startCustomersSubgraph,
  startRouter,
  traceparent,
  type CustomersSubgraph,
  type Edge,
  type RequestLog,
  type RouterProcess,
} from './support.js';

/** The package's own `hive-gateway` bin, run with this Node. */
function hiveGatewayBin(): string {
  const manifest = createRequire(import.meta.url).resolve('@graphql-hive/gateway/package.json');
  const { bin } = JSON.parse(readFileSync(manifest, 'utf8')) as { bin: Record<string, string> };
  return join(dirname(manifest), bin['hive-gateway']!);
}

const CONFIG = fromRoot('docs', 'routers', 'hive-gateway.config.ts');

/** The router's own refusal code for a field under @requiresScopes the token has no scope for. */
const ROUTER_REFUSAL = 'UNAUTHORIZED_FIELD_OR_TYPE';

/** The CLI on a port free a moment ago; another process taking it in between only costs a retry. */
async function startHiveGateway(supergraph: string): Promise<RouterProcess> {
  for (let attempt = 1; ; attempt++) {
    const port = await freePort();
    const origin = `http://127.0.0.1:${port}`;
    try {
      return await startRouter({
        command: process.execPath,
        args: [
          hiveGatewayBin(),
          'supergraph',
          supergraph,
          '--config-path',
          CONFIG,
          '--host',
          '127.0.0.1',
          '--port',
          String(port),
        ],
        env: {
          TRIBUTARY_ROUTER_SECRET: ROUTER_SECRET,
          AUTH_JWKS_URL: jwks.url,
          AUTH_ISSUER: app.config.auth.issuer,
          AUTH_AUDIENCE: app.config.auth.audience,
          LOG_LEVEL: 'warn',
        },
        url: `${origin}/graphql`,
        probe: async () => (await fetch(`${origin}/readiness`)).ok,
      });
    } catch (error) {
      if (attempt >= 3 || !/EADDRINUSE/.test(String(error))) throw error;
    }
  }
}

let app: TestApp;
let tributary: RequestLog;
let customers: CustomersSubgraph;
let jwks: Awaited<ReturnType<typeof startJwksServer>>;
let scratch: Awaited<ReturnType<typeof scratchDir>>;
let router: RouterProcess;

beforeAll(async () => {
  scratch = await scratchDir();
  app = await startTestApp({ env: { ROUTER_SECRET, FEDERATION_AUTH_DIRECTIVES: 'keep' } });
  tributary = recordRequests(app);
  customers = await startCustomersSubgraph(app, 'keep');
  jwks = await startJwksServer([app.devKey.publicJwk]);
  const supergraph = await composeSupergraph(
    scratch.path,
    { customers: customers.url, tributary: `${app.url}/graphql` },
    ROUTER_SECRET,
  );
  expect(readFileSync(supergraph, 'utf8')).toContain('@requiresScopes');
  router = await startHiveGateway(supergraph);
}, 180_000);

afterAll(async () => {
  await router?.stop();
  tributary?.stop();
  await jwks?.close();
  await customers?.stop();
  await app?.close();
  await scratch?.remove();
});

beforeEach(() => {
  tributary.clear();
  customers.seen.length = 0;
});

describe('Tributary behind Hive Gateway (its own process, FEDERATION_AUTH_DIRECTIVES=keep)', () => {
  it("serves alice's accounts, balances and transactions under the neighbour's Customer", async () => {
    const { status, body } = await ask(router.url, MY_ACCOUNTS, await bearer(app, 'cust_alice'));

    expect(status).toBe(200);
    expectAlicesAccounts(body);
    expect(tributary.graphql().map((request) => request.status)).toEqual([200]);
  });

  it('propagates the client token and traceparent to both subgraphs, and the router secret to Tributary only', async () => {
    const alice = await bearer(app, 'cust_alice');
    const trace = traceparent();
    const { body } = await ask(router.url, MY_ACCOUNTS, { ...alice, traceparent: trace });

    expect(body.errors).toBeUndefined();
    const [seen, ...more] = tributary.graphql();
    expect(more).toEqual([]);
    expect(seen?.headers.authorization).toBe(alice.authorization);
    expect(seen?.headers['router-authorization']).toBe(ROUTER_SECRET);
    expect(seen?.headers.traceparent).toBe(trace);
    expect(customers.seen).toHaveLength(1);
    expect(customers.seen[0]?.authorization).toBe(alice.authorization);
    expect(customers.seen[0]?.traceparent).toBe(trace);
    expect(customers.seen[0]?.['router-authorization']).toBeUndefined();
  });

  it('refuses balances to a token with accounts:read only at the router, and serves the rest', async () => {
    const { body } = await ask(router.url, MY_BALANCES, await bearer(app, 'cust_alice', ['accounts:read']));

    const edges = (body.data?.me as { accounts: { edges: Edge[] } }).accounts.edges;
    expect(edges.map(({ node }) => node.name)).toEqual(
      expect.arrayContaining(['Everyday', 'Rainy day', 'Travel card']),
    );
    expect(edges.every(({ node }) => node.balance == null)).toBe(true);
    expect(body.errors?.length).toBeGreaterThan(0);
    for (const error of body.errors ?? []) {
      // The gateway's code, not Tributary's FORBIDDEN: the field never reached Tributary.
      expect(error.extensions?.code).toBe(ROUTER_REFUSAL);
      expect(error.path?.slice(0, 3)).toEqual(['me', 'accounts', 'edges']);
      expect(error.path?.at(-1)).toBe('balance');
    }
    expect(tributary.graphql().map((request) => request.status)).toEqual([200]);
  });

  it('refuses the accounts to a token without accounts:read at the router: Tributary is not even asked', async () => {
    const { body } = await ask(
      router.url,
      MY_ACCOUNT_NAMES,
      await bearer(app, 'cust_alice', ['payments:read']),
    );

    expect(body.data?.me).toEqual({ name: 'Alice Archer', accounts: null });
    expect(body.errors?.map((error) => [error.extensions?.code, error.path])).toEqual([
      [ROUTER_REFUSAL, ['me', 'accounts']],
    ]);
    expect(tributary.graphql()).toEqual([]);
    expect(customers.seen).toHaveLength(1);
  });

  it('refuses a token it cannot verify as a whole, before any subgraph is asked', async () => {
    const forged = `Bearer ${(await app.token('cust_alice')).slice(0, -4)}AAAA`;
    const { status, body } = await ask(router.url, MY_ACCOUNTS, { authorization: forged });

    expect(status).toBe(401);
    expect(body.data ?? null).toBeNull();
    expect(tributary.graphql()).toEqual([]);
    expect(customers.seen).toEqual([]);
  });

  it('keeps _entities from clients: Tributary answers 403 without the router secret, the gateway does not serve it', async () => {
    const alice = await bearer(app, 'cust_alice');
    const direct = await ask(`${app.url}/graphql`, ENTITIES_OF_ALICE, alice);
    expect(direct.status).toBe(403);
    expect(direct.body.errors?.[0]?.extensions?.code).toBe('FORBIDDEN');
    expect(direct.body.data ?? null).toBeNull();

    tributary.clear();
    const routed = await ask(router.url, ENTITIES_OF_ALICE, alice);
    expect(routed.body.data ?? null).toBeNull();
    expect(routed.body.errors?.[0]?.message).toMatch(/Cannot query field "_entities" on type "Query"/);
    expect(tributary.graphql()).toEqual([]);
  });
});
