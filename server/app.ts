/**
 * The HTTP surface: fastify routes for /graphql, /healthz, /readyz and /metrics, with Apollo Server behind
 * /graphql. Transport-level rules live here (body limit, router secret, correlation id); GraphQL-level
 * rules live in the schema build (shield, limits).
 */
import { randomUUID } from 'node:crypto';
import {
  ApolloServer,
  type ApolloServerPlugin,
  type GraphQLRequestContextWillSendResponse,
} from '@apollo/server';
import {
  ApolloServerPluginCacheControlDisabled,
  ApolloServerPluginLandingPageDisabled,
} from '@apollo/server/plugin/disabled';
import { fastifyApolloDrainPlugin, fastifyApolloHandler } from '@as-integrations/fastify';
import Fastify, {
  LogController,
  type FastifyBaseLogger,
  type FastifyInstance,
  type FastifyReply,
  type FastifyRequest,
} from 'fastify';
import { isPartnerName, migrationDirs } from '../datasources/modules.js';
import { createLoaders, type LoaderPorts } from '../resolvers/loaders.js';
import { checkReadiness } from '../store/health.js';
import { assertProductionTrust, bearerToken, routerSecretMatches } from './auth.js';
import type { GraphServices, Principal, RequestContext } from '../resolvers/context.js';
import {
  correlationPlugin,
  createErrorFormatter,
  reportError,
  notFoundHandler,
  stampCorrelationId,
  transportErrorHandler,
} from './graphql-errors.js';
import { idempotencyPlugin } from '../resolvers/support/idempotency.js';
import { operationLimitsPlugin, shapeGuard, shapeLimitRule } from './limits.js';
import { partialErrorsPlugin } from '../resolvers/support/partial-errors.js';
import {
  PersistedOperationsGate,
  persistedOperationsGuard,
  persistedOperationsPlugin,
  PublishedOperations,
} from './persisted-operations.js';
import { PersistedOperationRepository } from '../store/persisted-operations.js';
import { buildSchema } from './schema.js';
import { registerWebhookRoutes } from './webhook-routes.js';
import type { Services } from './wiring.js';
import helmet from '@fastify/helmet';
import { registerConsentRoutes } from './consent-routes.js';
import { registerOpsRoutes } from './ops-routes.js';
import { bodyDeadline, serverWithDeadlines } from './http-server.js';
import { mainPortAccess, metricsTokenMatches } from './metrics-access.js';
import { isDomainError } from '../domain/errors.js';
import { GraphQLError } from 'graphql';
import { operationSpanPlugin, withOperationSpan } from './tracing.js';

const REQUEST_ID = /^[A-Za-z0-9._:-]{8,128}$/;
const TRACEPARENT = /^[0-9a-f]{2}-([0-9a-f]{32})-[0-9a-f]{16}-[0-9a-f]{2}$/;

/** Accepts the caller's x-request-id or W3C traceparent trace id; otherwise makes one. */
export function correlationIdOf(headers: Record<string, string | string[] | undefined>): string {
  const requestId = headers['x-request-id'];
  if (typeof requestId === 'string' && REQUEST_ID.test(requestId)) return requestId;
  const traceparent = headers.traceparent;
  const trace = typeof traceparent === 'string' ? TRACEPARENT.exec(traceparent)?.[1] : undefined;
  if (trace && !/^0+$/.test(trace)) return trace;
  return randomUUID();
}

/** One log line per request, when it completes (with status and time), not two. */
class CompletedRequestsOnly extends LogController {
  override incomingRequest(): void {}
}

export interface App {
  fastify: FastifyInstance;
  apollo: ApolloServer<RequestContext>;
}

