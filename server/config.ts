/**
 * The only reader of the environment. Every variable is validated at once and every problem is
 * reported together, so an operator fixes a bad deployment in one round. Production refuses the
 * development defaults (local signing key, sandbox partners, dev secrets key, no router secret).
 */
import { z } from 'zod';
import type { ProviderName } from '../domain/model.js';
import type { PartnerCallSettings, PartnerSettings } from '../datasources/module.js';
import { PARTNER_MODULES, partnersWith } from '../datasources/modules.js';
import { parseRouteTable, type RouteRule } from '../services/payments/routing.js';
import type { WebhookSettings } from '../services/webhooks/index.js';
import { int, list, optionalText, optionalUrl } from './config-fields.js';
import { crossFieldProblems, DEV_SECRETS_KEY } from './config-rules.js';
import { webhooksFrom, WebhookEnvSchema } from './config-webhooks.js';

export { parseCidr } from './config-fields.js';
export { DEV_SECRETS_KEY } from './config-rules.js';

const NODE_ENVS = ['development', 'test', 'production'] as const;
const LOG_LEVELS = ['fatal', 'error', 'warn', 'info', 'debug', 'trace', 'silent'] as const;

const EnvSchema = z
  .object({
    NODE_ENV: z.enum(NODE_ENVS).default('development'),
    PORT: int(4001, 0, 65535),
    HOST: z.string().default('127.0.0.1'),
    LOG_LEVEL: z.enum(LOG_LEVELS).default('info'),
    DATABASE_URL: optionalUrl,
    TRIBUTARY_DATA_DIR: z.string().default('./.data'),
    ROUTER_SECRET: optionalText.pipe(z.string().min(32, 'must be at least 32 characters').optional()),
    FEDERATION_AUTH_DIRECTIVES: z.enum(['keep', 'strip']).default('keep'),
    PERSISTED_OPERATIONS: z
      .enum(['off', 'allow', 'require'], { error: 'must be off, allow or require' })
      .default('off'),
    AUTH_JWKS_URL: optionalUrl,
    AUTH_ISSUER: optionalText,
    AUTH_AUDIENCE: optionalText,
    AUTH_ALGORITHMS: list,
    AUTH_CLOCK_TOLERANCE_SECONDS: int(30, 0, 300),
    AUTH_MAX_TOKEN_LIFETIME_SECONDS: int(86_400, 60, 30 * 86_400),
    SECRETS_KEY: optionalText,

    PARTNER_CONNECT_TIMEOUT_MS: int(2_000, 10, 60_000),
    PARTNER_READ_TIMEOUT_MS: int(5_000, 10, 120_000),
    PARTNER_PAYMENT_TIMEOUT_MS: int(15_000, 10, 300_000),
    PARTNER_MAX_CONNECTIONS: int(32, 1, 1_024),
    PARTNER_MAX_RESPONSE_BYTES: int(5 * 1024 * 1024, 1_024, 64 * 1024 * 1024),
    PARTNER_READ_DEADLINE_MS: int(8_000, 10, 300_000),
    PARTNER_PAYMENT_DEADLINE_MS: int(30_000, 10, 600_000),
    PARTNER_RETRY_ATTEMPTS: int(2, 0, 10),
    PARTNER_RETRY_BASE_MS: int(100, 1, 60_000),
    PARTNER_RETRY_MAX_DELAY_MS: int(2_000, 1, 300_000),
    PARTNER_BREAKER_FAILURE_RATIO: z.coerce.number().gt(0).lt(1).default(0.5),
    PARTNER_BREAKER_WINDOW_MS: int(30_000, 1_000, 3_600_000),
    PARTNER_BREAKER_MIN_REQUESTS: int(10, 1, 100_000),
    PARTNER_BREAKER_HALF_OPEN_MS: int(15_000, 10, 3_600_000),
    PARTNER_BULKHEAD_QUEUE: int(100, 0, 100_000),
    CACHE_MAX_BYTES: int(64 * 1024 * 1024, 1_024, 16 * 1024 * 1024 * 1024),
    CACHE_MAX_STALENESS_SECONDS: int(900, 0, 7 * 24 * 3600),
    MAX_AGE_ACCOUNTS_SECONDS: int(0, 0, 24 * 3600),
    MAX_AGE_BALANCES_SECONDS: int(0, 0, 24 * 3600),
    MAX_AGE_TRANSACTIONS_SECONDS: int(0, 0, 24 * 3600),
    CONSENT_CACHE_MAX_BYTES: int(16 * 1024 * 1024, 0, 4 * 1024 * 1024 * 1024),
    CONSENT_CACHE_MAX_AGE_SECONDS: int(60, 0, 3_600),
    COPY_REFRESH_INTERVAL_SECONDS: int(900, 0, 24 * 3600),
    COPY_STALE_AFTER_SECONDS: int(6 * 3600, 60, 7 * 24 * 3600),

    HTTP_HEADERS_TIMEOUT_MS: int(10_000, 500, 120_000),
    HTTP_REQUEST_TIMEOUT_MS: int(30_000, 1_000, 600_000),
    HTTP_WEBHOOK_BODY_TIMEOUT_MS: int(5_000, 500, 120_000),
    HTTP_KEEP_ALIVE_TIMEOUT_MS: int(65_000, 1_000, 600_000),
    HTTP_IDLE_TIMEOUT_MS: int(120_000, 1_000, 3_600_000),
    LIMIT_BODY_BYTES: int(1024 * 1024, 1_024, 64 * 1024 * 1024),
    LIMIT_WEBHOOK_BODY_BYTES: int(256 * 1024, 1_024, 16 * 1024 * 1024),
    LIMIT_TOKENS: int(10_000, 100, 1_000_000),
    LIMIT_DEPTH: int(12, 2, 100),
    LIMIT_ALIASES: int(30, 1, 1_000),
    LIMIT_DIRECTIVES: int(20, 1, 1_000),
    LIMIT_COST: int(50_000, 100, 10_000_000),
    LIMIT_ENTITY_REPRESENTATIONS: int(1_000, 1, 100_000),
    LIMIT_FIELDS: int(300, 10, 100_000),
    SHUTDOWN_GRACE_MS: int(10_000, 0, 120_000),
    IDEMPOTENCY_RETENTION_HOURS: int(72, 24, 24 * 90),
    IDEMPOTENCY_LEASE_MS: int(60_000, 5_000, 3_600_000),
    TRIBUTARY_CRASH_AT: optionalText,
    PAYMENT_ROUTES: optionalText,
    METRICS_PORT: optionalText
      .transform((value) => (value === undefined ? undefined : Number(value)))
      .pipe(z.number().int().min(0).max(65535).optional()),
    METRICS_TOKEN: optionalText.pipe(z.string().min(16, 'must be at least 16 characters').optional()),
    TRIBUTARY_OPS_TOKEN: optionalText,
    OTEL_SERVICE_NAME: optionalText,
  })
  .extend({
    OTEL_EXPORTER_OTLP_ENDPOINT: optionalUrl,
    PAYMENT_RETURN_URL: optionalUrl,
    CONSENT_CALLBACK_URL: optionalUrl,
  })
  .extend(WebhookEnvSchema.shape);

