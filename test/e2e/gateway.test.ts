/**
 * Tributary behind a real @apollo/gateway, next to an in-process customers subgraph that owns Customer.
 * A client query enters at the neighbour's Customer and reaches Tributary's accounts, balances and
 * transactions through one `_entities` fetch. The gateway forwards the client's token and adds the
 * router secret, the way the README tells a router to.
 */
import { randomBytes } from 'node:crypto';
import { readFileSync } from 'node:fs';
import { composeServices } from '@apollo/composition';
import {
  ApolloGateway,
  RemoteGraphQLDataSource,
  SERVICE_DEFINITION_QUERY,
  type GraphQLDataSourceProcessOptions,
  type SupergraphSdlHook,
} from '@apollo/gateway';
// The enum of request kinds is not re-exported from the package root.
import { GraphQLDataSourceRequestKind } from '@apollo/gateway/dist/datasources/types.js';
import { ApolloServer } from '@apollo/server';
import { startStandaloneServer } from '@apollo/server/standalone';
import { parse } from 'graphql';
import { afterAll, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { subgraphSdl, withoutRouterAuthDirectives } from '../../server/sdl.js';
import { fromRoot } from '../../store/paths.js';
import { startTestApp, type GraphQLAnswer, type TestApp } from '../helpers/app.js';
import { CUSTOMERS, startCustomersSubgraph, type CustomersSubgraph } from './routers/support.js';

const ROUTER_SECRET = randomBytes(24).toString('hex');

const CUSTOMERS_SDL = readFileSync(fromRoot('test', 'fixtures', 'subgraphs', 'customers.graphql'), 'utf8');
const CUSTOMERS_FOR_GATEWAY = withoutRouterAuthDirectives(CUSTOMERS_SDL);

const ACCOUNTS_SELECTION = /* GraphQL */ `
  accounts {
    edges {
      node {
        name
        balance {
          current {
            amount
            currency
          }
        }
        transactions(first: 5) {
          edges {
            node {
              amount {
                amount
              }
              status
            }
          }
        }
      }
    }
  }
`;

const MY_ACCOUNTS = `query MyAccounts { me { id name ${ACCOUNTS_SELECTION} } }`;

/** One HTTP request the gateway sent to a subgraph, as the subgraph answered it. */
interface SubgraphCall {
  subgraph: string;
  query: string;
  variables: Record<string, unknown> | undefined;
  /** The headers the gateway sent, as it sent them. */
  headers: Record<string, string>;
  status: number;
  /** The correlation id Tributary echoed, to show the gateway forwarded the client's. */
  requestId: string | null;
}

interface GatewayContext {
  authorization?: string;
  requestId?: string;
}

/**
 * The gateway's subgraph client: forwards the client's `authorization` and `x-request-id`, and sends
 * the router secret to Tributary only (a neighbour never needs it). Records every request it sends.
 */
class ForwardingDataSource extends RemoteGraphQLDataSource<GatewayContext> {
  constructor(name: string, url: string, routerSecret: string | null, calls: SubgraphCall[]) {
    super({
      url,
      fetcher: async (target, init) => {
        const response = await fetch(target, init);
        const body = JSON.parse(String(init?.body)) as { query: string; variables?: Record<string, unknown> };
        calls.push({
          subgraph: name,
          query: body.query,
          variables: body.variables,
          headers: { ...(init?.headers as Record<string, string> | undefined) },
          status: response.status,
          requestId: response.headers.get('x-request-id'),
        });
        return response;
      },
      willSendRequest({ request, context }: GraphQLDataSourceProcessOptions<GatewayContext>) {
        const headers = request.http?.headers;
        if (!headers) return;
        if (context.authorization) headers.set('authorization', context.authorization);
        if (context.requestId) headers.set('x-request-id', context.requestId);
        if (routerSecret && name === 'tributary') headers.set('router-authorization', routerSecret);
      },
    });
  }
}

interface SubgraphEndpoint {
  name: string;
  url: string;
}

/**
 * What IntrospectAndCompose does — each subgraph's SDL through `_service`, sent by the gateway's own
 * data sources so the router secret goes along (Tributary runs with FEDERATION_AUTH_DIRECTIVES=strip).
 */
function composeForGateway(subgraphs: readonly SubgraphEndpoint[]): SupergraphSdlHook {
  return async ({ getDataSource }) => {
    const services = await Promise.all(
      subgraphs.map(async (subgraph) => {
        const response = await getDataSource(subgraph).process({
          kind: GraphQLDataSourceRequestKind.LOADING_SCHEMA,
          request: { query: SERVICE_DEFINITION_QUERY },
          context: {},
        });
        const sdl = (response.data?._service as { sdl?: string } | undefined)?.sdl;
        if (!sdl) throw new Error(`${subgraph.name} published no SDL`);
        return { ...subgraph, typeDefs: parse(sdl) };
      }),
    );
    const composed = composeServices(services);
    if (composed.errors) throw new AggregateError(composed.errors, 'the subgraphs do not compose');
    return { supergraphSdl: composed.supergraphSdl };
  };
}

interface RunningGateway {
  url: string;
  calls: SubgraphCall[];
  /** The supergraph the gateway serves. */
  supergraphSdl: string;
  stop(): Promise<void>;
}

function gatewayFor(
  supergraphSdl: string | SupergraphSdlHook,
  routerSecret: string | null,
  calls: SubgraphCall[] = [],
): ApolloGateway {
  return new ApolloGateway({
    supergraphSdl,
    buildService: ({ name, url }) => new ForwardingDataSource(name, url ?? '', routerSecret, calls),
  });
}

async function startGateway(
  supergraphSdl: string | SupergraphSdlHook,
  routerSecret: string | null,
): Promise<RunningGateway> {
  const calls: SubgraphCall[] = [];
  const gateway = gatewayFor(supergraphSdl, routerSecret, calls);
  let served = '';
  gateway.onSchemaLoadOrUpdate(({ coreSupergraphSdl }) => (served = coreSupergraphSdl));
  const server = new ApolloServer<GatewayContext>({ gateway });
  const { url } = await startStandaloneServer(server, {
    listen: { host: '127.0.0.1', port: 0 },
    context: async ({ req }) => ({
      authorization: req.headers.authorization,
      requestId: typeof req.headers['x-request-id'] === 'string' ? req.headers['x-request-id'] : undefined,
    }),
  });
  return { url, calls, supergraphSdl: served, stop: () => server.stop() };
}

async function ask(
  gateway: RunningGateway,
  query: string,
  headers: Record<string, string> = {},
): Promise<GraphQLAnswer['body']> {
  const response = await fetch(gateway.url, {
    method: 'POST',
    headers: { 'content-type': 'application/json', ...headers },
    body: JSON.stringify({ query }),
  });
  expect(response.status).toBe(200);
  return (await response.json()) as GraphQLAnswer['body'];
}

// eslint-disable-next-line @typescript-eslint/no-explicit-any -- response bodies are checked field by field
type Edge = { node: Record<string, any> };

let app: TestApp;
let customers: CustomersSubgraph;
let subgraphs: SubgraphEndpoint[];
let router: RunningGateway;
let routerWithoutSecret: RunningGateway;

beforeAll(async () => {
  // A stock @apollo/gateway cannot enforce @requiresScopes and refuses a supergraph that links it, so
  // Tributary publishes its SDL without (FEDERATION_AUTH_DIRECTIVES=strip) and enforces scopes itself.
  app = await startTestApp({ env: { ROUTER_SECRET, FEDERATION_AUTH_DIRECTIVES: 'strip' } });
  // Behind a stock @apollo/gateway every subgraph publishes without router-enforced directives.
  customers = await startCustomersSubgraph(app, 'strip');
  subgraphs = [
    { name: 'customers', url: customers.url },
    { name: 'tributary', url: `${app.url}/graphql` },
  ];
  router = await startGateway(composeForGateway(subgraphs), ROUTER_SECRET);
  // Same supergraph, but this one forgets the secret when it calls Tributary.
  routerWithoutSecret = await startGateway(router.supergraphSdl, null);
});

afterAll(async () => {
  await routerWithoutSecret?.stop();
  await router?.stop();
  await customers?.stop();
  await app?.close();
});

beforeEach(() => {
  router.calls.length = 0;
  routerWithoutSecret.calls.length = 0;
  for (const sandbox of Object.values(app.sandboxes)) sandbox.handle.resetLedger();
});

/** Every partner request since the last reset, as `partner METHOD /route` -> count. */
function partnerCalls(): Record<string, number> {
  return Object.fromEntries(
    Object.entries(app.sandboxes).flatMap(([partner, sandbox]) =>
      Object.entries(sandbox.handle.ledger().requests).map(([route, count]) => [
        `${partner} ${route}`,
        count,
      ]),
    ),
  );
}

const bearer = async (subject: string) => ({ authorization: `Bearer ${await app.token(subject)}` });
const tributaryCalls = (gateway: RunningGateway) =>
  gateway.calls.filter((call) => call.subgraph === 'tributary');

describe('Tributary behind @apollo/gateway with a customers subgraph', () => {
  it("serves alice's accounts, balances and transactions under her Customer in one batched _entities fetch", async () => {
    const alice = await bearer('cust_alice');
    const body = await ask(router, MY_ACCOUNTS, { ...alice, 'x-request-id': 'gw-e2e-0000000001' });

    expect(body.errors).toBeUndefined();
    const me = body.data?.me as { id: string; name: string; accounts: { edges: Edge[] } };
    expect(me.id).toBe('cust_alice');
    expect(me.name).toBe('Alice Archer');
    const byName = new Map(me.accounts.edges.map(({ node }) => [node.name as string, node]));
    // Her Open Banking accounts; other partners' accounts are compared with a direct query below.
    expect([...byName.keys()]).toEqual(expect.arrayContaining(['Everyday', 'Rainy day', 'Travel card']));
    expect(byName.get('Everyday')?.balance.current).toEqual({ amount: '-123.45', currency: 'GBP' });
    expect(byName.get('Rainy day')?.balance.current).toEqual({ amount: '5250.00', currency: 'GBP' });
    for (const { node } of me.accounts.edges) {
      expect(node.transactions.edges.length).toBeGreaterThan(0);
      expect(node.transactions.edges.length).toBeLessThanOrEqual(5);
      for (const { node: transaction } of node.transactions.edges as Edge[]) {
        expect(transaction.amount.amount).toMatch(/^-?\d+\.\d{2}$/);
        expect(['PENDING', 'BOOKED', 'REVERSED']).toContain(transaction.status);
      }
    }

    // The neighbour answered `me`; Tributary got exactly one request, and it was the entity fetch.
    expect(router.calls.map((call) => call.subgraph)).toEqual(['customers', 'tributary']);
    const [profile, entities] = router.calls;
    expect(profile?.headers.authorization).toBe(alice.authorization);
    expect(profile?.headers['router-authorization']).toBeUndefined();
    expect(entities?.headers.authorization).toBe(alice.authorization);
    expect(entities?.headers['router-authorization']).toBe(ROUTER_SECRET);
    expect(entities?.status).toBe(200);
    expect(entities?.query).toMatch(/_entities\(representations:/);
    expect(entities?.variables?.representations).toEqual([{ __typename: 'Customer', id: 'cust_alice' }]);
    expect(entities?.requestId).toBe('gw-e2e-0000000001');

    // All accounts' balances and transactions cost one bulk call per partner and resource kind.
    const calls = partnerCalls();
    expect(calls).toMatchObject({
      'openbanking GET /open-banking/v3.1/aisp/accounts': 1,
      'openbanking GET /open-banking/v3.1/aisp/balances': 1,
      'openbanking GET /open-banking/v3.1/aisp/transactions': 1,
    });
    expect(Object.entries(calls).filter(([, count]) => count > 1)).toEqual([]);
    expect(Object.keys(calls).filter((route) => route.includes('{AccountId}'))).toEqual([]);
  });

  it('answers what Tributary answers directly for the same customer', async () => {
    const direct = await app.graphql(
      `{ ${ACCOUNTS_SELECTION} }`,
      {},
      { headers: { 'router-authorization': ROUTER_SECRET } },
    );
    const federated = await ask(router, MY_ACCOUNTS, await bearer('cust_alice'));

    expect(direct.body.errors).toBeUndefined();
    expect((federated.data?.me as { accounts: unknown }).accounts).toEqual(direct.body.data?.accounts);
  });

  it('is refused by Tributary (403) when the gateway does not send the router secret', async () => {
    const body = await ask(routerWithoutSecret, MY_ACCOUNTS, await bearer('cust_alice'));

    expect(tributaryCalls(routerWithoutSecret).map((call) => call.status)).toEqual([403]);
    expect(body.errors?.[0]?.extensions?.code).toBe('FORBIDDEN');
    expect(JSON.stringify(body)).not.toMatch(/Everyday|Rainy day|Travel card/);
    expect(partnerCalls()).toEqual({});
  });

  it("keeps a gateway without the router secret from loading Tributary's SDL", async () => {
    const gateway = gatewayFor(composeForGateway(subgraphs), null);

    await expect(gateway.load()).rejects.toThrow(/403/);
  });

  it('returns an inline ftv1 trace to a router that asks for one, with error messages masked', async () => {
    const { body } = await app.graphql(
      '{ account(id: "nope") { id } }',
      {},
      {
        headers: { 'router-authorization': ROUTER_SECRET, 'apollo-federation-include-trace': 'ftv1' },
      },
    );

    expect(body.errors?.[0]?.extensions?.code).toBe('NOT_FOUND');
    const trace = Buffer.from(String(body.extensions?.ftv1), 'base64').toString('utf8');
    expect(trace).toContain('account');
    expect(trace).toContain('<masked>');
    expect(trace).not.toContain(String(body.errors?.[0]?.message));
  });

  it("does not let cust_bob read cust_alice's accounts through her Customer, and leaves the neighbour's fields", async () => {
    const body = await ask(
      router,
      `{ customer(id: "cust_alice") { id name ${ACCOUNTS_SELECTION} } }`,
      await bearer('cust_bob'),
    );

    expect(tributaryCalls(router)).toHaveLength(1);
    expect(body.errors?.map((error) => error.extensions?.code)).toContain('NOT_FOUND');
    // Customer.accounts is nullable: the refusal stays at its path and the customers subgraph's own
    // fields of the same entity still arrive.
    expect(body.data?.customer).toEqual({
      id: 'cust_alice',
      name: CUSTOMERS.cust_alice!.name,
      accounts: null,
    });
    expect(JSON.stringify(body)).not.toMatch(/Everyday|Rainy day|Travel card|-123\.45/);
    // Refused before any resolver ran: nothing was fetched from a partner on alice's behalf.
    expect(partnerCalls()).toEqual({});
  });
});

describe('FEDERATION_AUTH_DIRECTIVES', () => {
  it('strip: the published SDL has no authorisation directive, and Tributary still refuses a missing scope', async () => {
    const service = await fetch(`${app.url}/graphql`, {
      method: 'POST',
      headers: { 'content-type': 'application/json', 'router-authorization': ROUTER_SECRET },
      body: JSON.stringify({ query: '{ _service { sdl } }' }),
    });
    const sdl = ((await service.json()) as { data: { _service: { sdl: string } } }).data._service.sdl;
    expect(sdl).toContain('@key');
    expect(sdl).not.toMatch(/requiresScopes|@authenticated|@policy/);

    const token = await app.token('cust_alice', ['accounts:read']);
    const body = await ask(
      router,
      `{ customer(id: "cust_alice") { id name accounts { edges { node { name balance { current { amount } } } } } } }`,
      { authorization: `Bearer ${token}` },
    );
    const edges = (body.data?.customer as { accounts: { edges: Edge[] } }).accounts.edges;
    expect(edges.length).toBeGreaterThan(0);
    expect(edges.every(({ node }) => typeof node.name === 'string' && node.balance === null)).toBe(true);
    expect(new Set(body.errors?.map((error) => error.extensions?.code))).toEqual(new Set(['FORBIDDEN']));
  });

  it('keep: a stock @apollo/gateway refuses the SDL as written, which is why strip exists', async () => {
    const customersSdl = parse(CUSTOMERS_FOR_GATEWAY);
    const composed = composeServices([
      { name: 'customers', url: customers.url, typeDefs: customersSdl },
      { name: 'tributary', url: `${app.url}/graphql`, typeDefs: parse(subgraphSdl()) },
    ]);
    expect(composed.errors).toBeUndefined();
    const gateway = gatewayFor(composed.supergraphSdl!, ROUTER_SECRET);
    await expect(gateway.load()).rejects.toThrow(/requiresScopes.*SECURITY/s);
  });
});
