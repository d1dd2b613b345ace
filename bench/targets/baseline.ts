/**
 * Benchmark child: the baselines every run measures beside Tributary, answering the same query with
 * the same data from memory (BENCHMARKS.md):
 * - `graphql`: graphql-js `graphql()` over node:http with Tributary's subgraph schema, the stable denominator;
 * - `apollo`: a bare @apollo/server + @apollo/subgraph standalone server, what a user would otherwise write;
 * - `bytes`: node:http answering the fixed response bytes (reported, never gated).
 *
 * Argument: { kind, dataFile }: dataFile holds `{ data }`, the response Tributary gave. Ready: { url }.
 */
import { readFileSync } from 'node:fs';
import { createServer, type IncomingMessage } from 'node:http';
import type { AddressInfo } from 'node:net';
import { ApolloServer } from '@apollo/server';
import { startStandaloneServer } from '@apollo/server/standalone';
import { buildSubgraphSchema } from '@apollo/subgraph';
import { graphql } from 'graphql';
import { typeDefs } from '../../server/schema.js';

interface Argument {
  kind: 'graphql' | 'apollo' | 'bytes';
  dataFile: string;
}

const argument = JSON.parse(process.argv[2] ?? '{}') as Argument;
const response = JSON.parse(readFileSync(argument.dataFile, 'utf8')) as { data: Record<string, unknown> };
// The query's root fields answer from memory; default resolvers walk the stored objects below them.
const rootResolvers = Object.fromEntries(
  Object.entries(response.data).map(([field, value]) => [field, () => value]),
);
const schema = buildSubgraphSchema({ typeDefs: typeDefs(), resolvers: { Query: rootResolvers } as never });

async function readBody(req: IncomingMessage): Promise<string> {
  const chunks: Buffer[] = [];
  for await (const chunk of req) chunks.push(chunk as Buffer);
  return Buffer.concat(chunks).toString('utf8');
}

async function listen(handler: (req: IncomingMessage) => Promise<string | Buffer>): Promise<string> {
  const server = createServer((req, res) => {
    handler(req).then(
      (body) => res.writeHead(200, { 'content-type': 'application/json' }).end(body),
      () => res.writeHead(500).end(),
    );
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  return `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
}

let url: string;
if (argument.kind === 'apollo') {
  const apollo = new ApolloServer({ schema });
  ({ url } = await startStandaloneServer(apollo, { listen: { port: 0, host: '127.0.0.1' } }));
} else if (argument.kind === 'graphql') {
  url = await listen(async (req) => {
    const { query, variables } = JSON.parse(await readBody(req)) as {
      query: string;
      variables?: Record<string, unknown>;
    };
    return JSON.stringify(await graphql({ schema, source: query, variableValues: variables ?? null }));
  });
} else {
  const bytes = Buffer.from(JSON.stringify(response));
  url = await listen(async (req) => {
    await readBody(req);
    return bytes;
  });
}
process.send?.({ url: `${url.replace(/\/$/, '')}/graphql` });
process.once('SIGTERM', () => process.exit(0));
process.once('disconnect', () => process.exit(0));
