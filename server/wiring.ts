/**
 * The process-wide parts, built once at boot and shared by every request: database, repositories,
 * partner registry, authenticator. Requests get their own loaders on top of these (context.ts).
 */
import type { Logger } from 'pino';
import { createRegistry, type Registry, type SandboxEndpoints } from '../datasources/registry.js';
import { AuditLog } from '../store/audit.js';
import { ConsentRepository } from '../store/consents.js';
import { openDatabase, type Db } from '../store/db.js';
import { migrate } from '../store/migrate.js';
import { parseKeyRing, SecretBox } from '../store/secrets.js';
import { createAuthenticator, loadOrCreateDevKey, type Authenticator, type DevSigningKey } from './auth.js';
import type { Config } from './config.js';
import { Metrics } from './metrics.js';
import { createWebhookService, type WebhookService } from '../services/webhooks/index.js';
import type { PaymentStatusSink } from '../services/webhooks/handler.js';
import {
  crashSwitch,
  partnerKeySecretFrom,
  PaymentService,
  startKeyReaper,
  type KeyReaper,
} from '../services/payments/index.js';

export interface Services {
  config: Config;
  logger: Logger;
  db: Db;
  consents: ConsentRepository;
  audit: AuditLog;
  registry: Registry;
  authenticator: Authenticator;
  /** The development signing key (null in production). */
  devKey: DevSigningKey | null;
  /** Prometheus registry and series (GET /metrics). */
  metrics: Metrics;
  /** Partner webhooks: intake, inbox worker (started by startServer), operator actions. */
  webhooks: WebhookService;
  /** Idempotent money movement and the payments ledger. */
  payments: PaymentService;
  /** Deletes finished idempotency keys past their retention. */
  keyReaper: KeyReaper;
}

export interface ServiceOverrides {
  db?: Db;
  devKey?: DevSigningKey;
  /** Locally started sandboxes, for partners the configuration leaves unset (development only). */
  sandboxes?: SandboxEndpoints;
}

/** PostgreSQL when DATABASE_URL is set, else the embedded PGlite under the data directory. */
export function openConfiguredDatabase(config: Config): Promise<Db> {
  return openDatabase(
    config.database.url ? { url: config.database.url } : { dataDir: config.database.dataDir },
  );
}

/** Opens the database, applies migrations and wires every process-wide part. */
export async function createServices(
  config: Config,
  logger: Logger,
  overrides: ServiceOverrides = {},
): Promise<Services> {
  const db = overrides.db ?? (await openConfiguredDatabase(config));
  const { applied } = await migrate(db);
  if (applied.length > 0) logger.info({ applied }, 'database migrations applied');
  const secrets = new SecretBox(parseKeyRing(config.secretsKey));
  const consents = new ConsentRepository(db, secrets);
  const devKey =
    config.auth.mode === 'dev' ? (overrides.devKey ?? (await loadOrCreateDevKey(config.dataDir))) : null;
  const metrics = new Metrics();
  const registry = createRegistry(
    config,
    { credentials: consents.credentials, db, logger, metrics },
    overrides.sandboxes ?? {},
  );
  const audit = new AuditLog(db);
  // Status changes go through the payments service (PaymentService.applyStatus), looked up when an
  // event is handled so the webhook service does not depend on the order services are built in.
  const payments: PaymentStatusSink = {
    applyStatus: (id, status, report) => {
      const service = (services as { payments?: PaymentStatusSink }).payments;
      if (!service) throw new Error('The payments service is not available.');
      return service.applyStatus(id, status, report);
    },
  };
  const webhooks = createWebhookService(config.webhooks, {
    db,
    audit,
    logger,
    payments,
    fetchPayment: async (provider, partnerId, call) =>
      (await registry.payments(provider).getPayments(call, [partnerId])).get(partnerId) ?? null,
    items: {
      links: consents,
      refreshLink: (provider, ctx, externalRef) => registry.refreshLink(provider, ctx, externalRef),
    },
    plaid: config.partners.plaid ?? overrides.sandboxes?.plaid ?? null,
    observeDelivery: (partner, outcome) => metrics.webhookDelivery(partner, outcome),
    observeProcessing: (partner, outcome) => metrics.webhookProcessed(partner, outcome),
  });
  const paymentService = new PaymentService(
    { db, audit, providers: (name) => registry.payments(name), logger },
    {
      partnerKeySecret: partnerKeySecretFrom(config.secretsKey),
      retentionMs: config.payments.retentionHours * 3_600_000,
      leaseMs: config.payments.leaseMs,
      ...(config.payments.crashAt
        ? { checkpoint: crashSwitch(config.payments.crashAt, config.production) }
        : {}),
    },
  );
  const services: Services = {
    payments: paymentService,
    keyReaper: startKeyReaper(paymentService.keys, logger),
    config,
    logger,
    db,
    consents,
    audit,
    registry,
    authenticator: createAuthenticator(config.auth, devKey),
    devKey,
    metrics,
    webhooks,
  };
  return services;
}

export async function closeServices(services: Services): Promise<void> {
  services.keyReaper.stop();
  await services.webhooks.close();
  await services.registry.close();
  await services.db.close();
}
