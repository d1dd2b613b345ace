/**
 * Reconciliation: compares Tributary's payments ledger with what each partner holds now, payment by
 * payment, and says where they disagree. It is the safety net under webhooks: a lost or never-sent
 * event leaves our status behind the partner's, and only asking the partner finds that.
 *
 * - Our status behind the partner's (the state machine can move forward to it): `behind`. With
 *   `apply`, the partner's status is applied through the ledger (`source: RECONCILIATION`), exactly as a
 *   webhook would be, so running it twice or beside the webhook worker is harmless.
 * - Statuses the state machine cannot reconcile (we are ahead, or the two diverged): `conflict`, never
 *   applied; a person decides.
 * - Amount or currency differs: `amount_mismatch`, never applied.
 * - The partner's refunded amount (succeeded and pending refunds) differs from the ledger's:
 *   `refund_mismatch`, never applied (a refund made at the partner's dashboard, or one we lost).
 * - The partner does not return the payment: `missing_at_partner`.
 * - The partner's own list (created since `since`, by default since the ledger's first payment) holds
 *   a payment the ledger lacks: `partner_only`
 *   (Stripe; the Open Banking PISP API has no list of domestic payments, so a bank is never listed).
 * - The partner could not be asked (outage, breaker open): `unreachable`; the payment is not judged.
 * - An idempotency key still running long after its lease lapsed: `in_doubt` — an operation whose
 *   outcome at the partner we never recorded. The client's retry with the same key resolves it.
 *
 * Payments are asked for in batches per owner (a partner answers only for the customer whose
 * credential is used), so one call covers many payments.
 */
import { randomUUID } from 'node:crypto';
import type { Logger } from 'pino';
import type { Payment, PaymentStatus, ProviderName } from '../../domain/model.js';
import type { PaymentsProvider } from '../../domain/providers.js';
import type { IdempotencyStore } from '../../store/idempotency.js';
import type { LedgerEntry, PaymentRepository } from '../../store/payments.js';
import type { PaymentLedger } from './ledger.js';
import { transitionPath } from './status.js';

export type DiscrepancyKind =
  | 'behind'
  | 'conflict'
  | 'amount_mismatch'
  | 'refund_mismatch'
  | 'missing_at_partner'
  | 'partner_only'
  | 'unreachable'
  | 'in_doubt';

export interface Discrepancy {
  kind: DiscrepancyKind;
  provider: ProviderName | null;
  /** The payment's opaque id; null for an in-doubt key that never produced a payment. */
  paymentId: string | null;
  subject: string;
  ours: string | null;
  partner: string | null;
  /** True when `apply` moved our ledger to the partner's status. */
  applied: boolean;
  detail: string;
}

export interface ReconcileReport {
  /** Payments compared with a partner answer. */
  checked: number;
  /** Payments whose partner answer matched our ledger. */
  matched: number;
  discrepancies: Discrepancy[];
}

export interface ReconcileOptions {
  providers: readonly ProviderName[];
  /** Apply `behind` statuses through the ledger. Default false: report only. */
  apply?: boolean;
  /** Payments per partner call. Default 50. */
  batchSize?: number;
  /** A running key whose lease lapsed this long ago is in doubt. Default 15 minutes. */
  inDoubtAfterMs?: number;
  /** Only payments created at or after this time; default all. */
  since?: Date | null;
  /** Page size of a partner's payment list. Default 100 (Stripe's maximum). */
  listPageSize?: number;
  /** Told after each ledger batch and each partner page, for a progress bar. */
  onProgress?: (event: { provider: ProviderName; done: number; total: number }) => void;
}

export interface ReconcileDeps {
  repository: PaymentRepository;
  ledger: PaymentLedger;
  keys: IdempotencyStore;
  providers: (name: ProviderName) => PaymentsProvider;
  logger: Logger;
  now?: () => Date;
}

/** Compares the ledger with every listed partner; see the module comment for what is reported. */
export async function reconcile(deps: ReconcileDeps, options: ReconcileOptions): Promise<ReconcileReport> {
  const report: ReconcileReport = { checked: 0, matched: 0, discrepancies: [] };
  for (const provider of options.providers) {
    const entries = await deps.repository.ledger(provider, options.since ?? null);
    let done = 0;
    for (const [subject, owned] of groupBy(entries, (entry) => entry.subject)) {
      for (const batch of chunks(owned, options.batchSize ?? 50)) {
        await compareBatch(deps, options, provider, subject, batch, report);
        done += batch.length;
        options.onProgress?.({ provider, done, total: entries.length });
      }
    }
    await findPartnerOnly(deps, options, provider, report);
  }
  const now = deps.now?.() ?? new Date();
  const lapsedBefore = new Date(now.getTime() - (options.inDoubtAfterMs ?? 15 * 60_000));
  for (const key of await deps.keys.abandoned(lapsedBefore, 1000)) {
    report.discrepancies.push({
      kind: 'in_doubt',
      provider: null,
      paymentId: key.paymentId,
      subject: key.subject,
      ours: key.recoveryPoint,
      partner: null,
      applied: false,
      detail: `${key.mutation} key "${key.key}" still running since ${key.createdAt.toISOString()}`,
    });
  }
  return report;
}

