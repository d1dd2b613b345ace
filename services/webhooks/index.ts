/**
 * Partner webhooks (DESIGN §11): the intake the HTTP route calls (verify, store, answer), the inbox
 * worker, and the operator actions (list, replay). Which partners send webhooks and how each is
 * verified is the partner modules' business: the composition root builds one verifier per module
 * and hands them in.
 */
import type { Logger } from 'pino';
import type { ProviderName } from '../../domain/model.js';
import type { WebhookVerifier } from '../../datasources/webhook-verify.js';
import type { AuditLog } from '../../store/audit.js';
import type { Db } from '../../store/db.js';
import { WebhookRepository } from '../../store/webhooks.js';
import type { DisputeHandlerDeps } from './disputes.js';
import { paymentWebhookHandler, type PaymentFetcher, type PaymentStatusSink } from './handler.js';
import { itemEventHandler, type ItemHandlerDeps } from './items.js';
import { WebhookIntake } from './intake.js';
import { RejectionBudget, SourceAllowList } from './limits.js';
import { WebhookOperations } from './operations.js';
import { WebhookWorker } from './worker.js';

export { WebhookIntake } from './intake.js';
export { WebhookWorker } from './worker.js';
export { WebhookOperations } from './operations.js';

/** How deliveries are accepted and the inbox is worked (server/config.ts reads them). */
export interface WebhookSettings {
  /** Timestamps further than this from now, in the past or the future, are refused. */
  toleranceSeconds: number;
  /** Refused deliveries answered per partner per minute before answering 429. */
  rejectionsPerMinute: number;
  maxAttempts: number;
  retryBaseMs: number;
  retryMaxMs: number;
  pollMs: number;
  batch: number;
  /** Events of a batch handled at once (events about one resource stay in order). */
  concurrency: number;
  leaseMs: number;
  /** Our public base URL as partners should call it; null: the server's own address. */
  publicUrl: string | null;
}

/** A partner's verifier, with whatever it holds open (a key-fetching client). */
export type ClosableVerifier = WebhookVerifier & { close?(): Promise<void> };

export interface WebhookServiceDeps {
  db: Db;
  audit: AuditLog;
  logger: Logger;
  payments: PaymentStatusSink;
  fetchPayment: PaymentFetcher;
  /** Where Item events find the Item's subjects and sync its transactions; absent, they are ignored. */
  items?: ItemHandlerDeps;
  /** Where dispute events pull disputes from and store them; absent, they are ignored. */
  disputes?: Pick<DisputeHandlerDeps, 'fetchDispute' | 'disputes' | 'observe'>;
  /** One verifier per partner that sends webhooks; a partner without one is answered 404. */
  verifiers: ReadonlyMap<ProviderName, ClosableVerifier>;
  /** Optional source allow-lists per partner (CIDR); absent or empty: any source. */
  allowCidrs: Partial<Record<ProviderName, readonly string[]>>;
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

export function createWebhookService(config: WebhookSettings, deps: WebhookServiceDeps): WebhookService {
  const logger = deps.logger.child({ component: 'webhooks' });
  const repository = new WebhookRepository(deps.db);
  const { items, verifiers, allowCidrs, ...handlerDeps } = deps;
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
    verifiers,
    repository,
    budget: new RejectionBudget(config.rejectionsPerMinute),
    allowList: new SourceAllowList(allowCidrs),
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
      await Promise.all([...verifiers.values()].map((verifier) => verifier.close?.()));
    },
  };
}
