/**
 * PERSISTED_OPERATIONS: the plugin through `executeOperation`, the router exemption and the error code
 * in isolation, then over real HTTP: a manifest published into the running server's database (the same
 * function `tributary operations publish` runs), and requests by id, by full query, over GET, from the
 * router, in `require`, `allow` and `off` mode.
 */
import { createHash } from 'node:crypto';
import { request } from 'node:http';
import { ApolloServer } from '@apollo/server';
import { GraphQLError } from 'graphql';
import pino from 'pino';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { publishManifest } from '../../cli/operations.js';
import { PersistedQueryRequiredError } from '../../domain/errors.js';
import { createErrorFormatter, reportError } from '../../server/graphql-errors.js';
import { MANIFEST_FORMAT } from '../../server/operation-manifest.js';
import {
  isFederationPlumbing,
  PersistedOperationsGate,
  persistedOperationsPlugin,
  PublishedOperations,
} from '../../server/persisted-operations.js';
import { startTestApp, type TestApp } from '../helpers/app.js';

const ROUTER_SECRET = 'r'.repeat(40);
const sha256 = (text: string) => createHash('sha256').update(text).digest('hex');

const CONSENTS = 'query MyConsents { consents { provider status } }';
const ACCOUNTS = 'query MyAccounts { accounts(first: 5) { edges { node { id name } } } }';
const ENTITIES = 'query($r: [_Any!]!) { _entities(representations: $r) { ... on Account { id name } } }';

type Body = {
  data?: Record<string, unknown> | null;
  errors?: { message: string; extensions?: Record<string, unknown> }[];
};

/** Publishes `bodies` (named after their operation) as a manifest on the app's database. */
async function publish(app: TestApp, ...bodies: string[]) {
  const operations = bodies.map((body) => ({
    id: sha256(body),
    name: /^\w+ (\w+)/.exec(body)![1]!,
    type: 'query',
    body,
  }));
  const outcome = await publishManifest(
    app.server.services.db,
    JSON.stringify({ format: MANIFEST_FORMAT, version: 1, operations }),
    { limits: app.config.limits, actor: 'operator:test' },
  );
  expect(outcome.ok).toBe(true);
}

/** POSTs a raw GraphQL body (or GETs it as search parameters) as cust_alice. */
async function send(
  app: TestApp,
  body: { query?: string; variables?: unknown; extensions?: unknown },
  options: { method?: 'GET' | 'POST'; router?: boolean } = {},
): Promise<{ status: number; body: Body }> {
  const headers: Record<string, string> = {
    authorization: `Bearer ${await app.token('cust_alice')}`,
    ...(options.router === false ? {} : { 'router-authorization': ROUTER_SECRET }),
  };
  const response =
    options.method === 'GET'
      ? await fetch(
          `${app.url}/graphql?${new URLSearchParams(
            Object.entries(body).map(([key, value]): [string, string] => [
              key,
              typeof value === 'string' ? value : JSON.stringify(value),
            ]),
          )}`,
          { headers: { ...headers, 'apollo-require-preflight': 'true' } },
        )
      : await fetch(`${app.url}/graphql`, {
          method: 'POST',
          headers: { ...headers, 'content-type': 'application/json' },
          body: JSON.stringify(body),
        });
  return { status: response.status, body: (await response.json()) as Body };
}

const byId = (query: string) => ({
  extensions: { persistedQuery: { version: 1, sha256Hash: sha256(query) } },
});
const codeOf = (answer: { body: Body }) => answer.body.errors?.[0]?.extensions?.code;

