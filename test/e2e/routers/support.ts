/**
 * What the router suites share: a Tributary whose HTTP server records the headers of every request it
 * received, the customers neighbour subgraph in-process, the supergraph written by `tributary
 * supergraph` (the CLI, as a platform team runs it), and a router from docs/routers/ started as its own
 * process on loopback, waited for until it answers, stopped after the suite.
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { readFileSync } from 'node:fs';
import { mkdtemp, rm } from 'node:fs/promises';
import type { IncomingHttpHeaders, IncomingMessage, ServerResponse } from 'node:http';
import { createServer } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { ApolloServer } from '@apollo/server';
import { ApolloServerPluginInlineTraceDisabled } from '@apollo/server/plugin/disabled';
import { startStandaloneServer } from '@apollo/server/standalone';
import { buildSubgraphSchema } from '@apollo/subgraph';
import { parse } from 'graphql';
import { createLocalJWKSet, jwtVerify } from 'jose';
import { expect } from 'vitest';
import { withoutRouterAuthDirectives } from '../../../server/sdl.js';
import { fromRoot } from '../../../store/paths.js';
import type { GraphQLAnswer, TestApp } from '../../helpers/app.js';
import { cliEnv, runCli, stopProcess } from '../../helpers/cli.js';

export const ROUTER_SECRET = randomBytes(24).toString('hex');

/** A W3C trace context as a client (or an edge proxy) sends it; its trace id becomes Tributary's correlation id. */
export const traceparent = () => `00-${randomBytes(16).toString('hex')}-${randomBytes(8).toString('hex')}-01`;

