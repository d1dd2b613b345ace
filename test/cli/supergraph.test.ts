/**
 * `tributary supergraph`: composes live subgraphs into the file a router loads, with Tributary's SDL
 * fetched through its router secret, and says plainly why when it cannot.
 */
import { randomBytes } from 'node:crypto';
import { mkdtemp, readFile, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { ApolloServer } from '@apollo/server';
import { startStandaloneServer } from '@apollo/server/standalone';
import { buildSubgraphSchema } from '@apollo/subgraph';
import { parse } from 'graphql';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startTestApp, type TestApp } from '../helpers/app.js';
import { cliEnv, runCli } from '../helpers/cli.js';

const ROUTER_SECRET = randomBytes(24).toString('hex');

const CUSTOMERS = /* GraphQL */ `
  extend schema @link(url: "https://specs.apollo.dev/federation/v2.9", import: ["@key"])
  type Query {
    me: Customer
  }
  type Customer @key(fields: "id") {
    id: ID!
    name: String!
  }
`;

/** A neighbour that claims Account with its own, conflicting `name`: the two cannot compose. */
const CONFLICTING = /* GraphQL */ `
  extend schema @link(url: "https://specs.apollo.dev/federation/v2.9", import: ["@key"])
  type Query {
    ledger: Account
  }
  type Account @key(fields: "id") {
    id: ID!
    name: Int!
  }
`;

async function serve(sdl: string): Promise<{ url: string; stop: () => Promise<void> }> {
  const server = new ApolloServer({ schema: buildSubgraphSchema({ typeDefs: parse(sdl) }) });
  const { url } = await startStandaloneServer(server, { listen: { host: '127.0.0.1', port: 0 } });
  return { url, stop: () => server.stop() };
}

let app: TestApp;
let customers: Awaited<ReturnType<typeof serve>>;
let conflicting: Awaited<ReturnType<typeof serve>>;
let dir: string;

beforeAll(async () => {
  app = await startTestApp({ env: { ROUTER_SECRET } });
  customers = await serve(CUSTOMERS);
  conflicting = await serve(CONFLICTING);
  dir = await mkdtemp(join(tmpdir(), 'tributary-supergraph-'));
}, 120_000);

afterAll(async () => {
  await conflicting?.stop();
  await customers?.stop();
  await app?.close();
  if (dir) await rm(dir, { recursive: true, force: true });
});

const env = (extra: Record<string, string> = {}) => cliEnv(dir, extra);

describe('tributary supergraph', { timeout: 60_000 }, () => {
  it('composes Tributary (through its router secret) and a neighbour into a supergraph file', async () => {
    const out = join(dir, 'supergraph.graphql');
    const result = await runCli(
      [
        'supergraph',
        '--subgraph',
        `tributary=${app.url}/graphql`,
        '--subgraph',
        `customers=${customers.url}`,
        '--out',
        out,
      ],
      env({ ROUTER_SECRET }),
    );
    expect(result.code, result.stderr).toBe(0);
    const supergraph = await readFile(out, 'utf8');
    expect(supergraph).toMatch(/join__Graph[\s\S]*CUSTOMERS[\s\S]*TRIBUTARY/);
    expect(supergraph).toContain('type Account');
    expect(supergraph).toContain('type Customer');
    // Keep mode (the default): the router sees the scopes it can enforce too.
    expect(supergraph).toContain('@requiresScopes');
    expect(result.stderr).toContain(`wrote the supergraph of tributary, customers to ${out}`);
  });

  it('names the subgraph that refused it and suggests the router secret', async () => {
    const result = await runCli(['supergraph', '--subgraph', `tributary=${app.url}/graphql`], env());
    expect(result.code).toBe(1);
    expect(result.stderr).toMatch(
      /tributary published no SDL: Requests must come through the router\..*ROUTER_SECRET/,
    );
    expect(result.stdout).toBe('');
  });

  it('lists each composition error with its code and writes nothing', async () => {
    const out = join(dir, 'never.graphql');
    const result = await runCli(
      [
        'supergraph',
        '--subgraph',
        `tributary=${app.url}/graphql`,
        '--subgraph',
        `ledger=${conflicting.url}`,
        '--out',
        out,
      ],
      env({ ROUTER_SECRET }),
    );
    expect(result.code).toBe(1);
    expect(result.stderr).toMatch(/the subgraphs do not compose \(\d+ error\(s\)\):\n {2}[A-Z_]+: /);
    expect(result.stderr).toContain('Account.name');
    await expect(readFile(out, 'utf8')).rejects.toThrow(/ENOENT/);
  });

  it('refuses a malformed --subgraph and an unreachable one with their names', async () => {
    const malformed = await runCli(['supergraph', '--subgraph', 'tributary'], env());
    expect(malformed.code).toBe(2);
    expect(malformed.stderr).toContain('give name=url');

    const unreachable = await runCli(['supergraph', '--subgraph', 'gone=http://127.0.0.1:9/graphql'], env());
    expect(unreachable.code).toBe(1);
    expect(unreachable.stderr).toMatch(/^gone \(http:\/\/127\.0\.0\.1:9\/graphql\) is unreachable/);
  });
});