describe('the Apollo plugin without a transport (executeOperation)', () => {
  const published = { id: sha256(CONSENTS), name: 'MyConsents', type: 'query' as const, body: CONSENTS };
  const server = (mode: 'allow' | 'require') =>
    new ApolloServer({
      typeDefs: 'type Consent { provider: String status: String } type Query { consents: [Consent] }',
      resolvers: { Query: { consents: () => [{ provider: 'plaid', status: 'ACTIVE' }] } },
      plugins: [
        persistedOperationsPlugin(
          new PersistedOperationsGate(
            { mode, routerSecret: ROUTER_SECRET, maxTokens: 1000 },
            new PublishedOperations({
              get: async (id) => (id === published.id ? published : null),
              list: async () => [],
            }),
          ),
        ),
      ],
    });
  const single = (response: Awaited<ReturnType<ApolloServer['executeOperation']>>) =>
    response.body.kind === 'single' ? response.body.singleResult : null;

  it('refuses an unpublished document under require after resolving it, with a 400', async () => {
    const apollo = server('require');
    const refused = await apollo.executeOperation({ query: '{ consents { status } }' });
    expect(refused.http.status).toBe(400);
    expect(single(refused)?.errors?.[0]?.extensions?.code).toBe('PERSISTED_QUERY_REQUIRED');
    expect(single(refused)?.data).toBeUndefined();
    // Without a transport nobody carries the router secret: plumbing is refused too.
    const plumbing = await apollo.executeOperation({ query: '{ __typename }' });
    expect(single(plumbing)?.errors?.[0]?.extensions?.code).toBe('PERSISTED_QUERY_REQUIRED');
  });

  it('runs a published document, by id or as its text, in both modes', async () => {
    for (const mode of ['allow', 'require'] as const) {
      const apollo = server(mode);
      for (const request of [{ query: CONSENTS }, byId(CONSENTS)]) {
        const answer = single(await apollo.executeOperation(request));
        expect(answer?.errors).toBeUndefined();
        expect(answer?.data).toEqual({ consents: [{ provider: 'plaid', status: 'ACTIVE' }] });
      }
    }
  });
});

describe('the router exemption', () => {
  it('covers queries of _entities, _service and __typename only', () => {
    expect(
      isFederationPlumbing(
        'query($r: [_Any!]!) { _entities(representations: $r) { ... on Account { id } } }',
        1000,
      ),
    ).toBe(true);
    expect(isFederationPlumbing('{ _service { sdl } __typename }', 1000)).toBe(true);
    expect(isFederationPlumbing('{ _service { sdl } consents { id } }', 1000)).toBe(false);
    expect(isFederationPlumbing('{ ... on Query { consents { id } } }', 1000)).toBe(false);
    expect(isFederationPlumbing('{ _service { sdl } } mutation M { __typename }', 1000)).toBe(false);
    expect(isFederationPlumbing('{ _service { sdl }', 1000)).toBe(false);
    expect(isFederationPlumbing('{ _service { sdl } }', 3)).toBe(false);
  });
});

describe('PERSISTED_QUERY_REQUIRED in error handling', () => {
  it('keeps its own code and message, and is not logged as an unexpected error', () => {
    const refusal = new PersistedQueryRequiredError();
    const error = new GraphQLError(refusal.message, { originalError: refusal });
    expect(createErrorFormatter({ production: true })(error.toJSON(), error)).toMatchObject({
      message: refusal.message,
      extensions: { code: 'PERSISTED_QUERY_REQUIRED' },
    });
    const lines: string[] = [];
    reportError(error, pino({ level: 'debug' }, { write: (line: string) => lines.push(line) }));
    expect(lines).toEqual([]);
  });
});

