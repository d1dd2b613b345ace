/**
 * One Tributary replica as its own operating-system process, for the end-to-end payment tests (two
 * replicas on one PostgreSQL; SIGKILL between the partner call and the local commit). It serves the
 * real app (server/main.ts) with the payment service pointed at a Stripe sandbox the test process owns,
 * so the partner and its ledger survive the replica being killed.
 *
 * Run with `node --import tsx test/services/payments/replica-process.ts`. Environment (test-only, read
 * here because this is a test harness, not the server):
 *   TRIBUTARY_DATA_DIR   shared dev signing key; PGlite lives in <dir>/db unless TEST_PG_URL is set
 *   TEST_PG_URL, TEST_PG_SCHEMA   PostgreSQL and the schema the replicas share
 *   TEST_STRIPE_URL      the Stripe sandbox
 *   TEST_CRASH_AT        crash switch, e.g. "partner_called:initiatePayment" (SIGKILL at that point)
 *   TEST_LEASE_MS, TEST_STRIPE_TIMEOUT_MS
 *   TEST_ADYEN_URL       routed mode: card payments go through the server's own payment service and
 *                        card router (PAYMENT_ROUTES from TEST_ROUTES) to the Stripe sandbox and this
 *                        Adyen sandbox, the crash switch set as TRIBUTARY_CRASH_AT (server/config.ts)
 * Prints `READY <url>` once it listens.
 */
import { join } from 'node:path';
import { createStripeProvider } from '../../../datasources/stripe/provider.js';
import type { CredentialStore } from '../../../domain/providers.js';
import { ADYEN_SANDBOX_API_KEY, ADYEN_SANDBOX_MERCHANT_ACCOUNT } from '../../../sandboxes/adyen/index.js';
import { STRIPE_SANDBOX_SECRET_KEY } from '../../../sandboxes/stripe/index.js';
import { loadConfig } from '../../../server/config.js';
import { createLogger } from '../../../server/logger.js';
import { buildApp } from '../../../server/app.js';
import { closeServices, createServices } from '../../../server/wiring.js';
import { crashSwitch } from '../../../services/payments/crash.js';
import { PaymentService } from '../../../services/payments/index.js';
import { openDatabase } from '../../../store/db.js';

const env = process.env;
const dataDir = env.TRIBUTARY_DATA_DIR!;
const routed = Boolean(env.TEST_ADYEN_URL);
const config = loadConfig({
  NODE_ENV: 'test',
  PORT: '0',
  LOG_LEVEL: env.TEST_LOG_LEVEL ?? 'silent',
  TRIBUTARY_DATA_DIR: dataDir,
  ...(routed
    ? {
        STRIPE_BASE_URL: env.TEST_STRIPE_URL!,
        STRIPE_SECRET_KEY: STRIPE_SANDBOX_SECRET_KEY,
        ADYEN_BASE_URL: env.TEST_ADYEN_URL!,
        ADYEN_API_KEY: ADYEN_SANDBOX_API_KEY,
        ADYEN_MERCHANT_ACCOUNT: ADYEN_SANDBOX_MERCHANT_ACCOUNT,
        IDEMPOTENCY_LEASE_MS: env.TEST_LEASE_MS ?? '5000',
        PARTNER_RETRY_ATTEMPTS: '1',
        ...(env.TEST_ROUTES ? { PAYMENT_ROUTES: env.TEST_ROUTES } : {}),
        ...(env.TEST_CRASH_AT ? { TRIBUTARY_CRASH_AT: env.TEST_CRASH_AT } : {}),
      }
    : {}),
});
const logger = createLogger({ level: config.logLevel });
const db = env.TEST_PG_URL
  ? await openDatabase({ url: env.TEST_PG_URL, schema: env.TEST_PG_SCHEMA!, max: 8 })
  : await openDatabase({ dataDir: join(dataDir, 'db') });

// The replica's services first: the Stripe links live in the shared consents table, as in production,
// so a request's consent snapshot finds them.
const services = await createServices(config, logger, { db });
const credentials: CredentialStore = services.consents.credentials;
const stripeAt = (timeoutMs: number) =>
  createStripeProvider(
    {
      baseUrl: env.TEST_STRIPE_URL!,
      secretKey: STRIPE_SANDBOX_SECRET_KEY,
      returnUrl: 'https://app.example/return',
      timeoutMs,
    },
    { credentials, logger },
  );
// Linking runs at boot with a generous timeout (once per shared database); the payments provider gets
// the timeout under test.
const linker = stripeAt(60_000);
for (const subject of ['cust_alice', 'cust_bob']) {
  if (await services.consents.findActive(subject, 'stripe')) continue;
  const link = await linker.connectSandboxCustomer(subject);
  await services.consents.grant({
    subject,
    provider: 'stripe',
    permissions: link.permissions,
    partnerRef: link.externalRef,
    credential: {
      accessToken: link.accessToken,
      refreshToken: link.refreshToken,
      expiresAt: link.tokenExpiresAt,
    },
    expiresAt: link.expiresAt,
  });
}
await linker.close();
const stripe = stripeAt(Number(env.TEST_STRIPE_TIMEOUT_MS ?? 5_000));

// The replica's payment service, whatever server/wiring.ts builds: this one calls the test's sandbox.
// It is put in place before the app is built, as the composition root would (no late binding). In
// routed mode the server's own service, built from the configuration above, is the one under test.
if (!routed) {
  const payments = new PaymentService(
    { db, audit: services.audit, logger, providers: () => stripe.payments },
    {
      partnerKeySecret: 'e2e-partner-key-secret',
      leaseMs: Number(env.TEST_LEASE_MS ?? 60_000),
      cardProvider: 'stripe',
      ...(env.TEST_CRASH_AT ? { checkpoint: crashSwitch(env.TEST_CRASH_AT, config.production) } : {}),
    },
  );
  Object.assign(services, { payments });
}
const app = await buildApp(services);
await app.fastify.listen({ port: 0, host: '127.0.0.1' });
const address = app.fastify.server.address();
const server = {
  url: `http://127.0.0.1:${typeof address === 'object' && address ? address.port : 0}`,
  close: async () => {
    await app.fastify.close();
    await closeServices(services);
  },
};

process.once('SIGTERM', () => {
  void Promise.allSettled([server.close(), stripe.close()]).finally(() => process.exit(0));
});
process.stdout.write(`READY ${server.url}\n`);
