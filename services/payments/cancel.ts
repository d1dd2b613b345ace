/**
 * cancelPayment: the ledger decides whether the payment can still be cancelled (a business outcome,
 * stored); otherwise the partner is asked to cancel with the derived partner key.
 *
 * Resuming at `partner_requested`, the partner is first asked where the payment is: a payment it
 * already cancelled needs no second request; anything else gets the same partner key again.
 */
import type { Payment } from '../../domain/model.js';
import type { CallContext, PaymentsProvider } from '../../domain/providers.js';
import { checkSamePayment } from './checks.js';
import {
  assertPartnerStillDedupes,
  auditOutcome,
  ownedPayment,
  callPartner,
  withPartnerState,
  type FlowDeps,
} from './context.js';
import { checkIdempotencyKey, derivePartnerKey, fingerprintOf } from './keys.js';
import { refusalOf, rejectionOf, userError, type PaymentUserError } from './outcomes.js';
import { loadPayment, storePayment, type PaymentPayload, type PaymentResult } from './payload.js';
import type { Attempt } from './runner.js';
import { isCancellable } from './status.js';

const MUTATION = 'cancelPayment';

/** Cancels a payment exactly once per (subject, idempotency key). */
export async function cancelPayment(
  deps: FlowDeps,
  call: CallContext,
  id: string,
  idempotencyKey: string,
): Promise<PaymentResult> {
  const key = checkIdempotencyKey(idempotencyKey);
  const current = await ownedPayment(deps, call.subject, id);
  const provider = deps.providers(current.provider);
  const op = {
    subject: call.subject,
    mutation: MUTATION,
    key,
    fingerprint: fingerprintOf(MUTATION, { id }),
    partnerKey: derivePartnerKey(deps.partnerKeySecret, call.subject, MUTATION, key),
  } as const;

  return deps.runner.run(op, async (attempt) => {
    let answer: Payment;
    if (attempt.point === 'partner_confirmed') {
      answer = loadPayment(attempt.record.recovery);
    } else {
      if (attempt.point === 'started') {
        const latest = (await deps.ledger.get(call.subject, id)) ?? current;
        if (latest.status === 'CANCELLED') return finish(deps, attempt, call, key, null, latest, []);
        if (!isCancellable(latest.status)) {
          const reason = userError(
            'NOT_CANCELLABLE',
            `A ${latest.status.toLowerCase()} payment cannot be cancelled.`,
          );
          return finish(deps, attempt, call, key, null, latest, [reason]);
        }
        await attempt.advance('partner_requested', { paymentId: id });
      }
      await attempt.checkpoint('partner_requested');
      try {
        answer = await askOrCancel(deps, provider, call, current, attempt);
      } catch (error) {
        const refusal = refusalOf(error, { code: 'NOT_CANCELLABLE', path: [] });
        if (!refusal) throw error;
        const latest = rejectionOf(error)?.payment ?? (await partnerView(deps, provider, call, current));
        if (latest) checkSamePayment(current, latest, 'cancelPayment');
        return finish(deps, attempt, call, key, latest, current, [refusal]);
      }
      await attempt.checkpoint('partner_called');
      checkSamePayment(current, answer, 'cancelPayment');
      await attempt.advance('partner_confirmed', { recovery: storePayment(answer) });
      await attempt.checkpoint('partner_confirmed');
    }
    return finish(deps, attempt, call, key, answer, current, []);
  });
}

/**
 * Where the partner says the payment is, so a refusal still moves our ledger forward (the refusal
 * usually means the payment progressed); null when the partner cannot say right now.
 */
async function partnerView(
  deps: FlowDeps,
  provider: PaymentsProvider,
  call: CallContext,
  current: Payment,
): Promise<Payment | null> {
  try {
    const known = await callPartner(call, deps, current.provider, 'getPayments', (ctx) =>
      provider.getPayments(ctx, [current.partnerId]),
    );
    return known.get(current.partnerId) ?? null;
  } catch (error) {
    call.logger.warn(
      { err: error, partner: current.provider },
      'could not refresh a payment the partner refused to cancel',
    );
    return null;
  }
}

async function askOrCancel(
  deps: FlowDeps,
  provider: PaymentsProvider,
  call: CallContext,
  current: Payment,
  attempt: Attempt,
): Promise<Payment> {
  const { partnerId } = current;
  if (attempt.point === 'partner_requested') {
    const known = await callPartner(call, deps, current.provider, 'getPayments', (ctx) =>
      provider.getPayments(ctx, [partnerId]),
    );
    const status = known.get(partnerId)?.status;
    if (status === 'CANCELLED') return known.get(partnerId)!;
    assertPartnerStillDedupes(attempt, current.provider, deps);
  }
  return callPartner(call, deps, current.provider, 'cancelPayment', (ctx) =>
    provider.cancelPayment(ctx, partnerId, attempt.partnerKey),
  );
}

async function finish(
  deps: FlowDeps,
  attempt: Attempt,
  call: CallContext,
  key: string,
  answer: Payment | null,
  current: Payment,
  userErrors: PaymentUserError[],
): Promise<PaymentPayload> {
  return attempt.finish(async (tx) => {
    if (answer)
      await deps.ledger.record(tx, withPartnerState(current, answer), { source: 'API', detail: MUTATION });
    const payment = await deps.ledger.get(call.subject, current.id, tx);
    await auditOutcome(deps, tx, { mutation: MUTATION, subject: call.subject, key, payment, userErrors });
    // The SDL: the payment after cancellation, or null when a user error stopped the cancellation.
    const shown = userErrors.length > 0 ? null : payment;
    return { payload: { payment: shown, refund: null, userErrors }, paymentId: current.id };
  });
}