describe('PERSISTED_OPERATIONS=require (behind the router secret)', { timeout: 60_000 }, () => {
  let app: TestApp;
  beforeAll(async () => {
    app = await startTestApp({ env: { PERSISTED_OPERATIONS: 'require', ROUTER_SECRET } });
  }, 180_000);
  afterAll(() => app?.close());

  it('serves an operation published while it runs, on the first request for it, without a restart', async () => {
    const before = await send(app, byId(CONSENTS));
    expect(codeOf(before)).toBe('PERSISTED_QUERY_NOT_FOUND');
    await publish(app, CONSENTS);
    const after = await send(app, byId(CONSENTS));
    expect(after.body.errors).toBeUndefined();
    expect(after.body.data?.consents).toEqual(
      expect.arrayContaining([expect.objectContaining({ status: 'ACTIVE' })]),
    );
  });

  it('serves a published operation by id over GET, and by its exact text', async () => {
    await publish(app, CONSENTS);
    const overGet = await send(app, byId(CONSENTS), { method: 'GET' });
    expect(overGet.status).toBe(200);
    expect(overGet.body.errors).toBeUndefined();
    const asText = await send(app, { query: CONSENTS });
    expect(asText.body.errors).toBeUndefined();
    expect(asText.body.data).toEqual(overGet.body.data);
  });

  it('refuses a full query that is not published with PERSISTED_QUERY_REQUIRED, before running it', async () => {
    await publish(app, CONSENTS);
    for (const query of ['{ consents { id } }', `${CONSENTS} `, '{ not valid graphql']) {
      const answer = await send(app, { query });
      expect(answer.status).toBe(400);
      expect(answer.body.data).toBeUndefined();
      expect(answer.body.errors).toHaveLength(1);
      expect(answer.body.errors?.[0]?.extensions).toEqual({
        code: 'PERSISTED_QUERY_REQUIRED',
        correlationId: expect.any(String),
      });
    }
    // An automatic persisted query registration of an unpublished document is refused too.
    const registration = await send(app, { query: '{ consents { id } }', ...byId('{ consents { id } }') });
    expect(codeOf(registration)).toBe('PERSISTED_QUERY_REQUIRED');
    expect(codeOf(await send(app, byId('{ consents { id } }')))).toBe('PERSISTED_QUERY_NOT_FOUND');
  });

  it('decides on what Apollo runs: a GET query string fastify and Apollo decode apart is refused', async () => {
    // An invalid escape (%ZZ) makes fastify keep the value as sent, while Apollo decodes %41 to "A":
    // the transport sees the published text, Apollo would run another document.
    const body = 'query Escaped { account(id: "%41%ZZ") { id } }';
    await publish(app, body);
    const url = new URL(app.url);
    const token = await app.token('cust_alice');
    const answer = await new Promise<{ status: number; body: Body }>((resolve, reject) => {
      const raw = request(
        {
          host: url.hostname,
          port: url.port,
          path: `/graphql?query=${body.replaceAll(' ', '+')}`,
          headers: {
            authorization: `Bearer ${token}`,
            'router-authorization': ROUTER_SECRET,
            'apollo-require-preflight': 'true',
          },
        },
        (response) => {
          let text = '';
          response.on('data', (chunk: Buffer) => (text += chunk.toString()));
          response.on('end', () => resolve({ status: response.statusCode!, body: JSON.parse(text) as Body }));
        },
      );
      raw.on('error', reject);
      raw.end();
    });
    expect(answer.status).toBe(400);
    expect(codeOf(answer)).toBe('PERSISTED_QUERY_REQUIRED');
    expect(answer.body.data).toBeUndefined();
  });

  it('answers an id that is not published with PERSISTED_QUERY_NOT_FOUND', async () => {
    const answer = await send(app, byId('query Unpublished { consents { id } }'));
    expect(codeOf(answer)).toBe('PERSISTED_QUERY_NOT_FOUND');
    expect(answer.body.data).toBeUndefined();
  });

  it("lets the router's _entities and _service through, and nothing else beside them", async () => {
    await publish(app, ACCOUNTS);
    const accounts = await send(app, byId(ACCOUNTS));
    const edges = (accounts.body.data?.accounts as { edges: { node: { id: string; name: string } }[] }).edges;
    expect(edges.length).toBeGreaterThan(0);
    const representations = edges.map((edge) => ({ __typename: 'Account', id: edge.node.id }));

    const entities = await send(app, { query: ENTITIES, variables: { r: representations } });
    expect(entities.body.errors).toBeUndefined();
    expect(entities.body.data?._entities).toEqual(edges.map((edge) => edge.node));
    const service = await send(app, { query: '{ _service { sdl } }' });
    expect(service.body.errors).toBeUndefined();
    expect((service.body.data?._service as { sdl: string }).sdl).toContain('type Account');

    const smuggled = await send(app, {
      query: 'query($r: [_Any!]!) { _entities(representations: $r) { __typename } consents { id } }',
      variables: { r: representations },
    });
    expect(codeOf(smuggled)).toBe('PERSISTED_QUERY_REQUIRED');
  });

  it('counts what it served and what it refused on /metrics', async () => {
    await publish(app, CONSENTS);
    await send(app, byId(CONSENTS));
    await send(app, { query: CONSENTS });
    await send(app, byId('query Unpublished { consents { id } }'));
    await send(app, { query: '{ _service { sdl } }' });
    await send(app, { query: '{ consents { provider } }' });
    const metrics = await (await fetch(`${app.url}/metrics`)).text();
    for (const outcome of ['manifest', 'listed', 'router', 'refused', 'unknown_id'])
      expect(metrics).toMatch(
        new RegExp(`^tributary_persisted_operations_total\\{outcome="${outcome}"\\} [1-9]`, 'm'),
      );
  });
});

