/**
 * initiatePayment: validate, then ask the partner to create the payment with the derived partner key,
 * check its answer against the order, and record the payment (moveMoney runs the recovery points).
 *
 * Resuming at `partner_requested`, the partner may or may not hold the payment, and only the partner
 * knows; the same partner key is sent again, so the partner answers with the payment it created the
 * first time or creates it now, exactly once.
 */
import type { Payment } from '../../domain/model.js';
import type { CallContext } from '../../domain/providers.js';
import { minimalCreditor } from '../../store/payments.js';
import { checkCreatedPayment } from './checks.js';
import type { FlowDeps } from './context.js';
import { checkIdempotencyKey } from './keys.js';
import { moveMoney } from './movement.js';
import { PaymentRejectedError, rejectionOf, type RefusalCodes } from './outcomes.js';
import { firstPlan, nextPlan, processorKey, processorOf, routeOf, type CardPlan } from './routing.js';
import { loadPayment, storePayment, type PaymentResult } from './payload.js';
import { inputRefusal, validateInitiate, type InitiatePaymentArgs, type PaymentOrder } from './validation.js';

const MUTATION = 'initiatePayment';
const REFUSALS: RefusalCodes = {
  code: 'DECLINED',
  byField: {
    amount: 'INVALID_AMOUNT',
    currency: 'UNSUPPORTED_CURRENCY',
    paymentMethodId: 'INVALID_ACCOUNT',
    debtorAccountId: 'INVALID_ACCOUNT',
    creditor: 'INVALID_CREDITOR',
  },
  path: ['input'],
};

/** Starts a payment exactly once per (subject, idempotency key). */
export async function initiatePayment(
  deps: FlowDeps,
  call: CallContext,
  input: InitiatePaymentArgs,
  idempotencyKey: string,
): Promise<PaymentResult> {
  const key = checkIdempotencyKey(idempotencyKey);
  let order: PaymentOrder;
  let route: CardPlan | null;
  try {
    order = validateInitiate(input, deps.cardRouter?.available ? CARD : null);
    route = order.paymentMethodId === null ? null : routeCard(deps, call, order, key, input);
  } catch (error) {
    const refused = inputRefusal(error);
    if (refused) return refused;
    throw error;
  }
  // A card payment's processor is its plan's (failover moves it on); a bank payment's is its account's.
  const orderAt = (plan: CardPlan | null): PaymentOrder =>
    plan ? { ...order, provider: processorOf(plan) } : order;
  const routed = (plan: CardPlan | null, payment: Payment, outcome: 'CREATED' | 'DECLINED'): Payment => {
    if (!plan) return payment;
    deps.observeRoute({ rule: plan.rule, processor: processorOf(plan), outcome });
    return { ...payment, route: routeOf(plan, outcome, deps.now()) };
  };

  return moveMoney<Payment, CardPlan | null>(deps, call, {
    mutation: MUTATION,
    key,
    args: {
      // The route's first processor, not the one a failover reached: a retry is the same request.
      provider: route ? processorOf(route) : order.provider,
      debtorAccountId: order.debtorAccountId,
      paymentMethodId: order.paymentMethodId,
      amount: { minor: order.amount.minor.toString(), currency: order.amount.currency },
      creditor: order.creditor,
      reference: order.reference,
    },
    partner: order.provider,
    partnerOf: (plan) => orderAt(plan).provider,
    refusals: REFUSALS,
    begin: async () => ({ plan: route }),
    send: {
      endpoint: 'createPayment',
      request: (ctx, partnerKey, plan) =>
        deps.providers(orderAt(plan).provider).createPayment(ctx, {
          amount: order.amount,
          reference: order.reference,
          debtorPartnerAccountId: order.debtorPartnerAccountId,
          paymentMethodId: order.paymentMethodId,
          creditor: order.creditor,
          partnerIdempotencyKey: plan ? processorKey(partnerKey, plan) : partnerKey,
        }),
    },
    failover: (error, plan) => {
      const next = plan ? nextPlan(plan, error, deps.now()) : null;
      if (plan && next) {
        deps.observeRoute({ rule: plan.rule, processor: processorOf(plan), outcome: 'FAILED_OVER' });
        call.logger.warn(
          { from: processorOf(plan), to: processorOf(next), reason: next.failedOver.at(-1)?.reason },
          'Card payment failed over to the next processor.',
        );
      }
      return next;
    },
    // A declined card can still leave a (failed) payment at the partner: the ledger keeps it too.
    refused: async (error, plan) => {
      const declined = rejectionOf(error)?.payment;
      const created = declined ? ours(call, orderAt(plan), declined) : null;
      if (created) checkCreatedPayment(orderAt(plan), created);
      return created ? routed(plan, created, 'DECLINED') : null;
    },
    confirm: (answer, plan) => {
      checkCreatedPayment(orderAt(plan), answer);
      const payment = routed(plan, ours(call, orderAt(plan), answer), 'CREATED');
      return { result: payment, recovery: storePayment(payment), paymentId: payment.id };
    },
    resume: loadPayment,
    record: async (tx, payment) => {
      if (!payment) return null;
      return deps.ledger.recordCreated(tx, payment, { source: 'API', detail: MUTATION });
    },
    // The SDL: a payment the partner created is the answer, even a failed one (a declined card is FAILED
    // with its failureCode); user errors only when nothing was created.
    payload: (payment, _result, userErrors) =>
      payment ? { payment, refund: null, userErrors: [] } : { payment: null, refund: null, userErrors },
  });
}

/** Stands for "a card processor exists" in validation; the route names the real one. */
const CARD = 'card';

/**
 * The route of a card payment: the table's choice for its amount, seeded by subject and key so every
 * retry starts at the same processor. No matching rule is the input's problem (the currency or amount
 * is one no processor takes here), refused before any key is claimed.
 */
function routeCard(
  deps: FlowDeps,
  call: CallContext,
  order: PaymentOrder,
  key: string,
  input: InitiatePaymentArgs,
): CardPlan {
  const choice = deps.cardRouter!.choose(
    order.amount,
    `${call.subject}\u0000${key}`,
    input.preferredProcessor ?? null,
  );
  if (!choice) {
    throw new PaymentRejectedError(
      'UNSUPPORTED_CURRENCY',
      `No card processor here takes ${order.amount.currency} payments of this amount.`,
      null,
      ['input', 'amount'],
    );
  }
  return firstPlan(choice);
}

/** The partner's answer with what we asked for as the record of who and what (creditor minimised). */
function ours(call: CallContext, order: PaymentOrder, answer: Payment): Payment {
  return {
    ...answer,
    ownerId: call.subject,
    debtorAccountId: order.debtorAccountId,
    creditor: minimalCreditor(order.creditor),
    reference: order.reference,
  };
}