export async function buildApp(services: Services): Promise<App> {
  const { config, logger } = services;
  assertProductionTrust(config);
  const fastify: FastifyInstance = Fastify({
    loggerInstance: logger as unknown as FastifyBaseLogger,
    bodyLimit: config.limits.bodyBytes,
    genReqId: (request) => correlationIdOf(request.headers),
    logController: new CompletedRequestsOnly({ requestIdLogLabel: 'correlationId' }),
    return503OnClosing: true,
    serverFactory: serverWithDeadlines(config.http),
  });

  // Security headers for an API (and the consent callback's page, which sets its own CSP): no sniffing,
  // no framing, no referrer, HSTS in production. Development keeps Apollo's landing page working.
  await fastify.register(helmet, {
    contentSecurityPolicy: config.production
      ? { directives: { defaultSrc: ["'none'"], frameAncestors: ["'none'"] } }
      : false,
    crossOriginEmbedderPolicy: false,
    frameguard: { action: 'deny' },
    hsts: config.production ? { maxAge: 31_536_000, includeSubDomains: true } : false,
    referrerPolicy: { policy: 'no-referrer' },
  });

  // Every refusal fastify itself answers (a body over its limit, an unknown path) in the documented shape.
  fastify.setErrorHandler(transportErrorHandler);
  fastify.setNotFoundHandler(notFoundHandler);

  const formatError = createErrorFormatter({ production: config.production });
  const persisted = new PersistedOperationsGate(
    {
      mode: config.persistedOperations,
      routerSecret: config.routerSecret,
      maxTokens: config.limits.tokens,
      observe: (outcome) => services.metrics.persistedOperation(outcome),
    },
    new PublishedOperations(new PersistedOperationRepository(services.db)),
  );
  const apollo = new ApolloServer<RequestContext>({
    schema: buildSchema({ authDirectives: config.federationAuthDirectives }),
    logger,
    formatError,
    includeStacktraceInErrorResponses: false,
    introspection: !config.production,
    hideSchemaDetailsFromClientErrors: config.production,
    allowBatchedHttpRequests: false,
    csrfPrevention: true,
    parseOptions: { maxTokens: config.limits.tokens },
    validationRules: [shapeLimitRule(config.limits)],
    plugins: [
      // First: a published operation's id becomes its body before anything reads the query.
      persistedOperationsPlugin(persisted),
      operationLimitsPlugin(config.limits),
      // Partial failures join the errors before the metrics plugin labels the outcome.
      partialErrorsPlugin(formatError, (error, context) =>
        reportError(error, (context as RequestContext).logger),
      ),
      // After the partial errors join: every error of the answer gets the request's correlation id.
      correlationPlugin(),
      services.metrics.operationsPlugin(),
      operationSpanPlugin(),
      idempotencyPlugin(),
      fastifyApolloDrainPlugin(fastify),
      // Answers are per subject and the schema declares no @cacheControl hints: Apollo's default
      // cache-control plugin ran a hook on every resolved field only to conclude "no-store", which
      // noStorePlugin now says once per operation.
      ApolloServerPluginCacheControlDisabled(),
      noStorePlugin(),
      ...(config.production ? [ApolloServerPluginLandingPageDisabled()] : []),
    ],
  });
  await apollo.start();

  fastify.addHook('onSend', async (request, reply) => {
    reply.header('x-request-id', request.id);
  });
  // A body that does not arrive in time is answered 408 in the error shape (webhooks: tighter, below).
  fastify.addHook('onRequest', async (request, reply) => {
    if (!request.url.startsWith('/webhooks/'))
      bodyDeadline(request.raw, reply.raw, config.http.requestTimeoutMs, request.id);
  });

  fastify.get('/healthz', async () => ({ status: 'ok' }));
  // Never open to clients on the main port without METRICS_TOKEN (server/metrics-access.ts).
  const metricsAccess = mainPortAccess(config);
  if (metricsAccess.kind !== 'closed')
    fastify.get('/metrics', async (request, reply) => {
      if (
        metricsAccess.kind === 'token' &&
        !metricsTokenMatches(metricsAccess.token, header(request, 'authorization'))
      )
        return rejectTransport(reply, 401, 'UNAUTHENTICATED', 'GET /metrics requires its token.', request.id);
      const { contentType, body } = await services.metrics.render();
      return reply.type(contentType).send(body);
    });
  fastify.get('/readyz', async (_request, reply) => {
    const readiness = await checkReadiness(services.db, { dirs: migrationDirs() });
    return reply.code(readiness.ok ? 200 : 503).send(readiness);
  });

  await registerWebhookRoutes(fastify, services);
  registerConsentRoutes(fastify, services);
  // The operations console and its JSON API (ops tokens; not behind the router secret).
  await registerOpsRoutes(fastify, services);

  const handler = fastifyApolloHandler(apollo, {
    context: async (request) => contextFor(services, request),
  });
  fastify.route({
    method: ['GET', 'POST', 'OPTIONS'],
    url: '/graphql',
    // onRequest, not preHandler: a caller without the router secret is refused before its body is read.
    onRequest: async (request, reply) => {
      if (
        config.routerSecret &&
        !routerSecretMatches(config.routerSecret, header(request, 'router-authorization'))
      ) {
        return rejectTransport(reply, 403, 'FORBIDDEN', 'Requests must come through the router.', request.id);
      }
    },
    // PERSISTED_OPERATIONS=require refuses unpublished documents unparsed; then token and shape limits,
    // before Apollo parses and validates the document.
    preHandler: [persistedOperationsGuard(persisted), shapeGuard(config.limits)],
    // Body too large, not JSON, a form post: GraphQL-shaped 4xx answers, not fastify's own shape.
    errorHandler: transportErrorHandler,
    // Refusals Apollo answers before a context exists get the correlation id here.
    onSend: async (request, reply, payload) =>
      reply.statusCode >= 400 && typeof payload === 'string'
        ? stampCorrelationId(payload, request.id)
        : payload,
    handler: (request, reply) =>
      withOperationSpan(request.headers, () => handler.call(fastify, request as never, reply as never)),
  });

  return { fastify, apollo };
}

