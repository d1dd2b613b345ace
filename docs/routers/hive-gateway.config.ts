/**
 * Tributary behind The Guild's Hive Gateway, which enforces the supergraph's `@requiresScopes` at the
 * router: Tributary publishes its SDL with the directives (FEDERATION_AUTH_DIRECTIVES=keep, the default)
 * and still enforces every scope itself. test/e2e/routers/hive-gateway.test.ts runs this file as it is.
 *
 *   tributary supergraph --subgraph customers=http://customers:4002/graphql \
 *     --subgraph tributary=http://tributary:4001/graphql --out supergraph.graphql
 *   npx hive-gateway supergraph supergraph.graphql -c docs/routers/hive-gateway.config.ts --port 4000
 *
 * Environment: AUTH_JWKS_URL, AUTH_ISSUER, AUTH_AUDIENCE as Tributary's own (the identity provider's
 * JWKS, the tokens' `iss` and `aud`); AUTH_ALGORITHMS (default ES256,RS256); TRIBUTARY_ROUTER_SECRET the
 * secret Tributary checks in `router-authorization` (its ROUTER_SECRET).
 */
import {
  createRemoteJwksSigningKeyProvider,
  defineConfig,
  extractFromHeader,
  type JWTAuthPluginOptions,
  type JWTExtendContextFields,
} from '@graphql-hive/gateway';

type Algorithms = NonNullable<NonNullable<JWTAuthPluginOptions['tokenVerification']>['algorithms']>;

/** The client's headers every subgraph gets: its token and its trace context. */
const FORWARDED = ['authorization', 'traceparent', 'x-request-id'] as const;
/** The subgraph that is given the router secret; no other subgraph ever sees it. */
const TRIBUTARY = 'tributary';

function required(name: string): string {
  const value = process.env[name];
  if (!value) throw new Error(`${name} is required (see docs/routers/hive-gateway.config.ts)`);
  return value;
}

const routerSecret = required('TRIBUTARY_ROUTER_SECRET');
const algorithms = (process.env.AUTH_ALGORITHMS ?? 'ES256,RS256')
  .split(',')
  .map((name) => name.trim())
  .filter(Boolean) as Algorithms;

export const gatewayConfig = defineConfig({
  // The bearer token is verified against the identity provider's keys, as Tributary verifies it. A
  // request without one goes on (fields under @requiresScopes are refused); a bad one is refused whole.
  jwt: {
    signingKeyProviders: [createRemoteJwksSigningKeyProvider({ jwksUri: required('AUTH_JWKS_URL') })],
    tokenLookupLocations: [extractFromHeader({ name: 'authorization', prefix: 'Bearer' })],
    tokenVerification: {
      issuer: required('AUTH_ISSUER'),
      audience: required('AUTH_AUDIENCE'),
      algorithms,
    },
    reject: { missingToken: false, invalidToken: true },
  },
  // @requiresScopes (and @authenticated) enforced at the router, scopes read from the token's `scope`
  // claim (space-separated, as Tributary reads it). A field the token lacks a scope for is refused at
  // its path (UNAUTHORIZED_FIELD_OR_TYPE) and never asked of the subgraph; the rest of the query is served.
  genericAuth: {
    mode: 'protect-granular',
    resolveUserFn: (context: { jwt?: JWTExtendContextFields }) => context.jwt?.payload,
    rejectUnauthenticated: false,
  },
  propagateHeaders: {
    fromClientToSubgraphs({ request, subgraphName }) {
      const headers: Record<string, string> = {};
      for (const name of FORWARDED) {
        const value = request.headers.get(name);
        if (value) headers[name] = value;
      }
      if (subgraphName === TRIBUTARY) headers['router-authorization'] = routerSecret;
      return headers;
    },
  },
});