describe('PERSISTED_OPERATIONS=require without a router secret', { timeout: 60_000 }, () => {
  let app: TestApp;
  beforeAll(async () => {
    app = await startTestApp({ env: { PERSISTED_OPERATIONS: 'require' }, seed: false });
  }, 180_000);
  afterAll(() => app?.close());

  it('exempts nothing: nobody can prove to be the router', async () => {
    const entities = await send(
      app,
      { query: ENTITIES, variables: { r: [{ __typename: 'Account', id: 'x' }] } },
      { router: false },
    );
    expect(codeOf(entities)).toBe('PERSISTED_QUERY_REQUIRED');
    const service = await send(app, { query: '{ _service { sdl } }' }, { router: false });
    expect(codeOf(service)).toBe('PERSISTED_QUERY_REQUIRED');
  });
});

describe('PERSISTED_OPERATIONS=allow', { timeout: 60_000 }, () => {
  let app: TestApp;
  beforeAll(async () => {
    app = await startTestApp({ env: { PERSISTED_OPERATIONS: 'allow' } });
    await publish(app, CONSENTS);
  }, 180_000);
  afterAll(() => app?.close());

  it('serves a published operation by id, and any full query', async () => {
    const published = await send(app, byId(CONSENTS), { router: false });
    expect(published.body.errors).toBeUndefined();
    expect(published.body.data?.consents).toEqual(
      expect.arrayContaining([expect.objectContaining({ status: 'ACTIVE' })]),
    );
    const adHoc = await send(app, { query: '{ consents { id provider } }' }, { router: false });
    expect(adHoc.body.errors).toBeUndefined();
    expect((adHoc.body.data?.consents as unknown[]).length).toBeGreaterThan(0);
  });

  it('keeps automatic persisted queries working for unpublished documents', async () => {
    const query = '{ consents { id status } }';
    expect(codeOf(await send(app, byId(query), { router: false }))).toBe('PERSISTED_QUERY_NOT_FOUND');
    const registered = await send(app, { query, ...byId(query) }, { router: false });
    expect(registered.body.errors).toBeUndefined();
    const again = await send(app, byId(query), { router: false });
    expect(again.body.errors).toBeUndefined();
    expect(again.body.data).toEqual(registered.body.data);
  });
});

describe('PERSISTED_OPERATIONS=off (the default)', { timeout: 60_000 }, () => {
  let app: TestApp;
  beforeAll(async () => {
    app = await startTestApp({ seed: false });
    await publish(app, CONSENTS);
  }, 180_000);
  afterAll(() => app?.close());

  it('ignores the manifest: a published id is an automatic persisted query like any other', async () => {
    expect(app.config.persistedOperations).toBe('off');
    expect(codeOf(await send(app, byId(CONSENTS), { router: false }))).toBe('PERSISTED_QUERY_NOT_FOUND');
    const full = await send(app, { query: '{ consents { id } }' }, { router: false });
    expect(full.body.errors).toBeUndefined();
  });
});
