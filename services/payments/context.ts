/**
 * What the three money-moving flows share: their dependencies, the partner call context, the guard
 * against re-sending a partner key the partner may already have forgotten, and the audit entry.
 */
import type { Payment, ProviderName } from '../../domain/model.js';
import { decodeId } from '../../domain/ids.js';
import { formatDecimal } from '../../domain/money.js';
import type { CallContext, PaymentsProvider } from '../../domain/providers.js';
import { isDomainError, NotFoundError, PartnerError } from '../../domain/errors.js';
import type { AuditEntry, AuditLog } from '../../store/audit.js';
import type { IdempotentMutation } from './keys.js';
import type { PaymentLedger } from './ledger.js';
import type { CardRouter, RouteObserver } from './routing.js';
import { rejectionOf, type PaymentUserError } from './outcomes.js';
import type { Attempt, IdempotentRunner } from './runner.js';

/** Everything a money-moving flow needs, built once by PaymentService. */
export interface FlowDeps {
  ledger: PaymentLedger;
  audit: AuditLog;
  runner: IdempotentRunner;
  /** The payments capability of a partner (registry.payments); throws NotSupportedError without one. */
  providers: (name: ProviderName) => PaymentsProvider;
  /** HMAC secret of derived partner keys. */
  partnerKeySecret: string | Buffer;
  /** Partners forget idempotency keys after this long (Stripe, Open Banking: 24 h); we stop re-sending before. */
  partnerKeyWindowMs: number;
  /** Upper bound of one partner call, below the lease so no other attempt can take over meanwhile. */
  partnerCallTimeoutMs: number;
  /** Chooses the card processors of a card payment (paymentMethodId); null: no card processor. */
  cardRouter: CardRouter | null;
  observeRoute: RouteObserver;
  now: () => Date;
}

/**
 * Runs one partner call with a deadline that keeps it inside our lease. When the deadline (or the
 * client's disconnect) aborts the call, the outcome at the partner is unknown: PARTNER_TIMEOUT,
 * retryable, whatever shape the abort took inside the client.
 */
export async function callPartner<T>(
  call: CallContext,
  deps: FlowDeps,
  partner: ProviderName,
  endpoint: string,
  fn: (ctx: CallContext) => Promise<T>,
): Promise<T> {
  const deadline = AbortSignal.timeout(deps.partnerCallTimeoutMs);
  const signal = call.signal ? AbortSignal.any([call.signal, deadline]) : deadline;
  try {
    return await fn({ ...call, signal });
  } catch (error) {
    if (!signal.aborted || isDomainError(error) || rejectionOf(error)) throw error;
    throw new PartnerError({ partner, code: 'PARTNER_TIMEOUT', endpoint, retryable: true, cause: error });
  }
}

/**
 * Before sending a partner key again: a key first sent longer ago than the partner keeps keys could
 * now create a second payment, so such an operation is left to reconciliation instead.
 */
export function assertPartnerStillDedupes(attempt: Attempt, provider: ProviderName, deps: FlowDeps): void {
  const first = attempt.record.partnerRequestedAt;
  if (attempt.point !== 'partner_requested' || !first) return;
  if (deps.now().getTime() - first.getTime() <= deps.partnerKeyWindowMs) return;
  throw new PartnerError({
    partner: provider,
    code: 'PARTNER_UNAVAILABLE',
    retryable: false,
    endpoint: 'resend partner idempotency key',
    issues: [
      'the outcome is unknown and the partner idempotency window has passed; reconcile this operation',
    ],
  });
}

const ACTIONS: Record<IdempotentMutation, string> = {
  initiatePayment: 'payment.initiate',
  confirmPayment: 'payment.confirm',
  cancelPayment: 'payment.cancel',
  refundPayment: 'payment.refund',
};

/** The audit entry of a finished money-moving operation, staged with the key's finish (runner.ts). */
export function outcomeEntry(entry: {
  mutation: IdempotentMutation;
  subject: string;
  key: string;
  payment: Payment | null;
  userErrors: PaymentUserError[];
  detail?: Record<string, unknown>;
}): AuditEntry {
  return {
    actor: 'customer',
    action: ACTIONS[entry.mutation],
    subject: entry.subject,
    target: entry.payment?.id ?? null,
    details: {
      idempotencyKey: entry.key,
      outcome: entry.userErrors.length > 0 ? entry.userErrors.map((error) => error.code).join(',') : 'OK',
      provider: entry.payment?.provider ?? null,
      status: entry.payment?.status ?? null,
      amount: entry.payment ? formatDecimal(entry.payment.amount) : null,
      currency: entry.payment?.amount.currency ?? null,
      ...entry.detail,
    },
  };
}

/**
 * The ledger's payment with the partner's view of its state (status, failure, next action, refunds);
 * identity, amount and parties stay the ledger's, which checkSamePayment has compared.
 */
export function withPartnerState(current: Payment, answer: Payment): Payment {
  return {
    ...current,
    status: answer.status,
    failureReason: answer.failureReason,
    nextAction: answer.nextAction,
    refunds: answer.refunds,
    updatedAt: answer.updatedAt,
  };
}

/** The subject's payment from the ledger; NOT_FOUND (never stored) for unknown or others' ids. */
export async function ownedPayment(deps: FlowDeps, subject: string, id: string): Promise<Payment> {
  const payment = decodeId(id, 'Payment') ? await deps.ledger.get(subject, id) : null;
  if (!payment) throw new NotFoundError('Payment');
  return payment;
}
