/**
 * Shared by the security suites: a leak scanner for error bodies, a production deployment on loopback
 * (JWKS identity provider that can rotate keys, router secret, a "configured" Open Banking bank with
 * the demo customers linked), and the attack corpus.
 */
import { PARTNER_MODULES } from '../../datasources/modules.js';
import { randomBytes } from 'node:crypto';
import { createRegistry } from '../../datasources/registry.js';
import { generateDevKey, signDevToken, type DevSigningKey } from '../../server/auth.js';
import {
  sandboxEndpoints,
  startSandboxes,
  stopSandboxes,
  type RunningSandboxes,
} from '../../sandboxes/index.js';
import { seedDemoCustomers } from '../../cli/dev/demo.js';
import { startTestApp, type TestApp } from '../helpers/app.js';
import { startRotatingJwks } from '../server/rotating-jwks.js';

export const ISSUER = 'https://id.tributary.test/';
export const AUDIENCE = 'tributary-api';

/** What must never appear in an error a client receives. */
const LEAKS: readonly [string, RegExp][] = [
  ['stack frame', /\bat [\w$.<>]+ \(|\bat (file|node):|\.(?:ts|js|mjs|cjs):\d+|node:internal|stacktrace/],
  ['IPv4 address', /\b(?:\d{1,3}\.){3}\d{1,3}\b/],
  [
    'IPv6 address',
    /(?:^|[^\w:])(?:[0-9a-f]{0,4}:){1,7}:(?:[0-9a-f]{1,4})?|\b(?:[0-9a-f]{1,4}:){7}[0-9a-f]{1,4}\b/i,
  ],
  ['host name', /\blocalhost\b|\.internal\b|\.invalid\b/i],
  [
    'SQL',
    /\b(?:SELECT|INSERT INTO|DELETE FROM|UPDATE \w+ SET|WHERE|JOIN|RETURNING)\b|relation \\?"|column \\?"/,
  ],
  ['database', /violates|duplicate key|pglite|postgres|\bsqlstate\b/i],
  [
    'system error',
    /\bE(?:CONNREFUSED|CONNRESET|PIPE|TIMEDOUT|ADDRINUSE)\b|UND_ERR|socket hang up|fetch failed/,
  ],
  ['partner error body', /UK\.OBIE|\\?"ErrorCode\\?"|Injected fault|x-fapi/i],
  ['bearer token or JWT', /\beyJ[\w-]{10,}|Bearer\s+\S{10,}/],
  ['jose internals', /ERR_J(?:WT|WS|WKS|OSE)|"(?:iss|aud)" claim/],
];

/**
 * Every leak found in a response body, by kind; `secrets` are exact values (router secret, partner
 * tokens) that must not appear either. Scans only `errors`, since data may hold timestamps that look
 * like addresses.
 */
export function leaksIn(body: unknown, secrets: readonly string[] = []): string[] {
  const errors = (body as { errors?: unknown } | null)?.errors;
  if (errors === undefined) return [];
  const text = JSON.stringify(errors);
  const found = LEAKS.filter(([, pattern]) => pattern.test(text)).map(([kind]) => kind);
  for (const secret of secrets) if (secret && text.includes(secret)) found.push('secret');
  return found;
}

/** Clears the request ledger of every partner sandbox. */
export function resetLedgers(...groups: RunningSandboxes[]): void {
  for (const sandboxes of groups)
    for (const sandbox of Object.values(sandboxes)) sandbox.handle.resetLedger();
}

/** Requests every partner sandbox saw since the last reset, as "partner METHOD /route" -> count. */
export function partnerRequests(...groups: RunningSandboxes[]): Record<string, number> {
  const all: Record<string, number> = {};
  for (const sandboxes of groups) {
    for (const [name, sandbox] of Object.entries(sandboxes)) {
      for (const [route, count] of Object.entries(sandbox.handle.ledger().requests)) {
        all[`${name} ${route}`] = (all[`${name} ${route}`] ?? 0) + count;
      }
    }
  }
  return all;
}

export interface ProductionApp {
  app: TestApp;
  partners: RunningSandboxes;
  idpKey: DevSigningKey;
  routerSecret: string;
  jwks: Awaited<ReturnType<typeof startRotatingJwks>>;
  /** Headers of a request that came through the router, with a token for the subject. */
  asRouter(subject?: string, scopes?: readonly string[]): Promise<Record<string, string>>;
  token(subject: string, scopes?: readonly string[]): Promise<string>;
  /** Secrets that must never leave the process. */
  secrets(): string[];
  close(): Promise<void>;
}

const READ_SCOPES = ['accounts:read', 'balances:read', 'transactions:read', 'consents:read', 'payments:read'];

/** NODE_ENV=production with real settings: JWKS, router secret, PostgreSQL URL, a configured bank. */
export async function startProductionApp(
  options: { env?: Record<string, string>; customers?: string[] } = {},
): Promise<ProductionApp> {
  const idpKey = await generateDevKey();
  const jwks = await startRotatingJwks([idpKey.publicJwk]);
  const partners = await startSandboxes();
  const bank = partners.openbanking!;
  const routerSecret = randomBytes(24).toString('hex');
  const secretsKey = `k1:${randomBytes(32).toString('base64')}`;
  const webhookSecret = `whsec_${randomBytes(32).toString('base64')}`;
  const app = await startTestApp({
    seed: false,
    env: {
      NODE_ENV: 'production',
      DATABASE_URL: 'postgres://unused.invalid/tributary',
      AUTH_JWKS_URL: jwks.url,
      AUTH_ISSUER: ISSUER,
      AUTH_AUDIENCE: AUDIENCE,
      ROUTER_SECRET: routerSecret,
      SECRETS_KEY: secretsKey,
      OPENBANKING_BASE_URL: bank.handle.url,
      OPENBANKING_CLIENT_ID: bank.clientId ?? '',
      OPENBANKING_CLIENT_SECRET: bank.clientSecret,
      OPENBANKING_WEBHOOK_SECRETS: webhookSecret,
      ...options.env,
    },
  });
  const accessTokens = await linkCustomers(app, partners, options.customers ?? ['cust_alice', 'cust_bob']);
  const token = (subject: string, scopes: readonly string[] = READ_SCOPES) =>
    signDevToken(idpKey, { subject, scopes, issuer: ISSUER, audience: AUDIENCE });
  return {
    app,
    partners,
    idpKey,
    routerSecret,
    jwks,
    token,
    async asRouter(subject = 'cust_alice', scopes = READ_SCOPES) {
      return {
        'router-authorization': routerSecret,
        authorization: `Bearer ${await token(subject, scopes)}`,
      };
    },
    secrets: () => [routerSecret, secretsKey.slice(3), webhookSecret, bank.clientSecret, ...accessTokens],
    async close() {
      await app.close();
      await stopSandboxes(partners);
      await jwks.close();
    },
  };
}

/**
 * In production the bank is a configured partner, so the app's registry offers no sandbox linking: link
 * the customers through a registry that sees the same bank as a sandbox, as the demo seed does.
 */
async function linkCustomers(
  app: TestApp,
  partners: RunningSandboxes,
  customers: string[],
): Promise<string[]> {
  const { services } = app.server;
  // Linking is set-up, not the subject of a test: generous timeouts whatever the app was given.
  const unconfigured = Object.fromEntries(
    Object.entries(app.config.partners).map(([name, settings]) => [
      name,
      {
        ...settings,
        endpoint: null,
        calls: { ...settings.calls, connectTimeoutMs: 10_000, timeoutMs: { read: 10_000, write: 10_000 } },
      },
    ]),
  );
  const linker = createRegistry(
    {
      modules: PARTNER_MODULES,
      partners: unconfigured,
      cache: app.config.cache,
      returnUrl: null,
      sandboxes: { openbanking: sandboxEndpoints(partners).openbanking! },
    },
    { credentials: services.consents.credentials, db: services.db, logger: services.logger },
  );
  try {
    await seedDemoCustomers({ ...services, registry: linker }, customers);
  } finally {
    await linker.close();
  }
  partners.openbanking!.handle.resetLedger();
  const credentials = await Promise.all(
    customers.map((subject) => services.consents.credentials.get(subject, 'openbanking')),
  );
  return credentials.flatMap((credential) =>
    credential ? [credential.accessToken, ...(credential.refreshToken ? [credential.refreshToken] : [])] : [],
  );
}
