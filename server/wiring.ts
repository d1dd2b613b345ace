/**
 * The composition root's wiring: the process-wide parts, built once at boot in dependency order and
 * shared by every request (database, repositories, partner registry, payments, webhooks,
 * authenticator). Requests get their own loaders on top of these (app.ts). Nothing below server/
 * imports this file: each part receives the narrow pieces it needs as arguments.
 */
import type { Logger } from 'pino';
import { migrationDirs, PARTNER_MODULES, partnersWith, paymentPartners } from '../datasources/modules.js';
import { createRegistry, type Registry, type SandboxEndpoints } from '../datasources/registry.js';
import type { ProviderName } from '../domain/model.js';
import { AuditLog } from '../store/audit.js';
import { inProcessChangeFeed, pgChangeFeed, type ChangeFeed } from '../store/change-feed.js';
import { ConsentCache } from '../store/consent-cache.js';
import { ConsentSnapshot } from '../store/consent-snapshot.js';
import { ConsentRepository } from '../store/consents.js';
import { DisputeRepository } from '../store/disputes.js';
import { openDatabase, type Db } from '../store/db.js';
import { migrate } from '../store/migrate.js';
import { parseKeyRing, SecretBox } from '../store/secrets.js';
import { createAuthenticator, loadOrCreateDevKey, type Authenticator, type DevSigningKey } from './auth.js';
import type { Config } from './config.js';
import { Metrics } from './metrics.js';
import {
  createWebhookService,
  type ClosableVerifier,
  type WebhookService,
} from '../services/webhooks/index.js';
import { startCopyRefresher, type CopyRefresher } from '../services/copies/refresher.js';
import { ConsentService } from '../services/consents/index.js';
import { startRevocationWorker, type RevocationWorker } from '../services/consents/worker.js';
import { IdempotencyStore } from '../store/idempotency.js';
import { CustomerErasure, ERASURE_TOPIC } from '../services/erasure/index.js';
import { ErasureRepository } from '../store/erasure.js';
import {
  CardRouter,
  crashSwitch,
  partnerKeySecretFrom,
  PaymentService,
  startKeyReaper,
  type KeyReaper,
  type RouteRule,
} from '../services/payments/index.js';

export interface Services {
  config: Config;
  logger: Logger;
  db: Db;
  consents: ConsentRepository;
  /** The subjects' active consents and credentials between requests, dropped on every change. */
  consentCache: ConsentCache;
  /** Change notices between replicas (LISTEN/NOTIFY on PostgreSQL). */
  changes: ChangeFeed;
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
  /** Disputes against ledger payments, as dispute webhooks pulled them. */
  disputes: DisputeRepository;
  /** Deletes finished idempotency keys past their retention. */
  keyReaper: KeyReaper;
  /** Synchronises local partner copies that no webhook refreshed for a while. */
  copyRefresher: CopyRefresher;
  /** The consent lifecycle: grants, the customers' answers, revocations at the partners. */
  consentService: ConsentService;
  /** Deletes at the partners the links of revoked consents they did not confirm yet. */
  revocationWorker: RevocationWorker;
  /** Erasing a customer (data-subject requests). */
  erasure: CustomerErasure;
}

export interface ServiceOverrides {
  db?: Db;
  devKey?: DevSigningKey;
  /** Locally started sandboxes, for partners the configuration leaves unset (development only). */
  sandboxes?: SandboxEndpoints;
}

/**
 * PostgreSQL when DATABASE_URL is set, else the embedded PGlite under the data directory. The
 * transaction re-entrancy guard is a development aid; production runs without its hooks.
 */
export function openConfiguredDatabase(config: Config): Promise<Db> {
  const reentryGuard = !config.production;
  return openDatabase(
    config.database.url
      ? { url: config.database.url, reentryGuard }
      : { dataDir: config.database.dataDir, reentryGuard },
  );
}

