/**
 * Idempotent money movement (DESIGN §10): the PaymentService the resolvers, the webhook processor and
 * the CLI use. One instance per process, built at boot (server/wiring.ts).
 */
import type { Logger } from 'pino';
import type { Payment, PaymentStatus, ProviderName } from '../../domain/model.js';
import type { CallContext, PaymentsProvider } from '../../domain/providers.js';
import type { AuditLog } from '../../store/audit.js';
import type { Db } from '../../store/db.js';
import { IdempotencyStore } from '../../store/idempotency.js';
import { PaymentRepository } from '../../store/payments.js';
import { cancelPayment } from './cancel.js';
import { confirmPayment } from './confirm.js';
import { callPartner, type FlowDeps } from './context.js';
import { initiatePayment } from './initiate.js';
import { PaymentLedger, type StatusChange, type StatusReport } from './ledger.js';
import type { PaymentResult } from './payload.js';
import { reconcile, type ReconcileOptions, type ReconcileReport } from './reconcile.js';
import { ReconciliationRepository, type ReconciliationRun } from '../../store/reconciliation.js';
import { refundPayment } from './refund.js';
import { CardRouter, type RouteObserver } from './routing.js';
import { IdempotentRunner, type Checkpoint, type RunnerOptions } from './runner.js';
import type { InitiatePaymentArgs, MoneyArgs } from './validation.js';

export type { PaymentPayload, PaymentResult } from './payload.js';
export type { InitiatePaymentArgs, MoneyArgs } from './validation.js';
export {
  failureOf,
  PaymentRejectedError,
  type PaymentFailureCode,
  type PaymentUserError,
  type PaymentUserErrorCode,
} from './outcomes.js';
export type { AttemptOutcome, Checkpoint, CrashPoint } from './runner.js';
export { crashSwitch } from './crash.js';
export { CardRouter, parseRouteTable, type RouteObserver, type RouteRule } from './routing.js';
export { partnerKeySecretFrom } from './keys.js';
export { startKeyReaper, type KeyReaper } from './reaper.js';
export type { Discrepancy, DiscrepancyKind, ReconcileOptions, ReconcileReport } from './reconcile.js';
export type { ReconciliationRun, StoredDiscrepancy } from '../../store/reconciliation.js';

const HOUR = 3_600_000;
/** Keys are kept at least this long (DESIGN §10), whatever the configuration says. */
export const MIN_RETENTION_MS = 24 * HOUR;

/** Tuning of the payment service; only the partner-key secret is required. */
export interface PaymentServiceOptions {
  /** HMAC secret of the partner keys; stable across replicas (derive it from the secrets key). */
  partnerKeySecret: string | Buffer;
  /** How long a finished key is kept. Default 72 h; less than 24 h is refused. */
  retentionMs?: number;
  /** How long an attempt owns a key before another may take over. Default 60 s. */
  leaseMs?: number;
  /** Upper bound of one partner call. Default: the lease minus 10 s (at least half the lease). */
  partnerCallTimeoutMs?: number;
  /** How long partners keep idempotency keys, less a margin. Default 23 h (Stripe, Open Banking: 24 h). */
  partnerKeyWindowMs?: number;
  /** The card processors and their route table; without it, `cardProvider` alone takes card payments. */
  cardRouter?: CardRouter;
  /** The one card processor when there is no router; with neither, card payments are refused. */
  cardProvider?: ProviderName;
  /** Told every routed attempt (processor, outcome, rule): wire a metrics counter here. */
  observeRoute?: RouteObserver;
  /** Crash hook, for tests and the non-production crash switch (crash.ts). */
  checkpoint?: Checkpoint;
  /** Told the outcome of every attempt: wire a metrics counter here. */
  observe?: RunnerOptions['observe'];
  /** Clock, for tests; without it the database clock runs leases and expiry. */
  now?: () => Date;
}

/** The process-wide parts the payment service uses. */
export interface PaymentServiceDeps {
  db: Db;
  audit: AuditLog;
  /** registry.payments */
  providers: (name: ProviderName) => PaymentsProvider;
  /** The payments partners reachable here: what a reconciliation compares by default. */
  payingPartners?: () => ProviderName[];
  logger: Logger;
}

/** The money-moving operations and the payments ledger behind them. */
export class PaymentService {
  readonly ledger: PaymentLedger;
  readonly keys: IdempotencyStore;
  readonly retentionMs: number;
  readonly #flows: FlowDeps;
  readonly #logger: Logger;
  readonly #runs: ReconciliationRepository;
  readonly #payingPartners: () => ProviderName[];