export interface Config {
  env: (typeof NODE_ENVS)[number];
  production: boolean;
  port: number;
  host: string;
  logLevel: (typeof LOG_LEVELS)[number];
  database: { url: string | null; dataDir: string };
  dataDir: string;
  routerSecret: string | null;
  /**
   * Whether `_service.sdl` carries the router-facing authorisation directives (`@requiresScopes`,
   * `@authenticated`, `@policy`) and their `@link` imports. Tributary enforces scopes itself either way;
   * `strip` is for routers that refuse SECURITY features they cannot enforce (a stock `@apollo/gateway`).
   */
  federationAuthDirectives: 'keep' | 'strip';
  /**
   * Persisted operations (server/persisted-operations.ts): `off` leaves Apollo's automatic persisted
   * queries alone; `allow` also runs published operations sent by id; `require` runs only published
   * operations (and the router's `_entities`/`_service`).
   */
  persistedOperations: 'off' | 'allow' | 'require';
  auth:
    | {
        mode: 'jwks';
        jwksUrl: string;
        issuer: string;
        audience: string;
        algorithms: string[];
        clockToleranceSeconds: number;
        /** Tokens whose lifetime (exp - iat) exceeds this are refused. */
        maxTokenLifetimeSeconds: number;
      }
    | {
        mode: 'dev';
        issuer: string;
        audience: string;
        algorithms: string[];
        clockToleranceSeconds: number;
        maxTokenLifetimeSeconds: number;
      };
  secretsKey: string;
  /**
   * Every partner of the module list, from its env section; `endpoint` null: not configured
   * (development starts and uses its local sandbox).
   */
  partners: Record<ProviderName, PartnerSettings>;
  /** Where a customer lands after authorising a payment at a partner (3-D Secure, bank redirect). */
  paymentReturnUrl: string | null;
  /**
   * Where partners send customers back after they answer a consent (this process's
   * `GET /consents/callback`, as the customer's browser reaches it). Unset: development uses the local
   * listener once it listens (server/main.ts); production grants must name the app's own redirect.
   */
  consentCallbackUrl: string | null;
  /**
   * Every partner's call settings before its own `<NAME>_*` overrides (the `PARTNER_*` variables);
   * each partner's effective settings are `partners[name].calls`.
   */
  partnerDefaults: PartnerCallSettings;
  /** The cached fallback of partner reads (datasources/cache.ts). */
  cache: {
    maxBytes: number;
    maxStalenessSeconds: number;
    /** Per resource kind, how old partner data may be and still answer without a partner call. */
    maxAgeSeconds: { accounts: number; balances: number; transactions: number };
  };
  /** Subjects' consents and credentials kept between requests (store/consent-cache.ts); max age 0: off. */
  consentCache: { maxBytes: number; maxAgeMs: number };
  /**
   * The schedule behind webhooks for local partner copies (services/copies/refresher.ts): how often it
   * runs (0: off) and how old a copy may get before it is synchronised.
   */
  copyRefresh: { intervalMs: number; staleAfterMs: number };
  limits: {
    bodyBytes: number;
    webhookBodyBytes: number;
    tokens: number;
    depth: number;
    aliases: number;
    directives: number;
    cost: number;
    entityRepresentations: number;
    /** Field selections in one document (duplicates included). */
    fields: number;
  };
  /**
   * Deadlines on every connection (server/http-server.ts): the request's headers, the whole request
   * (headers and body), a webhook's body (tighter), how long an idle keep-alive connection is kept, and
   * how long a socket may sit silent at all.
   */
  http: {
    headersTimeoutMs: number;
    requestTimeoutMs: number;
    webhookBodyTimeoutMs: number;
    keepAliveTimeoutMs: number;
    idleTimeoutMs: number;
  };
  shutdownGraceMs: number;
  /**
   * Who may read GET /metrics (server/metrics-access.ts): `port` its own listener on `host` (the main
   * port then answers 404 there), `token` a Bearer token it requires. Neither: production answers 404,
   * development serves it on the main port with a warning.
   */
  metrics: { port: number | null; token: string | null };
  /**
   * OpenTelemetry tracing (server/tracing.ts): on when `otlpEndpoint` (OTEL_EXPORTER_OTLP_ENDPOINT) is
   * set; the exporter reads the other OTEL_EXPORTER_OTLP_* variables itself.
   */
  tracing: { otlpEndpoint: string | null; serviceName: string };
  /**
   * The ops token the CLI presents to a running server that holds the embedded database
   * (TRIBUTARY_OPS_TOKEN; without it, development signs one with the data directory's key).
   */
  opsToken: string | null;
  /** Partner webhooks (DESIGN §11); each partner's secrets are in `partners`. */
  webhooks: WebhookSettings;
  payments: {
    /** How long finished idempotency keys are kept (>= 24 h). */
    retentionHours: number;
    /** How long one attempt owns a key before another replica may take it over. */
    leaseMs: number;
    /** Test-only crash point (`<point>[:<mutation>]`); refused in production. */
    crashAt: string | null;
    /** The card route table (PAYMENT_ROUTES); null: every card processor, in module-list order. */
    routes: RouteRule[] | null;
  };
}