/** Opens the database, applies migrations (core and every partner's) and wires every process-wide part. */
export async function createServices(
  config: Config,
  logger: Logger,
  overrides: ServiceOverrides = {},
): Promise<Services> {
  const db = overrides.db ?? (await openConfiguredDatabase(config));
  const { applied } = await migrate(db, { dirs: migrationDirs() });
  if (applied.length > 0) logger.info({ applied }, 'database migrations applied');
  const secrets = new SecretBox(parseKeyRing(config.secretsKey));
  // Replicas share one PostgreSQL and hear each other's changes; the embedded database has one process.
  const changes =
    db.kind === 'pg' && config.database.url
      ? await pgChangeFeed({ url: config.database.url, logger })
      : inProcessChangeFeed();
  const consents = new ConsentRepository(db, secrets, { changes });
  const consentCache = new ConsentCache(consents, changes, config.consentCache);
  const devKey =
    config.auth.mode === 'dev' ? (overrides.devKey ?? (await loadOrCreateDevKey(config.dataDir))) : null;
  const metrics = new Metrics();
  const registry = createRegistry(
    {
      modules: PARTNER_MODULES,
      partners: config.partners,
      cache: config.cache,
      returnUrl: config.paymentReturnUrl,
      ...(overrides.sandboxes ? { sandboxes: overrides.sandboxes } : {}),
    },
    { credentials: consents.credentials, db, logger, observers: metrics },
  );
  const audit = new AuditLog(db);
  const payments = new PaymentService(
    {
      db,
      audit,
      providers: (name) => registry.payments(name),
      payingPartners: () => paymentPartners().filter((name) => registry.names().includes(name)),
      logger,
    },
    {
      partnerKeySecret: partnerKeySecretFrom(config.secretsKey),
      retentionMs: config.payments.retentionHours * 3_600_000,
      leaseMs: config.payments.leaseMs,
      cardRouter: cardRouterOf(registry, config.payments.routes),
      observeRoute: (attempt) => metrics.routeAttempt(attempt),
      ...(config.payments.crashAt
        ? { checkpoint: crashSwitch(config.payments.crashAt, config.production) }
        : {}),
    },
  );
  const disputes = new DisputeRepository(db);
  const webhooks = createWebhookService(config.webhooks, {
    db,
    audit,
    logger,
    payments,
    verifiers: webhookVerifiers(config, registry, logger, db),
    allowCidrs: Object.fromEntries(
      PARTNER_MODULES.map((module) => [module.name, config.partners[module.name]?.webhookAllowCidrs ?? []]),
    ),
    // The subject's credentials from the consent cache, as a request would read them.
    fetchPayment: async (provider, partnerId, call) => {
      const { credentials } = new ConsentSnapshot(call.subject, consentCache);
      return (
        (await registry.payments(provider).getPayments({ ...call, credentials }, [partnerId])).get(
          partnerId,
        ) ?? null
      );
    },
    disputes: {
      disputes,
      // A platform read: the dispute names its payment, and the ledger names the owner.
      fetchDispute: async (provider, partnerDisputeId, call) => {
        const partner = registry.payments(provider);
        if (!partner.getDispute) return null;
        return partner.getDispute({ ...call, subject: 'system:webhooks' }, partnerDisputeId);
      },
      observe: (dispute, change) => metrics.disputeChanged(dispute, change),
    },
    items: {
      links: consents,
      refreshLink: (provider, ctx, externalRef) => registry.refreshLink(provider, ctx, externalRef),
    },
    observeDelivery: (partner, outcome) => metrics.webhookDelivery(partner, outcome),
    observeProcessing: (partner, outcome) => metrics.webhookProcessed(partner, outcome),
  });
  const partnerKeySecret = partnerKeySecretFrom(config.secretsKey);
  const consentService = new ConsentService(
    {
      consents,
      audit,
      providers: (name) => registry.consents(name),
      box: secrets,
      logger,
      once: {
        keys: new IdempotencyStore(db),
        partnerKeySecret,
        leaseMs: config.payments.leaseMs,
        retentionMs: config.payments.retentionHours * 3_600_000,
      },
    },
    { callbackUrl: config.consentCallbackUrl, customerRefSecret: partnerKeySecret },
  );
  // A customer erased on another replica: this one's cached partner data about them goes too.
  // A lost notice leaves the data unreachable (the consents are gone) until it ages out of the cache.
  changes.subscribe(ERASURE_TOPIC, {
    onChange: (subject) => registry.forgetSubject(subject),
    onReset: () => undefined,
  });
  const erasure = new CustomerErasure({
    consents,
    revocations: consentService,
    core: new ErasureRepository(db),
    partners: registry,
    changes,
    audit,
    logger,
    pseudonymKey: partnerKeySecret,
  });
  metrics.watchState({
    inboxCounts: () => webhooks.repository.counts(),
    inboxOldestPendingSeconds: () => webhooks.repository.oldestPendingSeconds(),
    openDisputes: () => disputes.openCounts(),
    latestReconciliation: async () => {
      const [run] = await payments.reconciliations(1);
      if (!run) return null;
      const openByKind: Record<string, number> = {};
      for (const discrepancy of run.discrepancies)
        if (!discrepancy.applied) openByKind[discrepancy.kind] = (openByKind[discrepancy.kind] ?? 0) + 1;
      return { finishedAt: run.finishedAt, openByKind };
    },
  });
  return {
    payments,
    disputes,
    consentService,
    erasure,
    revocationWorker: startRevocationWorker(consentService, logger.child({ component: 'consents' }), {
      intervalMs: 60_000,
      batchSize: 50,
    }),
    keyReaper: startKeyReaper(payments.keys, logger),
    copyRefresher: startCopyRefresher(registry, logger, { ...config.copyRefresh, batchSize: 500 }),
    config,
    logger,
    db,
    consents,
    consentCache,
    changes,
    audit,
    registry,
    authenticator: createAuthenticator(config.auth, devKey),
    devKey,
    metrics,
    webhooks,
  };
}

