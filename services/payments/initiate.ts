/**
 * initiatePayment: validate, then ask the partner to create the payment with the derived partner key,
 * check its answer against the order, and record the payment (moveMoney runs the recovery points).
 *
 * Resuming at `partner_requested`, the partner may or may not hold the payment, and only the partner
 * knows; the same partner key is sent again, so the partner answers with the payment it created the
 * first time or creates it now, exactly once.
 */
import type { Payment } from '../../domain/model.js';
import type { CallContext, CardFacts } from '../../domain/providers.js';
import { minimalCreditor } from '../../store/payments.js';
import { checkCreatedPayment } from './checks.js';
import { callPartner, type FlowDeps } from './context.js';
import { checkIdempotencyKey } from './keys.js';
import { moveMoney } from './movement.js';
import { PaymentRejectedError, rejectionOf, userError, type RefusalCodes } from './outcomes.js';
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
    // Before any key is claimed: could some rule take this payment at all (whatever the card is)?
    route = order.paymentMethodId === null ? null : routeCard(deps, call, order, key, input, 'any');
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
      // A card payment's processor is the route's choice, not the client's request: a retry under a
      // changed route table is still the same request (and resumes with the route it committed).
      provider: route ? CARD : order.provider,
      debtorAccountId: order.debtorAccountId,
      paymentMethodId: order.paymentMethodId,
      amount: { minor: order.amount.minor.toString(), currency: order.amount.currency },
      creditor: order.creditor,
      reference: order.reference,
    },
    partner: order.provider,
    partnerOf: (plan) => orderAt(plan).provider,
    refusals: REFUSALS,
    begin: async () => {
      if (!route || !deps.cardRouter!.needsCard) return { plan: route };
      // Card rules: the scheme and country as a processor knows them, looked up once, on the first
      // attempt; the plan committed with partner_requested keeps the choice for every retry.
      const card = await cardFacts(deps, call, order.paymentMethodId!);
      try {
        return { plan: routeCard(deps, call, order, key, input, card) };
      } catch (error) {
        if (!(error instanceof PaymentRejectedError)) throw error;
        return { finish: [userError('NOT_SUPPORTED', error.message, ['input', 'paymentMethodId'])] };
      }
    },
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
 * The route of a card payment: the table's choice for its amount and card, seeded by subject and key
 * so every retry starts at the same processor. No matching rule is the input's problem (the currency,
 * amount or card is one no processor takes here).
 */
function routeCard(
  deps: FlowDeps,
  call: CallContext,
  order: PaymentOrder,
  key: string,
  input: InitiatePaymentArgs,
  card: CardFacts | null | 'any',
): CardPlan {
  const choice = deps.cardRouter!.choose(
    order.amount,
    `${call.subject}\u0000${key}`,
    input.preferredProcessor ?? null,
    card,
  );
  if (!choice) {
    const what =
      card === 'any' ? `${order.amount.currency} payments of this amount` : 'this card for this payment';
    throw new PaymentRejectedError(
      card === 'any' ? 'UNSUPPORTED_CURRENCY' : 'NOT_SUPPORTED',
      `No card processor here takes ${what}.`,
      null,
      card === 'any' ? ['input', 'amount'] : ['input', 'paymentMethodId'],
    );
  }
  return firstPlan(choice);
}

/**
 * The card's scheme and issuing country from the first card processor that knows the payment method;
 * unknown (null) when none does or none answers: rules asking for them then do not match, and the
 * payment takes the first rule that does not ask.
 */
async function cardFacts(
  deps: FlowDeps,
  call: CallContext,
  paymentMethodId: string,
): Promise<CardFacts | null> {
  for (const processor of deps.cardRouter!.processors) {
    const provider = deps.providers(processor);
    if (!provider.describeCard) continue;
    try {
      const facts = await callPartner(call, deps, processor, 'describeCard', (ctx) =>
        provider.describeCard!(ctx, paymentMethodId),
      );
      if (facts) return facts;
    } catch (error) {
      call.logger.warn({ processor, err: error }, 'The card could not be described; routing without it.');
    }
  }
  return null;
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