  constructor(deps: PaymentServiceDeps, options: PaymentServiceOptions) {
    const retentionMs = options.retentionMs ?? 72 * HOUR;
    if (retentionMs < MIN_RETENTION_MS)
      throw new Error('Idempotency keys must be kept for at least 24 hours.');
    const leaseMs = options.leaseMs ?? 60_000;
    const now = options.now ?? (() => new Date());
    this.retentionMs = retentionMs;
    this.#runs = new ReconciliationRepository(deps.db);
    this.#payingPartners = deps.payingPartners ?? (() => []);
    this.#logger = deps.logger.child({ component: 'payments' });
    this.keys = new IdempotencyStore(deps.db, options.now ? { now: options.now } : {});
    this.ledger = new PaymentLedger(deps.db, new PaymentRepository(deps.db), now);
    const runner = new IdempotentRunner(deps.db, this.keys, {
      leaseMs,
      retentionMs,
      logger: deps.logger.child({ component: 'payments' }),
      ...(options.checkpoint ? { checkpoint: options.checkpoint } : {}),
      ...(options.observe ? { observe: options.observe } : {}),
      current: (subject, known) => this.ledger.current(subject, known),
      audit: deps.audit,
    });
    this.#flows = {
      ledger: this.ledger,
      audit: deps.audit,
      runner,
      providers: deps.providers,
      partnerKeySecret: options.partnerKeySecret,
      partnerKeyWindowMs: options.partnerKeyWindowMs ?? 23 * HOUR,
      partnerCallTimeoutMs: options.partnerCallTimeoutMs ?? Math.max(leaseMs - 10_000, leaseMs / 2),
      cardRouter:
        options.cardRouter ?? (options.cardProvider ? new CardRouter(null, [options.cardProvider]) : null),
      observeRoute: options.observeRoute ?? (() => undefined),
      now,
    };
  }

  /** initiatePayment. */
  initiate(call: CallContext, input: InitiatePaymentArgs, idempotencyKey: string): Promise<PaymentResult> {
    return initiatePayment(this.#flows, call, input, idempotencyKey);
  }

  /** confirmPayment: finishes a card payment after the customer's 3-D Secure. */
  confirm(
    call: CallContext,
    id: string,
    idempotencyKey: string,
    authenticationResult: string | null = null,
  ): Promise<PaymentResult> {
    return confirmPayment(this.#flows, call, id, idempotencyKey, authenticationResult);
  }

  /**
   * The client secret the processor's SDK completes the payment's next action with, read from the
   * partner when asked (never stored); null when the payment waits for no such action.
   */
  async clientSecret(call: CallContext, payment: Payment): Promise<string | null> {
    if (payment.ownerId !== call.subject || payment.status !== 'REQUIRES_ACTION') return null;
    const provider = this.#flows.providers(payment.provider);
    if (!provider.clientSecretOf) return null;
    return callPartner(call, this.#flows, payment.provider, 'clientSecretOf', (ctx) =>
      provider.clientSecretOf!(ctx, payment.partnerId),
    );
  }

  /** cancelPayment. */
  cancel(call: CallContext, id: string, idempotencyKey: string): Promise<PaymentResult> {
    return cancelPayment(this.#flows, call, id, idempotencyKey);
  }

  /** refundPayment; a null amount refunds what is left. */
  refund(
    call: CallContext,
    id: string,
    amount: MoneyArgs | null,
    idempotencyKey: string,
  ): Promise<PaymentResult> {
    return refundPayment(this.#flows, call, id, amount, idempotencyKey);
  }

  /** The subject's payments among `ids` (for the per-request loader). */
  paymentsById(subject: string, ids: readonly string[]): Promise<Map<string, Payment>> {
    return this.ledger.repository.getMany(subject, ids);
  }

  /** Whether the subject has this payment (for cursor checks). */
  owns(subject: string, id: string): Promise<boolean> {
    return this.ledger.repository.exists(subject, id);
  }

  /** The subject's payments, newest first. */
  list(
    subject: string,
    options: { limit: number; afterId?: string | null; statuses?: readonly PaymentStatus[] | null },
  ): Promise<Payment[]> {
    return this.ledger.repository.list(subject, options);
  }

  /**
   * Compares the ledger with the partners (reconcile.ts); with `apply`, catches up lagging statuses.
   * Every run is recorded (the latest is what on-call reads) and audited under `actor`, counts only.
   */
  async reconcile(
    options: ReconcileOptions,
    actor = 'system:reconcile',
  ): Promise<ReconcileReport & { run: ReconciliationRun }> {
    const startedAt = new Date();
    const report = await reconcile(
      {
        repository: this.ledger.repository,
        ledger: this.ledger,
        keys: this.keys,
        providers: this.#flows.providers,
        logger: this.#logger,
        now: this.#flows.now,
      },
      options,
    );
    const run = await this.#runs.record({
      actor,
      providers: [...options.providers],
      apply: options.apply === true,
      startedAt,
      finishedAt: new Date(),
      checked: report.checked,
      matched: report.matched,
      discrepancies: report.discrepancies.map(({ subject: _subject, ...stored }) => stored),
    });
    const open = report.discrepancies.filter((discrepancy) => !discrepancy.applied).length;
    await this.#flows.audit.append({
      actor,
      action: 'payments.reconciled',
      target: `reconciliation:${run.id}`,
      details: {
        providers: [...options.providers],
        apply: options.apply === true,
        checked: report.checked,
        matched: report.matched,
        applied: report.discrepancies.length - open,
        open,
      },
    });
    return { ...report, run };
  }

  /** The payments partners reachable here, which a reconciliation compares unless told otherwise. */
  payingPartners(): ProviderName[] {
    return this.#payingPartners();
  }

  /** The most recent reconciliation runs, newest first. */
  reconciliations(limit = 1): Promise<ReconciliationRun[]> {
    return this.#runs.latest(limit);
  }

  /** The one entry point for status changes reported from outside a mutation (webhooks, reconciliation). */
  applyStatus(paymentId: string, status: PaymentStatus, report: StatusReport): Promise<StatusChange | null> {
    return this.ledger.applyStatus(paymentId, status, report);
  }
}
