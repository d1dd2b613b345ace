/**
 * Building a partner module's env section. Every partner is configured the same way, under its own
 * prefix (`<NAME>_`, the module name in upper case):
 *
 * | variable | meaning |
 * |---|---|
 * | `<NAME>_BASE_URL` | the partner's API; unset: the local sandbox in development, the partner left out in production |
 * | credentials | named by the module (`<NAME>_CLIENT_ID`, `<NAME>_SECRET_KEY`, ...), required with the URL |
 * | `<NAME>_WEBHOOK_SECRETS` | comma list of webhook signing secrets (shared-secret schemes only) |
 * | `<NAME>_WEBHOOK_ALLOW_CIDRS` | comma list of CIDR blocks webhook deliveries may come from |
 * | `<NAME>_CONNECT_TIMEOUT_MS`, `<NAME>_READ_TIMEOUT_MS`, `<NAME>_WRITE_TIMEOUT_MS` | per-attempt limits |
 * | `<NAME>_READ_DEADLINE_MS`, `<NAME>_WRITE_DEADLINE_MS` | whole-call budgets with retries |
 * | `<NAME>_RETRY_ATTEMPTS`, `<NAME>_MAX_CONNECTIONS`, `<NAME>_BULKHEAD_QUEUE` | retries and bulkhead |
 * | `<NAME>_BREAKER_FAILURE_RATIO`, `<NAME>_BREAKER_HALF_OPEN_MS` | circuit breaker |
 *
 * The call variables override the process-wide `PARTNER_*` defaults for this partner only.
 */
import { z } from 'zod';
import { cidrList, list, optionalInt, optionalRatio, optionalText, optionalUrl } from './env-fields.js';
import type {
  EnvValues,
  PartnerCallSettings,
  PartnerEndpoint,
  PartnerEnvSection,
  PartnerSettings,
} from './module.js';

/** How a module names its endpoint and credentials. */
export interface PartnerEnvSpec {
  /** The module name; the prefix is its upper case. */
  name: string;
  /** Client id variable suffix (e.g. `CLIENT_ID`); null for partners that authenticate with a secret alone. */
  clientId: string | null;
  /** Secret variable suffix (e.g. `SECRET`, `SECRET_KEY`). */
  secret: string;
  /**
   * Webhook signing: `shared-secret` schemes read `<NAME>_WEBHOOK_SECRETS` and, outside production,
   * fall back to `devSecret` (the secret the local sandbox signs with); `key-pair` schemes need none.
   */
  webhooks: { scheme: 'shared-secret'; devSecret: string } | { scheme: 'key-pair' };
  /** The partner's own call defaults, over the process-wide ones (e.g. a longer read timeout). */
  callDefaults?: (defaults: PartnerCallSettings) => PartnerCallSettings;
  /** More variables of the partner's own (e.g. mutual-TLS files), suffix -> schema. */
  extra?: Record<string, z.ZodType>;
  /** Adds to the endpoint from the parsed extra variables (e.g. the TLS files). */
  endpoint?: (endpoint: PartnerEndpoint, parsed: Record<string, unknown>) => PartnerEndpoint;
  /** Rules across the partner's variables, beyond "credentials go with the URL". */
  problems?: (env: EnvValues, production: boolean, has: (suffix: string) => boolean) => string[];
}

const CALL_OVERRIDES = {
  CONNECT_TIMEOUT_MS: optionalInt(10, 60_000),
  READ_TIMEOUT_MS: optionalInt(10, 120_000),
  WRITE_TIMEOUT_MS: optionalInt(10, 300_000),
  READ_DEADLINE_MS: optionalInt(10, 300_000),
  WRITE_DEADLINE_MS: optionalInt(10, 600_000),
  RETRY_ATTEMPTS: optionalInt(0, 10),
  MAX_CONNECTIONS: optionalInt(1, 1_024),
  BULKHEAD_QUEUE: optionalInt(0, 100_000),
  BREAKER_FAILURE_RATIO: optionalRatio,
  BREAKER_HALF_OPEN_MS: optionalInt(10, 3_600_000),
} satisfies Record<string, z.ZodType>;

