/**
 * Partner webhooks (DESIGN §11), wired from configuration: the verifier of each partner, the intake the
 * HTTP route calls, the inbox worker, and the operator actions (list, replay).
 *
 * | partner | scheme |
 * |---|---|
 * | stripe | `Stripe-Signature` t= and v1= HMAC-SHA256 (datasources/stripe/webhook.ts) |
 * | plaid | `Plaid-Verification` ES256 JWT, key by kid from Plaid (datasources/plaid/webhook.ts) |
 * | openbanking | Standard Webhooks v1 HMAC-SHA256 (datasources/openbanking/webhook.ts) |
 */
import type { Logger } from 'pino';
import type { ProviderName } from '../../domain/model.js';
import { openBankingWebhookVerifier } from '../../datasources/openbanking/webhook.js';
import { PlaidClient } from '../../datasources/plaid/client.js';
import { plaidWebhookVerifier, type PlaidKeyFetcher } from '../../datasources/plaid/webhook.js';
import { stripeWebhookVerifier } from '../../datasources/stripe/webhook.js';
import type { WebhookVerifier } from '../../datasources/webhook-verify.js';
import type { PartnerEndpointConfig, WebhookConfig } from '../../server/config.js';
import type { AuditLog } from '../../store/audit.js';
import type { Db } from '../../store/db.js';
import { WebhookRepository } from '../../store/webhooks.js';
import { paymentWebhookHandler, type PaymentFetcher, type PaymentStatusSink } from './handler.js';
import { itemEventHandler, type ItemHandlerDeps } from './items.js';
import { WebhookIntake } from './intake.js';
import { RejectionBudget, SourceAllowList } from './limits.js';
import { WebhookOperations } from './operations.js';
import { WebhookWorker } from './worker.js';

export { WebhookIntake } from './intake.js';
export { WebhookWorker } from './worker.js';
export { WebhookOperations } from './operations.js';

export interface WebhookServiceDeps {
  db: Db;
  audit: AuditLog;
  logger: Logger;
  payments: PaymentStatusSink;
  fetchPayment: PaymentFetcher;
  /** Where Item events find the Item's subjects and sync its transactions; absent, they are ignored. */
  items?: ItemHandlerDeps;
  /** Plaid's endpoint (configured or sandbox), for verification keys; null: Plaid webhooks are refused. */
  plaid: PartnerEndpointConfig | null;
  /** Overrides Plaid's key fetch (tests). */
  plaidKeys?: PlaidKeyFetcher;
  observeDelivery?: (partner: ProviderName, outcome: string) => void;
  observeProcessing?: (partner: ProviderName, outcome: 'processed' | 'ignored' | 'retry' | 'dead') => void;
  now?: () => Date;
}

export interface WebhookService {
  repository: WebhookRepository;
  intake: WebhookIntake;
  worker: WebhookWorker;
  operations: WebhookOperations;
  close(): Promise<void>;
}

/** Builds the verifiers for what is configured. */
export function createVerifiers(
  config: WebhookConfig,
  plaidKeys: PlaidKeyFetcher | null,
): Map<ProviderName, WebhookVerifier> {
  const verifiers = new Map<ProviderName, WebhookVerifier>();
  const tolerance = config.toleranceSeconds;
  verifiers.set(
    'stripe',
    stripeWebhookVerifier({ secrets: config.secrets.stripe, toleranceSeconds: tolerance }),
  );
  verifiers.set(
    'openbanking',
    openBankingWebhookVerifier({ secrets: config.secrets.openbanking, toleranceSeconds: tolerance }),
  );
  // Without a Plaid endpoint no key can be fetched, so every Plaid delivery is refused (unknown_key).
  const fetchKey: PlaidKeyFetcher = plaidKeys ?? (async () => null);
  verifiers.set('plaid', plaidWebhookVerifier({ fetchKey, clockToleranceSeconds: 30 }));
  return verifiers;
}

export function createWebhookService(config: WebhookConfig, deps: WebhookServiceDeps): WebhookService {
  const logger = deps.logger.child({ component: 'webhooks' });
  const repository = new WebhookRepository(deps.db);
  const { items, ...handlerDeps } = deps;
  let plaidClient: PlaidClient | null = null;
  let plaidKeys = deps.plaidKeys ?? null;
  if (!plaidKeys && deps.plaid) {
    const client = new PlaidClient({
      baseUrl: deps.plaid.baseUrl,
      clientId: deps.plaid.clientId ?? '',
      secret: deps.plaid.clientSecret,
      connections: 2,
    });
    plaidClient = client;
    plaidKeys = async (kid) => {
      try {
        return await client.getWebhookVerificationKey({ correlationId: `plaid-key-${kid}`, logger }, kid);
      } catch (error) {
        // Plaid answers 400 for a kid it does not know: a forgery, not an outage.
        if ((error as { status?: number }).status === 400) return null;
        throw error;
      }
    };
  }
  for (const partner of ['stripe', 'openbanking'] as const) {
    if (config.secrets[partner].length === 0)
      logger.warn({ partner }, 'No webhook secret configured: every delivery from this partner is refused.');
  }
  const worker = new WebhookWorker(
    {
      repository,
      handler: paymentWebhookHandler({
        ...handlerDeps,
        ...(items ? { items: itemEventHandler(items) } : {}),
      }),
      audit: deps.audit,
      logger,
      ...(deps.observeProcessing ? { observe: deps.observeProcessing } : {}),
      ...(deps.now ? { now: deps.now } : {}),
    },
    config,
  );
  const intake = new WebhookIntake({
    verifiers: createVerifiers(config, plaidKeys),
    repository,
    budget: new RejectionBudget(config.rejectionsPerMinute),
    allowList: new SourceAllowList(config.allowCidrs),
    logger,
    onStored: () => worker.wake(),
    ...(deps.observeDelivery ? { observe: deps.observeDelivery } : {}),
    ...(deps.now ? { now: deps.now } : {}),
  });
  return {
    repository,
    intake,
    worker,
    operations: new WebhookOperations(repository, deps.audit, deps.now),
    async close() {
      await worker.stop();
      await plaidClient?.close();
    },
  };
}