/** What resolvers may call: narrow views of the process's services, never db, config or keys. */
/** Every GraphQL answer is personal: no browser, proxy or CDN may keep it. */
function noStorePlugin(): ApolloServerPlugin<RequestContext> {
  const willSendResponse = async ({ response }: GraphQLRequestContextWillSendResponse<RequestContext>) => {
    response.http.headers.set('cache-control', 'no-store');
  };
  return { requestDidStart: async () => ({ willSendResponse }) };
}

function graphServices(services: Services): GraphServices {
  return {
    payments: services.payments,
    consents: {
      listBySubject: (subject) => services.consents.listBySubject(subject),
      get: (subject, id) => services.consents.get(subject, id),
      grant: (call, args, key) => services.consentService.grant(call, args, key),
      completeFor: (call, args, key) => services.consentService.completeFor(call, args, key),
      revoke: (call, id, key) => services.consentService.revoke(call, id, key),
    },
    partners: services.registry,
    erasure: services.erasure,
    webhooks: { operations: services.webhooks.operations, wake: () => services.webhooks.worker.wake() },
  };
}

/** What the request's loaders read: consents, the partners' accounts capabilities, the payments ledger. */
function loaderPorts(services: Services): LoaderPorts {
  return {
    consents: services.consentCache,
    partners: { accounts: (name) => services.registry.accounts(name), isPartner: isPartnerName },
    payments: services.payments,
    disputes: services.disputes,
  };
}

async function contextFor(services: Services, request: FastifyRequest): Promise<RequestContext> {
  const correlationId = request.id;
  let principal: Principal | null = null;
  try {
    const token = bearerToken(header(request, 'authorization'));
    if (token) principal = await services.authenticator.verify(token);
  } catch (error) {
    if (!isDomainError(error)) throw error;
    // Thrown from the context function, a GraphQLError keeps its code and answers 401.
    throw new GraphQLError(error.message, {
      extensions: { code: error.code, correlationId, http: { status: 401 } },
    });
  }
  const logger = services.logger.child({ correlationId });
  return {
    correlationId,
    principal,
    logger,
    services: graphServices(services),
    loaders: createLoaders(
      { principal, correlationId, logger, ...requestMaxAge(header(request, 'cache-control')) },
      loaderPorts(services),
    ),
  };
}

/**
 * What a client's `Cache-Control` asks of partner data: `no-cache`, `no-store` or `max-age=0` mean live
 * data only, `max-age=N` at most N seconds old; anything else leaves the configured ages.
 */
export function requestMaxAge(value: string | undefined): { maxAgeSeconds?: number } {
  if (!value) return {};
  const directives = value
    .toLowerCase()
    .split(',')
    .map((part) => part.trim());
  if (directives.includes('no-cache') || directives.includes('no-store')) return { maxAgeSeconds: 0 };
  const maxAge = directives.find((part) => /^max-age=\d{1,9}$/.test(part));
  return maxAge ? { maxAgeSeconds: Number(maxAge.slice('max-age='.length)) } : {};
}

function header(request: FastifyRequest, name: string): string | undefined {
  const value = request.headers[name];
  return Array.isArray(value) ? value[0] : value;
}

function rejectTransport(
  reply: FastifyReply,
  status: number,
  code: string,
  message: string,
  correlationId: string,
) {
  return reply
    .code(status)
    .type('application/json')
    .send({ errors: [{ message, extensions: { code, correlationId } }] });
}