const ACCOUNTS = /* GraphQL */ `
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
        transactions(first: 2) {
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

/** Enters at the neighbour's Customer and reaches Tributary's accounts, balances and transactions. */
export const MY_ACCOUNTS = `query MyAccounts { me { id name ${ACCOUNTS} } }`;

/** Accounts and balances only: what a token with `accounts:read` alone may not have in full. */
export const MY_BALANCES = `query MyBalances { me { name accounts { edges { node { name balance { current { amount } } } } } } }`;

/** Only the account names: refused as a whole to a token without `accounts:read`. */
export const MY_ACCOUNT_NAMES = `query MyAccountNames { me { name accounts { edges { node { name } } } } }`;

/** What a client could try to reach Tributary's entity resolver through the router. */
export const ENTITIES_OF_ALICE = `{ _entities(representations: [{ __typename: "Customer", id: "cust_alice" }]) { ... on Customer { ${ACCOUNTS} } } }`;

/** One HTTP request a server received, with the headers as they arrived. */
export interface SeenRequest {
  method: string;
  url: string;
  headers: IncomingHttpHeaders;
  /** The status it was answered with, once answered. */
  status?: number;
}

export interface RequestLog {
  /** The /graphql requests since the last clear. */
  graphql(): SeenRequest[];
  clear(): void;
  stop(): void;
}

/**
 * Records every request Tributary's own HTTP server receives (a second `request` listener on its
 * node:http server: it reads the headers only and leaves the body to fastify).
 */
export function recordRequests(app: TestApp): RequestLog {
  const server = app.server.app.fastify.server;
  let seen: SeenRequest[] = [];
  const listener = (request: IncomingMessage, response: ServerResponse) => {
    const entry: SeenRequest = {
      method: request.method ?? '',
      url: request.url ?? '',
      headers: { ...request.headers },
    };
    seen.push(entry);
    response.once('finish', () => (entry.status = response.statusCode));
  };
  server.on('request', listener);
  return {
    graphql: () => seen.filter((request) => request.url.split('?')[0] === '/graphql'),
    clear: () => (seen = []),
    stop: () => void server.off('request', listener),
  };
}

/** The neighbour's customers. */
export const CUSTOMERS: Readonly<Record<string, { id: string; name: string; email: string }>> = {
  cust_alice: { id: 'cust_alice', name: 'Alice Archer', email: 'alice@example.test' },
  cust_bob: { id: 'cust_bob', name: 'Bob Brown', email: 'bob@example.test' },
};

interface CustomersContext {
  subject: string | null;
}

export interface CustomersSubgraph {
  url: string;
  /** Headers of every request the neighbour received since the last clear. */
  seen: IncomingHttpHeaders[];
  stop(): Promise<void>;
}

/**
 * The neighbour that owns Customer and knows the caller from the same bearer token Tributary verifies.
 * `strip` publishes its SDL without @requiresScopes (what every subgraph behind a stock @apollo/gateway
 * must do); `keep` publishes it as written.
 */
export async function startCustomersSubgraph(
  app: TestApp,
  directives: 'keep' | 'strip',
): Promise<CustomersSubgraph> {
  const written = readFileSync(fromRoot('test', 'fixtures', 'subgraphs', 'customers.graphql'), 'utf8');
  const sdl = directives === 'strip' ? withoutRouterAuthDirectives(written) : written;
  const keys = createLocalJWKSet({ keys: [app.devKey.publicJwk] });
  const seen: IncomingHttpHeaders[] = [];
  const server = new ApolloServer<CustomersContext>({
    plugins: [ApolloServerPluginInlineTraceDisabled()],
    schema: buildSubgraphSchema([
      {
        typeDefs: parse(sdl),
        resolvers: {
          Query: {
            me: (_root: unknown, _args: unknown, context: CustomersContext) =>
              context.subject ? (CUSTOMERS[context.subject] ?? null) : null,
            customer: (_root: unknown, args: { id: string }) => CUSTOMERS[args.id] ?? null,
          },
          Customer: {
            __resolveReference: (reference: { id: string }) => CUSTOMERS[reference.id] ?? null,
          },
        },
      },
    ]),
  });
  const { url } = await startStandaloneServer(server, {
    listen: { host: '127.0.0.1', port: 0 },
    context: async ({ req }) => {
      seen.push({ ...req.headers });
      const token = /^Bearer (\S+)$/.exec(req.headers.authorization ?? '')?.[1];
      if (!token) return { subject: null };
      const { payload } = await jwtVerify(token, keys, {
        issuer: app.config.auth.issuer,
        audience: app.config.auth.audience,
      });
      return { subject: payload.sub ?? null };
    },
  });
  return { url, seen, stop: () => server.stop() };
}

/**
 * `tributary supergraph` against the running subgraphs, as the README tells a platform team to run it;
 * returns the supergraph file it wrote.
 */
export async function composeSupergraph(
  dir: string,
  subgraphs: Record<string, string>,
  routerSecret: string,
): Promise<string> {
  const out = join(dir, 'supergraph.graphql');
  const args = [
    'supergraph',
    ...Object.entries(subgraphs).flatMap(([name, url]) => ['--subgraph', `${name}=${url}`]),
  ];
  // As the README writes it: the secret named for the subgraph that checks it.
  const result = await runCli(
    [...args, '--router-secret', `tributary=${routerSecret}`, '--out', out],
    cliEnv(dir),
  );
  expect(result.stderr).toContain(`wrote the supergraph of ${Object.keys(subgraphs).join(', ')}`);
  expect(result.code).toBe(0);
  return out;
}

/** A scratch directory for a suite's files (the supergraph, the CLI's data directory). */
export async function scratchDir(): Promise<{ path: string; remove(): Promise<void> }> {
  const path = await mkdtemp(join(tmpdir(), 'tributary-router-'));
  return { path, remove: () => rm(path, { recursive: true, force: true }) };
}

/** A TCP port free on loopback right now (for a router CLI that cannot be told to pick one). */
export async function freePort(): Promise<number> {
  const server = createServer();
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const address = server.address();
  await new Promise<void>((resolve) => server.close(() => resolve()));
  if (!address || typeof address === 'string') throw new Error('no port');
  return address.port;
}

export interface RouterProcess {
  child: ChildProcess;
  /** The router's GraphQL endpoint. */
  url: string;
  output(): string;
  stop(): Promise<void>;
}

const STARTUP_TIMEOUT_MS = 90_000;

/**
 * Spawns a router and resolves once `ready` says it serves: `ready` is called with the output so far
 * whenever it grows, and additionally polled (a failed probe is retried) when `probe` is given.
 * Rejects with the router's output when it exits first or does not get ready in time.
 */
export function startRouter(options: {
  command: string;
  args: string[];
  env: Record<string, string>;
  /** The endpoint, from the output (e.g. a printed ready line), or undefined while not there yet. */
  fromOutput?: (output: string) => string | undefined;
  /** Or: the endpoint is known, and this probe says when the router answers. */
  url?: string;
  probe?: () => Promise<boolean>;
}): Promise<RouterProcess> {
  const child = spawn(options.command, options.args, {
    cwd: fromRoot(),
    env: { PATH: process.env.PATH ?? '', HOME: process.env.HOME ?? tmpdir(), ...options.env },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  let text = '';
  const output = () => text;
  const router = (url: string): RouterProcess => ({ child, url, output, stop: () => stopProcess(child) });
  return new Promise((resolve, reject) => {
    let settled = false;
    const settle = (result: RouterProcess | Error) => {
      if (settled) return;
      settled = true;
      clearTimeout(timer);
      if (result instanceof Error) {
        void stopProcess(child).finally(() => reject(result));
      } else resolve(result);
    };
    const timer = setTimeout(
      () => settle(new Error(`the router did not get ready within ${STARTUP_TIMEOUT_MS} ms\n${text}`)),
      STARTUP_TIMEOUT_MS,
    );
    const onOutput = (chunk: Buffer) => {
      text += chunk.toString();
      const url = options.fromOutput?.(text);
      if (url) settle(router(url));
    };
    child.stdout!.on('data', onOutput);
    child.stderr!.on('data', onOutput);
    child.once('exit', (code, signal) =>
      settle(new Error(`the router exited (${code ?? signal}) before it was ready\n${text}`)),
    );
    if (options.probe && options.url) {
      const { probe, url } = options;
      const poll = async () => {
        while (!settled) {
          if (await probe().catch(() => false)) return settle(router(url));
          // Between two probes of a router that is still starting: a poll interval, not a wait for it.
          await new Promise((next) => setTimeout(next, 100));
        }
      };
      void poll();
    }
  });
}

/** Runs a process to its end (e.g. a router that must refuse to start) and returns its exit and output. */
export function runToExit(
  command: string,
  args: string[],
  env: Record<string, string>,
): Promise<{ code: number | null; output: string }> {
  const child = spawn(command, args, {
    cwd: fromRoot(),
    env: { PATH: process.env.PATH ?? '', HOME: process.env.HOME ?? tmpdir(), ...env },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  let output = '';
  child.stdout.on('data', (chunk: Buffer) => (output += chunk.toString()));
  child.stderr.on('data', (chunk: Buffer) => (output += chunk.toString()));
  const timer = setTimeout(() => child.kill('SIGKILL'), STARTUP_TIMEOUT_MS);
  return new Promise((resolve) =>
    child.once('close', (code) => {
      clearTimeout(timer);
      resolve({ code, output });
    }),
  );
}

export interface RouterAnswer {
  status: number;
  body: GraphQLAnswer['body'];
}

/** POSTs a GraphQL request to a router (or a subgraph) as a client would. */
export async function ask(
  url: string,
  query: string,
  headers: Record<string, string> = {},
): Promise<RouterAnswer> {
  const response = await fetch(url, {
    method: 'POST',
    headers: { 'content-type': 'application/json', accept: 'application/json', ...headers },
    body: JSON.stringify({ query }),
  });
  return { status: response.status, body: (await response.json()) as GraphQLAnswer['body'] };
}

// eslint-disable-next-line @typescript-eslint/no-explicit-any -- response bodies are checked field by field
export type Edge = { node: Record<string, any> };

/** Alice's Open Banking accounts as the sandboxes seed them, with their current balances. */
export const ALICE_BALANCES: Readonly<Record<string, { amount: string; currency: string }>> = {
  Everyday: { amount: '-123.45', currency: 'GBP' },
  'Rainy day': { amount: '5250.00', currency: 'GBP' },
};

/** Checks a `me` answer of MY_ACCOUNTS: alice, her accounts, their balances and up to two transactions each. */
export function expectAlicesAccounts(body: GraphQLAnswer['body']): void {
  expect(body.errors).toBeUndefined();
  const me = body.data?.me as { id: string; name: string; accounts: { edges: Edge[] } };
  expect(me.id).toBe('cust_alice');
  expect(me.name).toBe('Alice Archer');
  const byName = new Map(me.accounts.edges.map(({ node }) => [node.name as string, node]));
  expect([...byName.keys()]).toEqual(expect.arrayContaining(['Everyday', 'Rainy day', 'Travel card']));
  for (const [name, current] of Object.entries(ALICE_BALANCES))
    expect(byName.get(name)?.balance.current).toEqual(current);
  for (const { node } of me.accounts.edges) {
    expect(node.balance.current.amount).toMatch(/^-?\d+\.\d{2}$/);
    const transactions = node.transactions.edges as Edge[];
    expect(transactions.length).toBeGreaterThan(0);
    expect(transactions.length).toBeLessThanOrEqual(2);
    for (const { node: transaction } of transactions) expect(typeof transaction.id).toBe('string');
  }
}

export const bearer = async (app: TestApp, subject: string, scopes?: readonly string[]) => ({
  authorization: `Bearer ${await app.token(subject, scopes)}`,
});
