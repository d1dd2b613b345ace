/**
 * refundPayment: the ledger decides whether the payment can be refunded and how much is left (business
 * outcomes, stored); the amount to refund is fixed at `started` and stored with the key, so an omitted
 * amount ("the rest") means the same amount on every retry, and the partner always gets an explicit one.
 */
import type { Payment, PaymentStatus } from '../../domain/model.js';
import { formatDecimal, type Money } from '../../domain/money.js';
import type { CallContext } from '../../domain/providers.js';
import { InputError } from '../../domain/errors.js';
import type { Json } from '../../store/idempotency.js';
import { checkSamePayment, findNewRefund } from './checks.js';
import { ownedPayment, withPartnerState, type FlowDeps } from './context.js';
import { checkIdempotencyKey } from './keys.js';
import { moveMoney } from './movement.js';
import { userError, type PaymentUserError, type RefusalCodes } from './outcomes.js';
import { loadPayment, storePayment, type PaymentResult } from './payload.js';
import { isRefundable } from './status.js';
import { inputRefusal, parseAmount, type MoneyArgs } from './validation.js';

const MUTATION = 'refundPayment';
const REFUSALS: RefusalCodes = {
  code: 'NOT_REFUNDABLE',
  byField: { amount: 'REFUND_EXCEEDS_PAYMENT' },
  path: [],
};

/** What `started` decided, kept for every later attempt; `partner_confirmed` adds the answer. */
interface RefundPlan {
  amountMinor: string;
  knownRefundIds: string[];
  payment?: Json;
  refundId?: string;
}

/** The partner's answer and the refund it created. */
interface Refunded {
  answer: Payment;
  refundId: string;
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
  let requested: Money | null;
  try {
    requested = amountArgs ? parseAmount(amountArgs, ['amount']) : null;
  } catch (error) {
    const refused = inputRefusal(error);
    if (refused) return refused;
    throw error;
  }
  if (requested && requested.currency !== current.amount.currency) {
    throw new InputError(
      `The refund must be in the payment's currency, ${current.amount.currency}.`,
      'amount',
    );
  }
  const provider = deps.providers(current.provider);
  const amountOf = (plan: RefundPlan): Money => ({
    minor: BigInt(plan.amountMinor),
    currency: current.amount.currency,
  });

  return moveMoney<Refunded, RefundPlan>(deps, call, {
    mutation: MUTATION,
    key,
    args: { id, amount: requested ? requested.minor.toString() : null },
    partner: current.provider,
    paymentId: id,
    refusals: REFUSALS,
    begin: async () => {
      const latest = (await deps.ledger.get(call.subject, id)) ?? current;
      const refused = refusal(latest, requested);
      if (refused) return { finish: [refused] };
      return {
        plan: {
          amountMinor: (requested?.minor ?? remainingOf(latest)).toString(),
          knownRefundIds: latest.refunds.map((refund) => refund.id),
        },
      };
    },
    send: {
      endpoint: 'refundPayment',
      request: (ctx, partnerKey, plan) =>
        provider.refundPayment(ctx, current.partnerId, amountOf(plan), partnerKey),
    },
    confirm: (answer, plan) => {
      checkSamePayment(current, answer, MUTATION);
      const refund = findNewRefund(current, answer, amountOf(plan), new Set(plan.knownRefundIds));
      const stored: RefundPlan = { ...plan, payment: storePayment(answer), refundId: refund.id };
      // Recorded as stored, so this attempt records what a resumed one would.
      const result = { answer: loadPayment(stored.payment!), refundId: refund.id };
      return { result, recovery: stored as unknown as Json };
    },
    resume: (recovery) => resume(recovery as unknown as RefundPlan),
    record: async (tx, refunded) => {
      if (refunded) {
        const merged = withPartnerState(current, refunded.answer);
        await deps.ledger.record(tx, merged, { source: 'API', detail: MUTATION });
        const implied = refundStatus(merged);
        if (implied)
          await deps.ledger.applyStatus(current.id, implied, { source: 'API', detail: MUTATION }, tx);
      }
      return deps.ledger.get(call.subject, current.id, tx);
    },
    // The SDL: refund and payment are null when a user error stopped the refund.
    payload: (payment, refunded, userErrors) => ({
      payment: userErrors.length > 0 ? null : payment,
      refund: refunded ? (payment?.refunds.find((refund) => refund.id === refunded.refundId) ?? null) : null,
      userErrors,
    }),
  });
}

/** The stored answer, read back as every later attempt reads it. */
function resume(plan: RefundPlan): Refunded | null {
  if (!plan.payment || !plan.refundId) return null;
  return { answer: loadPayment(plan.payment), refundId: plan.refundId };
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