/** One verifier per partner module, over that partner's secrets and (for key fetches) its endpoint. */
function webhookVerifiers(
  config: Config,
  registry: Registry,
  logger: Logger,
  db: Db,
): Map<ProviderName, ClosableVerifier> {
  const verifiers = new Map<ProviderName, ClosableVerifier>();
  for (const module of PARTNER_MODULES) {
    const settings = config.partners[module.name];
    if (!settings) continue;
    if (module.webhooks.usesSharedSecrets && settings.webhookSecrets.length === 0)
      logger.warn(
        { partner: module.name },
        'No webhook secret configured: every delivery from this partner is refused.',
      );
    verifiers.set(
      module.name,
      module.webhooks.createVerifier({
        settings,
        toleranceSeconds: config.webhooks.toleranceSeconds,
        endpoint: registry.endpoint(module.name),
        logger: logger.child({ component: 'webhooks', partner: module.name }),
        db,
      }),
    );
  }
  return verifiers;
}

/** Card payments go by the route table to the card processors this process reaches, in module-list order. */
function cardRouterOf(registry: Registry, routes: RouteRule[] | null): CardRouter {
  const reachable = registry.names();
  return new CardRouter(
    routes,
    partnersWith('card-payments').filter((partner) => reachable.includes(partner)),
  );
}

export async function closeServices(services: Services): Promise<void> {
  services.keyReaper.stop();
  services.revocationWorker.stop();
  services.copyRefresher.stop();
  await services.webhooks.close();
  // What the last requests and inbox events staged joins the chain before the database goes.
  services.audit.close();
  await services.audit
    .seal()
    .catch((error: unknown) =>
      services.logger.warn({ err: error }, 'audit entries left staged; the next start seals them'),
    );
  await services.registry.close();
  await services.changes.close();
  await services.db.close();
}
