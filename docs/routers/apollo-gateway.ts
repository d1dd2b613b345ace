/**
 * Tributary behind a stock `@apollo/gateway`, as its own process. The gateway cannot enforce
 * `@requiresScopes` and refuses a supergraph that links it, so every subgraph publishes its SDL without
 * the authorisation directives (Tributary: FEDERATION_AUTH_DIRECTIVES=strip) and enforces its scopes
 * itself. test/e2e/routers/apollo-gateway.test.ts runs this file as it is.
 *
 *   tributary supergraph --subgraph customers=http://customers:4002/graphql \
 *     --subgraph tributary=http://tributary:4001/graphql --out supergraph.graphql
 *   TRIBUTARY_ROUTER_SECRET=... PORT=4000 npx tsx docs/routers/apollo-gateway.ts supergraph.graphql
 *
 * Environment: SUPERGRAPH (or the first argument) the supergraph file; TRIBUTARY_ROUTER_SECRET the
 * secret Tributary checks in `router-authorization` (its ROUTER_SECRET); PORT (default 4000, 0 for any
 * free port) and HOST (default 127.0.0.1). Prints `apollo-gateway ready at <url>` once it serves.
 */
import { readFileSync } from 'node:fs';
import type { IncomingHttpHeaders } from 'node:http';
import { ApolloGateway, RemoteGraphQLDataSource } from '@apollo/gateway';
import { ApolloServer } from '@apollo/server';
import { startStandaloneServer } from '@apollo/server/standalone';

/** The client's headers every subgraph gets: its token and its trace context. */
const FORWARDED = ['authorization', 'traceparent', 'x-request-id'] as const;
/** The subgraph that is given the router secret; no other subgraph ever sees it. */
const TRIBUTARY = 'tributary';

interface Context {
  headers: IncomingHttpHeaders;
}

const supergraphFile = process.argv[2] ?? process.env.SUPERGRAPH;
if (!supergraphFile) throw new Error('give the supergraph file as the first argument or in SUPERGRAPH');
const routerSecret = process.env.TRIBUTARY_ROUTER_SECRET;
if (!routerSecret) throw new Error("TRIBUTARY_ROUTER_SECRET: Tributary's ROUTER_SECRET is required");

const gateway = new ApolloGateway({
  supergraphSdl: readFileSync(supergraphFile, 'utf8'),
  buildService: ({ name, url }) =>
    new RemoteGraphQLDataSource<Context>({
      url,
      willSendRequest({ request, context }) {
        const headers = request.http?.headers;
        if (!headers) return;
        for (const header of FORWARDED) {
          const value = context.headers?.[header];
          if (typeof value === 'string') headers.set(header, value);
        }
        if (name === TRIBUTARY) headers.set('router-authorization', routerSecret);
      },
    }),
});

const server = new ApolloServer<Context>({ gateway });
const { url } = await startStandaloneServer(server, {
  listen: { host: process.env.HOST ?? '127.0.0.1', port: Number(process.env.PORT ?? 4000) },
  context: async ({ req }) => ({ headers: req.headers }),
});
process.stdout.write(`apollo-gateway ready at ${url}\n`);

for (const signal of ['SIGINT', 'SIGTERM'] as const) {
  process.once(signal, () => {
    void server.stop().then(() => process.exit(0));
  });
}
