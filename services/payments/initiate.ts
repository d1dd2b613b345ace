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
import { rejectionOf, type RefusalCodes } from './outcomes.js';
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
  try {
    order = validateInitiate(input, deps.cardProvider);
  } catch (error) {
    const refused = inputRefusal(error);
    if (refused) return refused;
    throw error;
  }
  const provider = deps.providers(order.provider);

  return moveMoney<Payment>(deps, call, {
    mutation: MUTATION,
    key,
    args: {
      provider: order.provider,
      debtorAccountId: order.debtorAccountId,
      paymentMethodId: order.paymentMethodId,
      amount: { minor: order.amount.minor.toString(), currency: order.amount.currency },
      creditor: order.creditor,
      reference: order.reference,
    },
    partner: order.provider,
    refusals: REFUSALS,
    send: {
      endpoint: 'createPayment',
      request: (ctx, partnerKey) =>
        provider.createPayment(ctx, {
          amount: order.amount,
          reference: order.reference,
          debtorPartnerAccountId: order.debtorPartnerAccountId,
          paymentMethodId: order.paymentMethodId,
          creditor: order.creditor,
          partnerIdempotencyKey: partnerKey,
        }),
    },
    // A declined card can still leave a (failed) payment at the partner: the ledger keeps it too.
    refused: async (error) => {
      const declined = rejectionOf(error)?.payment;
      const created = declined ? ours(call, order, declined) : null;
      if (created) checkCreatedPayment(order, created);
      return created;
    },
    confirm: (answer) => {
      checkCreatedPayment(order, answer);
      const payment = ours(call, order, answer);
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