/** Every problem found in the environment, one per line. */
export class ConfigError extends Error {
  override name = 'ConfigError';
  constructor(readonly problems: string[]) {
    super(`invalid configuration:\n${problems.map((problem) => `  - ${problem}`).join('\n')}`);
  }
}

export const DEV_ISSUER = 'tributary-dev';
export const DEV_AUDIENCE = 'tributary';
const DEFAULT_ALGORITHMS = ['ES256', 'RS256', 'EdDSA'];

/** Reads and validates the environment; throws ConfigError listing every problem. */
export function loadConfig(env: NodeJS.ProcessEnv = process.env): Config {
  const parsed = EnvSchema.safeParse(env);
  // Each partner's variables are its module's env section, validated beside the rest.
  const partnerParsed = PARTNER_MODULES.map((module) => module.env.schema.safeParse(env));
  const problems = [parsed, ...partnerParsed].flatMap((result) =>
    result.success ? [] : result.error.issues.map((issue) => `${issue.path.join('.')}: ${issue.message}`),
  );
  problems.push(...crossFieldProblems(env));
  if (!parsed.success || problems.length > 0) throw new ConfigError(problems);
  const partnerValues: Record<string, unknown> = Object.assign(
    {},
    ...partnerParsed.map((result) => (result.success ? result.data : {})),
  );
  const e = parsed.data;
  const production = e.NODE_ENV === 'production';
  const jwksConfigured = e.AUTH_JWKS_URL !== undefined;

  const algorithms = e.AUTH_ALGORITHMS.length > 0 ? e.AUTH_ALGORITHMS : DEFAULT_ALGORITHMS;
  const clockToleranceSeconds = e.AUTH_CLOCK_TOLERANCE_SECONDS;
  const callDefaults: PartnerCallSettings = {
    connectTimeoutMs: e.PARTNER_CONNECT_TIMEOUT_MS,
    timeoutMs: { read: e.PARTNER_READ_TIMEOUT_MS, write: e.PARTNER_PAYMENT_TIMEOUT_MS },
    deadlineMs: { read: e.PARTNER_READ_DEADLINE_MS, write: e.PARTNER_PAYMENT_DEADLINE_MS },
    maxConnections: e.PARTNER_MAX_CONNECTIONS,
    maxResponseBytes: e.PARTNER_MAX_RESPONSE_BYTES,
    retryAttempts: e.PARTNER_RETRY_ATTEMPTS,
    retryBaseMs: e.PARTNER_RETRY_BASE_MS,
    retryMaxDelayMs: e.PARTNER_RETRY_MAX_DELAY_MS,
    breakerFailureRatio: e.PARTNER_BREAKER_FAILURE_RATIO,
    breakerWindowMs: e.PARTNER_BREAKER_WINDOW_MS,
    breakerMinRequests: e.PARTNER_BREAKER_MIN_REQUESTS,
    breakerHalfOpenMs: e.PARTNER_BREAKER_HALF_OPEN_MS,
    bulkheadQueue: e.PARTNER_BULKHEAD_QUEUE,
  };
  return {
    env: e.NODE_ENV,
    production,
    port: e.PORT,
    host: e.HOST,
    logLevel: e.LOG_LEVEL,
    database: { url: e.DATABASE_URL ?? null, dataDir: e.TRIBUTARY_DATA_DIR },
    dataDir: e.TRIBUTARY_DATA_DIR,
    routerSecret: e.ROUTER_SECRET ?? null,
    federationAuthDirectives: e.FEDERATION_AUTH_DIRECTIVES,
    persistedOperations: e.PERSISTED_OPERATIONS,
    auth: jwksConfigured
      ? {
          mode: 'jwks',
          jwksUrl: e.AUTH_JWKS_URL!,
          issuer: e.AUTH_ISSUER!,
          audience: e.AUTH_AUDIENCE!,
          algorithms,
          clockToleranceSeconds,
          maxTokenLifetimeSeconds: e.AUTH_MAX_TOKEN_LIFETIME_SECONDS,
        }
      : {
          mode: 'dev',
          issuer: e.AUTH_ISSUER ?? DEV_ISSUER,
          audience: e.AUTH_AUDIENCE ?? DEV_AUDIENCE,
          algorithms: ['ES256'],
          clockToleranceSeconds,
          // Development tokens are minted for up to 30 days (tributary token --ttl).
          maxTokenLifetimeSeconds: Math.max(e.AUTH_MAX_TOKEN_LIFETIME_SECONDS, 30 * 86_400),
        },
    secretsKey: e.SECRETS_KEY ?? DEV_SECRETS_KEY,
    partners: Object.fromEntries(
      PARTNER_MODULES.map((module) => [
        module.name,
        module.env.read(partnerValues, callDefaults, production),
      ]),
    ),
    paymentReturnUrl: e.PAYMENT_RETURN_URL ?? null,
    consentCallbackUrl: e.CONSENT_CALLBACK_URL ?? null,
    partnerDefaults: callDefaults,
    cache: {
      maxBytes: e.CACHE_MAX_BYTES,
      maxStalenessSeconds: e.CACHE_MAX_STALENESS_SECONDS,
      maxAgeSeconds: {
        accounts: e.MAX_AGE_ACCOUNTS_SECONDS,
        balances: e.MAX_AGE_BALANCES_SECONDS,
        transactions: e.MAX_AGE_TRANSACTIONS_SECONDS,
      },
    },
    consentCache: {
      maxBytes: e.CONSENT_CACHE_MAX_BYTES,
      maxAgeMs: e.CONSENT_CACHE_MAX_AGE_SECONDS * 1000,
    },
    copyRefresh: {
      intervalMs: e.COPY_REFRESH_INTERVAL_SECONDS * 1000,
      staleAfterMs: e.COPY_STALE_AFTER_SECONDS * 1000,
    },
    limits: {
      bodyBytes: e.LIMIT_BODY_BYTES,
      webhookBodyBytes: e.LIMIT_WEBHOOK_BODY_BYTES,
      tokens: e.LIMIT_TOKENS,
      depth: e.LIMIT_DEPTH,
      aliases: e.LIMIT_ALIASES,
      directives: e.LIMIT_DIRECTIVES,
      cost: e.LIMIT_COST,
      entityRepresentations: e.LIMIT_ENTITY_REPRESENTATIONS,
      fields: e.LIMIT_FIELDS,
    },
    http: {
      headersTimeoutMs: Math.min(e.HTTP_HEADERS_TIMEOUT_MS, e.HTTP_REQUEST_TIMEOUT_MS),
      requestTimeoutMs: e.HTTP_REQUEST_TIMEOUT_MS,
      webhookBodyTimeoutMs: Math.min(e.HTTP_WEBHOOK_BODY_TIMEOUT_MS, e.HTTP_REQUEST_TIMEOUT_MS),
      keepAliveTimeoutMs: e.HTTP_KEEP_ALIVE_TIMEOUT_MS,
      idleTimeoutMs: Math.max(e.HTTP_IDLE_TIMEOUT_MS, e.HTTP_KEEP_ALIVE_TIMEOUT_MS),
    },
    shutdownGraceMs: e.SHUTDOWN_GRACE_MS,
    metrics: { port: e.METRICS_PORT ?? null, token: e.METRICS_TOKEN ?? null },
    tracing: {
      otlpEndpoint: e.OTEL_EXPORTER_OTLP_ENDPOINT ?? null,
      serviceName: e.OTEL_SERVICE_NAME ?? 'tributary',
    },
    opsToken: e.TRIBUTARY_OPS_TOKEN ?? null,
    payments: {
      retentionHours: e.IDEMPOTENCY_RETENTION_HOURS,
      leaseMs: e.IDEMPOTENCY_LEASE_MS,
      crashAt: e.TRIBUTARY_CRASH_AT ?? null,
      routes: e.PAYMENT_ROUTES
        ? parseRouteTable(e.PAYMENT_ROUTES, partnersWith('card-payments')).rules
        : null,
    },
    webhooks: webhooksFrom(e),
  };
}
