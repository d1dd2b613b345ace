/**
 * Tributary behind a stock @apollo/gateway running as its own process: docs/routers/apollo-gateway.ts,
 * as the README tells a platform team to start it, on a supergraph written by `tributary supergraph`.
 * Tributary runs with FEDERATION_AUTH_DIRECTIVES=strip (the gateway refuses a supergraph that links
 * @requiresScopes) and enforces every scope itself; the customers neighbour owns Customer.
 */
import { readFileSync } from 'node:fs';
import { writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { composeServices } from '@apollo/composition';
import { parse } from 'graphql';
import { afterAll, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { subgraphSdl, withoutRouterAuthDirectives } from '../../../server/sdl.js';
import { fromRoot } from '../../../store/paths.js';
import { startTestApp, type TestApp } from '../../helpers/app.js';
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
  recordRequests,
  runToExit,
  scratchDir,
  startCustomersSubgraph,
  startRouter,
  traceparent,
  type CustomersSubgraph,
  type Edge,
  type RequestLog,
  type RouterProcess,
} from './support.js';

const GATEWAY = fromRoot('docs', 'routers', 'apollo-gateway.ts');
const CUSTOMERS_SDL = fromRoot('test', 'fixtures', 'subgraphs', 'customers.graphql');
const gatewayArgs = (supergraph: string) => ['--import', 'tsx', GATEWAY, supergraph];
const gatewayEnv = { PORT: '0', HOST: '127.0.0.1', TRIBUTARY_ROUTER_SECRET: ROUTER_SECRET };

let app: TestApp;
let tributary: RequestLog;
let customers: CustomersSubgraph;
let scratch: Awaited<ReturnType<typeof scratchDir>>;
let router: RouterProcess;

beforeAll(async () => {
  scratch = await scratchDir();
  app = await startTestApp({ env: { ROUTER_SECRET, FEDERATION_AUTH_DIRECTIVES: 'strip' } });
  tributary = recordRequests(app);
  customers = await startCustomersSubgraph(app, 'strip');
  const supergraph = await composeSupergraph(
    scratch.path,
    { customers: customers.url, tributary: `${app.url}/graphql` },
    ROUTER_SECRET,
  );
  router = await startRouter({
    command: process.execPath,
    args: gatewayArgs(supergraph),
    env: gatewayEnv,
    fromOutput: (output) => /apollo-gateway ready at (http:\/\/\S+)/.exec(output)?.[1],
  });
}, 180_000);

afterAll(async () => {
  await router?.stop();
  tributary?.stop();
  await customers?.stop();
  await app?.close();
  await scratch?.remove();
});

beforeEach(() => {
  tributary.clear();
  customers.seen.length = 0;
});

describe('Tributary behind @apollo/gateway (its own process, FEDERATION_AUTH_DIRECTIVES=strip)', () => {
  it("serves alice's accounts, balances and transactions under the neighbour's Customer", async () => {
    const { status, body } = await ask(router.url, MY_ACCOUNTS, await bearer(app, 'cust_alice'));

    expect(status).toBe(200);
    expectAlicesAccounts(body);
    // One entity fetch reached Tributary, and Tributary answered it.
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

  it('refuses balances to a token with accounts:read only: FORBIDDEN from Tributary at each balance', async () => {
    const { body } = await ask(router.url, MY_BALANCES, await bearer(app, 'cust_alice', ['accounts:read']));

    const edges = (body.data?.me as { accounts: { edges: Edge[] } }).accounts.edges;
    expect(edges.length).toBeGreaterThanOrEqual(3);
    expect(edges.every(({ node }) => typeof node.name === 'string' && node.balance === null)).toBe(true);
    expect(body.errors?.length).toBe(edges.length);
    for (const error of body.errors ?? []) {
      expect(error.extensions?.code).toBe('FORBIDDEN');
      expect(error.path).toEqual(['me', 'accounts', 'edges', expect.any(Number), 'node', 'balance']);
    }
    // The gateway enforces nothing here: Tributary was asked, and refused the field itself.
    expect(tributary.graphql().map((request) => request.status)).toEqual([200]);
  });

  it("refuses the accounts to a token without accounts:read, and leaves the neighbour's fields", async () => {
    const { body } = await ask(
      router.url,
      MY_ACCOUNT_NAMES,
      await bearer(app, 'cust_alice', ['payments:read']),
    );

    expect(body.data?.me).toEqual({ name: 'Alice Archer', accounts: null });
    expect(body.errors?.map((error) => [error.extensions?.code, error.path])).toEqual([
      ['FORBIDDEN', ['me', 'accounts']],
    ]);
    expect(tributary.graphql()).toHaveLength(1);
  });

  it('keeps _entities from clients: Tributary answers 403 without the router secret, the gateway does not serve it', async () => {
    const alice = await bearer(app, 'cust_alice');
    const direct = await ask(`${app.url}/graphql`, ENTITIES_OF_ALICE, alice);
    expect(direct.status).toBe(403);
    expect(direct.body.errors?.[0]?.extensions?.code).toBe('FORBIDDEN');
    expect(direct.body.data ?? null).toBeNull();

    const withSecret = await ask(`${app.url}/graphql`, ENTITIES_OF_ALICE, {
      ...alice,
      'router-authorization': ROUTER_SECRET,
    });
    expect(withSecret.status).toBe(200);
    expect(withSecret.body.errors).toBeUndefined();

    tributary.clear();
    const routed = await ask(router.url, ENTITIES_OF_ALICE, alice);
    expect(routed.body.data ?? null).toBeNull();
    expect(routed.body.errors?.[0]?.message).toMatch(/Cannot query field "_entities" on type "Query"/);
    expect(routed.body.errors?.[0]?.extensions?.code).toBe('GRAPHQL_VALIDATION_FAILED');
    expect(tributary.graphql()).toEqual([]);
  });

  it('does not start on a supergraph composed from the SDL as written (keep): strip is what makes it load', async () => {
    const composed = composeServices([
      {
        name: 'customers',
        url: customers.url,
        // The neighbour as it publishes behind this gateway: only Tributary's own SDL is in question.
        typeDefs: parse(withoutRouterAuthDirectives(readFileSync(CUSTOMERS_SDL, 'utf8'))),
      },
      { name: 'tributary', url: `${app.url}/graphql`, typeDefs: parse(subgraphSdl()) },
    ]);
    expect(composed.errors).toBeUndefined();
    const supergraph = join(scratch.path, 'supergraph-keep.graphql');
    await writeFile(supergraph, composed.supergraphSdl!);

    const { code, output } = await runToExit(process.execPath, gatewayArgs(supergraph), gatewayEnv);

    expect(code).not.toBe(0);
    expect(output).toMatch(/requiresScopes.*is for: SECURITY but is unsupported/s);
    expect(output).not.toContain('apollo-gateway ready');
  });
});
