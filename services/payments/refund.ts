/**
 * refundPayment: the ledger decides whether the payment can be refunded and how much is left (business
 * outcomes, stored); the amount to refund is fixed at `started` and stored with the key, so an omitted
 * amount ("the rest") means the same amount on every retry, and the partner always gets an explicit one.
 */
import type { Payment, PaymentStatus, Refund } from '../../domain/model.js';
import { formatDecimal, type Money } from '../../domain/money.js';
import type { CallContext } from '../../domain/providers.js';
import { InputError } from '../../domain/errors.js';
import type { Json } from '../../store/idempotency.js';
import { checkSamePayment, findNewRefund } from './checks.js';
import {
  assertPartnerStillDedupes,
  auditOutcome,
  ownedPayment,
  callPartner,
  withPartnerState,
  type FlowDeps,
} from './context.js';
import { checkIdempotencyKey, derivePartnerKey, fingerprintOf } from './keys.js';
import { refusalOf, userError, type PaymentUserError, type RefusalCodes } from './outcomes.js';
import { loadPayment, storePayment, type PaymentPayload, type PaymentResult } from './payload.js';
import type { Attempt } from './runner.js';
import { isRefundable } from './status.js';
import { parseAmount, type MoneyArgs } from './validation.js';

const MUTATION = 'refundPayment';
const REFUSALS: RefusalCodes = {
  code: 'NOT_REFUNDABLE',
  byField: { amount: 'REFUND_EXCEEDS_PAYMENT' },
  path: [],
};

/** What `started` decided, kept for every later attempt. */
interface RefundPlan {
  amountMinor: string;
  knownRefundIds: string[];
  payment?: Json;
  refundId?: string;
}

/** Refunds (part of) a payment exactly once per (subject, idempotency key). */
export async function refundPayment(
  deps: FlowDeps,
  call: CallContext,
  id: string,
  amountArgs: MoneyArgs | null,
  idempotencyKey: string,
): Promise<PaymentResult> {
  const key = checkIdempotencyKey(idempotencyKey);
  const current = await ownedPayment(deps, call.subject, id);
  const requested = amountArgs ? parseAmount(amountArgs, 'amount') : null;
  if (requested && requested.currency !== current.amount.currency) {
    throw new InputError(
      `The refund must be in the payment's currency, ${current.amount.currency}.`,
      'amount',
    );
  }
  const provider = deps.providers(current.provider);
  const op = {
    subject: call.subject,
    mutation: MUTATION,
    key,
    fingerprint: fingerprintOf(MUTATION, { id, amount: requested ? requested.minor.toString() : null }),
    partnerKey: derivePartnerKey(deps.partnerKeySecret, call.subject, MUTATION, key),
  } as const;

  return deps.runner.run(op, async (attempt) => {
    let plan = attempt.record.recovery as unknown as RefundPlan | null;
    if (attempt.point === 'started' || !plan) {
      const latest = (await deps.ledger.get(call.subject, id)) ?? current;
      const refused = refusal(latest, requested);
      if (refused) return finish(deps, attempt, call, key, current, null, [refused]);
      plan = {
        amountMinor: (requested?.minor ?? remainingOf(latest)).toString(),
        knownRefundIds: latest.refunds.map((refund) => refund.id),
      };
      await attempt.advance('partner_requested', { recovery: plan as unknown as Json, paymentId: id });
    }
    const amount: Money = { minor: BigInt(plan.amountMinor), currency: current.amount.currency };
    if (attempt.point !== 'partner_confirmed' || !plan.payment || !plan.refundId) {
      assertPartnerStillDedupes(attempt, current.provider, deps);
      await attempt.checkpoint('partner_requested');
      let answer: Payment;
      try {
        answer = await callPartner(call, deps, current.provider, 'refundPayment', (ctx) =>
          provider.refundPayment(ctx, current.partnerId, amount, attempt.partnerKey),
        );
      } catch (error) {
        const refusal = refusalOf(error, REFUSALS);
        if (!refusal) throw error;
        return finish(deps, attempt, call, key, current, null, [refusal]);
      }
      await attempt.checkpoint('partner_called');
      checkSamePayment(current, answer, 'refundPayment');
      const refund = findNewRefund(current, answer, amount, new Set(plan.knownRefundIds));
      plan = { ...plan, payment: storePayment(answer), refundId: refund.id };
      await attempt.advance('partner_confirmed', { recovery: plan as unknown as Json });
      await attempt.checkpoint('partner_confirmed');
    }
    const answer = loadPayment(plan.payment!);
    return finish(deps, attempt, call, key, current, { answer, refundId: plan.refundId! }, []);
  });
}

function remainingOf(payment: Payment): bigint {
  const taken = payment.refunds
    .filter((refund) => refund.status === 'PENDING' || refund.status === 'SUCCEEDED')
    .reduce((sum, refund) => sum + refund.amount.minor, 0n);
  return payment.amount.minor - taken;
}

/** The business reason not to refund, if there is one. */
function refusal(payment: Payment, requested: Money | null): PaymentUserError | null {
  const remaining = remainingOf(payment);
  if (!isRefundable(payment.status) || remaining <= 0n) {
    return userError('NOT_REFUNDABLE', `A ${payment.status.toLowerCase()} payment cannot be refunded.`);
  }
  if (requested && requested.minor > remaining) {
    const left = formatDecimal({ minor: remaining, currency: payment.amount.currency });
    return userError(
      'REFUND_EXCEEDS_PAYMENT',
      `At most ${left} ${payment.amount.currency} can still be refunded.`,
      ['amount'],
    );
  }
  return null;
}

/** The status the refunds that succeeded imply, if any. */
function refundStatus(payment: Payment): PaymentStatus | null {
  const refunded = payment.refunds
    .filter((refund) => refund.status === 'SUCCEEDED')
    .reduce((sum, refund) => sum + refund.amount.minor, 0n);
  if (refunded === 0n) return null;
  return refunded >= payment.amount.minor ? 'REFUNDED' : 'PARTIALLY_REFUNDED';
}

async function finish(
  deps: FlowDeps,
  attempt: Attempt,
  call: CallContext,
  key: string,
  current: Payment,
  result: { answer: Payment; refundId: string } | null,
  userErrors: PaymentUserError[],
): Promise<PaymentPayload> {
  return attempt.finish(async (tx) => {
    let refund: Refund | null = null;
    if (result) {
      const merged = withPartnerState(current, result.answer);
      await deps.ledger.record(tx, merged, { source: 'API', detail: MUTATION });
      const implied = refundStatus(merged);
      if (implied)
        await deps.ledger.applyStatus(current.id, implied, { source: 'API', detail: MUTATION }, tx);
    }
    const payment = await deps.ledger.get(call.subject, current.id, tx);
    if (result) refund = payment?.refunds.find((candidate) => candidate.id === result.refundId) ?? null;
    await auditOutcome(deps, tx, {
      mutation: MUTATION,
      subject: call.subject,
      key,
      payment,
      userErrors,
      detail: refund ? { refundId: refund.id, refundAmount: formatDecimal(refund.amount) } : {},
    });
    // The SDL: refund and payment are null when a user error stopped the refund.
    const shown = userErrors.length > 0 ? null : payment;
    return { payload: { payment: shown, refund, userErrors }, paymentId: current.id };
  });
}