/** The partner's call settings: the defaults, the module's own, then the operator's overrides. */
function callSettings(
  base: PartnerCallSettings,
  get: (suffix: keyof typeof CALL_OVERRIDES) => number | undefined,
): PartnerCallSettings {
  const pick = (suffix: keyof typeof CALL_OVERRIDES, fallback: number) => get(suffix) ?? fallback;
  return {
    ...base,
    connectTimeoutMs: pick('CONNECT_TIMEOUT_MS', base.connectTimeoutMs),
    timeoutMs: {
      read: pick('READ_TIMEOUT_MS', base.timeoutMs.read),
      write: pick('WRITE_TIMEOUT_MS', base.timeoutMs.write),
    },
    deadlineMs: {
      read: pick('READ_DEADLINE_MS', base.deadlineMs.read),
      write: pick('WRITE_DEADLINE_MS', base.deadlineMs.write),
    },
    retryAttempts: pick('RETRY_ATTEMPTS', base.retryAttempts),
    maxConnections: pick('MAX_CONNECTIONS', base.maxConnections),
    bulkheadQueue: pick('BULKHEAD_QUEUE', base.bulkheadQueue),
    breakerFailureRatio: pick('BREAKER_FAILURE_RATIO', base.breakerFailureRatio),
    breakerHalfOpenMs: pick('BREAKER_HALF_OPEN_MS', base.breakerHalfOpenMs),
  };
}

/** The env section of a partner configured the usual way (see the table above). */
export function partnerEnvSection(spec: PartnerEnvSpec): PartnerEnvSection {
  const prefix = `${spec.name.toUpperCase()}_`;
  const v = (suffix: string) => `${prefix}${suffix}`;
  const shape: Record<string, z.ZodType> = {
    [v('BASE_URL')]: optionalUrl,
    [v(spec.secret)]: optionalText,
    [v('WEBHOOK_ALLOW_CIDRS')]: cidrList,
  };
  if (spec.clientId) shape[v(spec.clientId)] = optionalText;
  if (spec.webhooks.scheme === 'shared-secret') shape[v('WEBHOOK_SECRETS')] = list;
  for (const [suffix, schema] of Object.entries(CALL_OVERRIDES)) shape[v(suffix)] = schema;
  for (const [suffix, schema] of Object.entries(spec.extra ?? {})) shape[v(suffix)] = schema;

  return {
    schema: z.object(shape),
    read(parsed, defaults, production): PartnerSettings {
      const text = (suffix: string) => parsed[v(suffix)] as string | undefined;
      const baseUrl = text('BASE_URL');
      let endpoint: PartnerEndpoint | null = baseUrl
        ? {
            baseUrl,
            clientId: spec.clientId ? (text(spec.clientId) ?? null) : null,
            clientSecret: text(spec.secret) ?? '',
          }
        : null;
      if (endpoint && spec.endpoint) endpoint = spec.endpoint(endpoint, parsed);
      const configuredSecrets = (parsed[v('WEBHOOK_SECRETS')] as string[] | undefined) ?? [];
      const webhookSecrets =
        spec.webhooks.scheme === 'key-pair'
          ? []
          : configuredSecrets.length > 0 || production
            ? configuredSecrets
            : [spec.webhooks.devSecret];
      const base = spec.callDefaults ? spec.callDefaults(defaults) : defaults;
      return {
        endpoint,
        webhookSecrets,
        webhookAllowCidrs: (parsed[v('WEBHOOK_ALLOW_CIDRS')] as string[] | undefined) ?? [],
        calls: callSettings(base, (suffix) => parsed[v(suffix)] as number | undefined),
      };
    },
    problems(env, production) {
      const has = (suffix: string) => (env[v(suffix)] ?? '').trim() !== '';
      const problems: string[] = [];
      const required = spec.clientId ? [spec.clientId, spec.secret] : [spec.secret];
      if (has('BASE_URL') && required.some((suffix) => !has(suffix))) {
        problems.push(`${required.map(v).join(' and ')} required with ${v('BASE_URL')}`);
      }
      if (production && spec.webhooks.scheme === 'shared-secret') {
        const values = (env[v('WEBHOOK_SECRETS')] ?? '').split(',').map((value) => value.trim());
        if (values.includes(spec.webhooks.devSecret))
          problems.push(`${v('WEBHOOK_SECRETS')}: production refuses the development webhook secret`);
      }
      problems.push(...(spec.problems?.(env, production, has) ?? []));
      return problems;
    },
  };
}
