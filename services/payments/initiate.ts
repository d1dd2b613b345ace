/**
 * initiatePayment: validate, claim the key, commit `partner_requested`, call the partner with the
 * derived partner key, check its answer, commit `partner_confirmed` with the answer, then record the
 * payment, audit and finish the key in one transaction.
 *
 * Resuming after a crash or timeout: at `partner_requested` the partner may or may not hold the payment,
 * and only the partner knows; the same partner key is sent again, so the partner answers with the
 * payment it created the first time or creates it now, exactly once. At `partner_confirmed` the answer
 * is already stored and the partner is not called again.
 */
import type { Payment } from '../../domain/model.js';
import type { CallContext } from '../../domain/providers.js';
import { minimalCreditor } from '../../store/payments.js';
import { checkCreatedPayment } from './checks.js';
import { assertPartnerStillDedupes, auditOutcome, callPartner, type FlowDeps } from './context.js';
import { checkIdempotencyKey, derivePartnerKey, fingerprintOf } from './keys.js';
import { declineOf, refusalOf, rejectionOf, type PaymentUserError, type RefusalCodes } from './outcomes.js';
import { loadPayment, storePayment, type PaymentPayload, type PaymentResult } from './payload.js';
import type { Attempt } from './runner.js';
import { validateInitiate, type InitiatePaymentArgs, type PaymentOrder } from './validation.js';

const MUTATION = 'initiatePayment';
const REFUSALS: RefusalCodes = {
  code: 'DECLINED',
  byField: {
    amount: 'INVALID_AMOUNT',
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
  const order = validateInitiate(input, deps.cardProvider);
  const provider = deps.providers(order.provider);
  const fingerprint = fingerprintOf(MUTATION, {
    provider: order.provider,
    debtorAccountId: order.debtorAccountId,
    paymentMethodId: order.paymentMethodId,
    amount: { minor: order.amount.minor.toString(), currency: order.amount.currency },
    creditor: order.creditor,
    reference: order.reference,
  });
  const op = {
    subject: call.subject,
    mutation: MUTATION,
    key,
    fingerprint,
    partnerKey: derivePartnerKey(deps.partnerKeySecret, call.subject, MUTATION, key),
  } as const;

  return deps.runner.run(op, async (attempt) => {
    let answer: Payment;
    if (attempt.point === 'partner_confirmed') {
      answer = loadPayment(attempt.record.recovery);
    } else {
      assertPartnerStillDedupes(attempt, order.provider, deps);
      if (attempt.point === 'started') await attempt.advance('partner_requested');
      await attempt.checkpoint('partner_requested');
      try {
        answer = await callPartner(call, deps, order.provider, 'createPayment', (ctx) =>
          provider.createPayment(ctx, {
            amount: order.amount,
            reference: order.reference,
            debtorPartnerAccountId: order.debtorPartnerAccountId,
            paymentMethodId: order.paymentMethodId,
            creditor: order.creditor,
            partnerIdempotencyKey: attempt.partnerKey,
          }),
        );
      } catch (error) {
        const refusal = refusalOf(error, REFUSALS);
        if (!refusal) throw error;
        const declined = rejectionOf(error)?.payment;
        const created = declined ? ours(call, order, declined) : null;
        if (created) checkCreatedPayment(order, created);
        return finish(deps, attempt, call, key, created, [refusal]);
      }
      await attempt.checkpoint('partner_called');
      checkCreatedPayment(order, answer);
      answer = ours(call, order, answer);
      await attempt.advance('partner_confirmed', { recovery: storePayment(answer), paymentId: answer.id });
      await attempt.checkpoint('partner_confirmed');
    }
    const declined = declineOf(answer);
    return finish(deps, attempt, call, key, answer, declined ? [declined] : []);
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

async function finish(
  deps: FlowDeps,
  attempt: Attempt,
  call: CallContext,
  key: string,
  payment: Payment | null,
  userErrors: PaymentUserError[],
): Promise<PaymentPayload> {
  return attempt.finish(async (tx) => {
    let recorded: Payment | null = null;
    if (payment) {
      await deps.ledger.record(tx, payment, { source: 'API', detail: 'initiatePayment' });
      recorded = await deps.ledger.get(call.subject, payment.id, tx);
    }
    await auditOutcome(deps, tx, {
      mutation: MUTATION,
      subject: call.subject,
      key,
      payment: recorded,
      userErrors,
    });
    return { payload: { payment: recorded, refund: null, userErrors }, paymentId: recorded?.id ?? null };
  });
}