async function compareBatch(
  deps: ReconcileDeps,
  options: ReconcileOptions,
  provider: ProviderName,
  subject: string,
  batch: LedgerEntry[],
  report: ReconcileReport,
): Promise<void> {
  const correlationId = `reconcile-${randomUUID()}`;
  const logger = deps.logger.child({ provider, correlationId });
  let theirs: Awaited<ReturnType<PaymentsProvider['getPayments']>>;
  try {
    theirs = await deps.providers(provider).getPayments(
      { subject, correlationId, logger },
      batch.map((entry) => entry.partnerId),
    );
  } catch (error) {
    const detail = error instanceof Error ? error.message : String(error);
    for (const entry of batch) report.discrepancies.push(found('unreachable', entry, null, detail));
    return;
  }
  for (const entry of batch) {
    const payment = theirs.get(entry.partnerId);
    if (!payment) {
      report.discrepancies.push(found('missing_at_partner', entry, null, 'the partner has no such payment'));
      continue;
    }
    report.checked += 1;
    if (payment.amount.minor !== entry.amountMinor || payment.amount.currency !== entry.currency) {
      report.discrepancies.push(
        found(
          'amount_mismatch',
          entry,
          payment.status,
          `ours ${entry.amountMinor} ${entry.currency}, partner ${payment.amount.minor} ${payment.amount.currency}`,
        ),
      );
      continue;
    }
    const partnerRefunded = refundedOf(payment);
    const oursRefunded = entry.refundedMinor ?? 0n;
    // A status change is reported first (behind, conflict); refunds are judged once statuses agree.
    if (payment.status === entry.status && partnerRefunded !== oursRefunded) {
      report.discrepancies.push(
        found(
          'refund_mismatch',
          entry,
          payment.status,
          `refunded: ours ${oursRefunded} ${entry.currency}, partner ${partnerRefunded} ${payment.amount.currency}`,
        ),
      );
      continue;
    }
    if (payment.status === entry.status) {
      report.matched += 1;
      continue;
    }
    if (transitionPath(entry.status, payment.status).length === 0) {
      report.discrepancies.push(
        found('conflict', entry, payment.status, 'the state machine cannot move ours to the partner status'),
      );
      continue;
    }
    const discrepancy = found('behind', entry, payment.status, 'a status change we were not told about');
    if (options.apply) discrepancy.applied = await applyPartnerStatus(deps, entry, payment.status);
    report.discrepancies.push(discrepancy);
  }
}

/** Pages through the partner's own list (when it has one) for payments the ledger never recorded. */
async function findPartnerOnly(
  deps: ReconcileDeps,
  options: ReconcileOptions,
  provider: ProviderName,
  report: ReconcileReport,
): Promise<void> {
  const partner = deps.providers(provider);
  if (!partner.listPlatformPayments) return;
  const correlationId = `reconcile-${randomUUID()}`;
  const logger = deps.logger.child({ provider, correlationId });
  // The whole ledger: a payment created just before `since` at one end may be just after it at the other.
  const ledger = await deps.repository.ledger(provider);
  const known = new Set(ledger.map((entry) => entry.partnerId));
  // Without `since`, the list goes back to the ledger's first payment (an hour's margin): what the
  // partner holds from before Tributary recorded anything is history, not a lost payment.
  const first = ledger[0]?.createdAt;
  const since = options.since ?? (first ? new Date(first.getTime() - 3_600_000) : null);
  if (!since) return;
  try {
    const listed = partner.listPlatformPayments(
      { subject: 'system:reconcile', correlationId, logger },
      { since, pageSize: options.listPageSize ?? 100 },
    );
    for await (const payment of listed) {
      if (known.has(payment.partnerId)) continue;
      report.discrepancies.push({
        kind: 'partner_only',
        provider,
        paymentId: null,
        subject: '',
        ours: null,
        partner: payment.partnerStatus,
        applied: false,
        detail:
          `${payment.partnerId} (${payment.amount.minor} ${payment.amount.currency}, created ` +
          `${payment.createdAt.toISOString()}) is not in the ledger`,
      });
    }
  } catch (error) {
    const detail = error instanceof Error ? error.message : String(error);
    report.discrepancies.push({
      kind: 'unreachable',
      provider,
      paymentId: null,
      subject: '',
      ours: null,
      partner: null,
      applied: false,
      detail: `listing the partner's payments failed: ${detail}`,
    });
  }
}

async function applyPartnerStatus(
  deps: ReconcileDeps,
  entry: LedgerEntry,
  status: PaymentStatus,
): Promise<boolean> {
  const change = await deps.ledger.applyStatus(entry.id, status, {
    source: 'RECONCILIATION',
    detail: 'reconciled with the partner',
  });
  return change?.changed === true;
}

/** What the partner has refunded or holds for pending refunds, as the ledger counts it. */
function refundedOf(payment: Payment): bigint {
  return payment.refunds
    .filter((refund) => refund.status === 'PENDING' || refund.status === 'SUCCEEDED')
    .reduce((sum, refund) => sum + refund.amount.minor, 0n);
}

function found(
  kind: DiscrepancyKind,
  entry: LedgerEntry,
  partner: PaymentStatus | null,
  detail: string,
): Discrepancy {
  return {
    kind,
    provider: entry.provider,
    paymentId: entry.id,
    subject: entry.subject,
    ours: entry.status,
    partner,
    applied: false,
    detail,
  };
}

function groupBy<T>(items: readonly T[], keyOf: (item: T) => string): Map<string, T[]> {
  const groups = new Map<string, T[]>();
  for (const item of items) {
    const key = keyOf(item);
    const group = groups.get(key);
    if (group) group.push(item);
    else groups.set(key, [item]);
  }
  return groups;
}

function chunks<T>(items: readonly T[], size: number): T[][] {
  const out: T[][] = [];
  for (let start = 0; start < items.length; start += size) out.push(items.slice(start, start + size));
  return out;
}
