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
import { ownedPayment, callPartner, type FlowDeps } from './context.js';
import { checkIdempotencyKey } from './keys.js';
import { moveMoney, onExistingPayment } from './movement.js';
import { rejectionOf, userError } from './outcomes.js';
import type { PaymentResult } from './payload.js';
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
  const { partnerId } = current;

  return moveMoney<Payment>(deps, call, {
    mutation: MUTATION,
    key,
    args: { id },
    partner: current.provider,
    paymentId: id,
    refusals: { code: 'NOT_CANCELLABLE', path: [] },
    begin: async () => {
      const latest = (await deps.ledger.get(call.subject, id)) ?? current;
      if (latest.status === 'CANCELLED') return { finish: [] };
      if (isCancellable(latest.status)) return {};
      const message = `A ${latest.status.toLowerCase()} payment cannot be cancelled.`;
      return { finish: [userError('NOT_CANCELLABLE', message)] };
    },
    ask: {
      endpoint: 'getPayments',
      request: async (ctx) => {
        const known = (await provider.getPayments(ctx, [partnerId])).get(partnerId);
        return known?.status === 'CANCELLED' ? known : null;
      },
    },
    send: {
      endpoint: 'cancelPayment',
      request: (ctx, partnerKey) => provider.cancelPayment(ctx, partnerId, partnerKey),
    },
    // A refusal usually means the payment moved on: record where the partner says it is.
    refused: async (error) => {
      const latest = rejectionOf(error)?.payment ?? (await partnerView(deps, provider, call, current));
      if (latest) checkSamePayment(current, latest, MUTATION);
      return latest;
    },
    // The SDL: the payment after the operation, or null when a user error stopped it.
    ...onExistingPayment(deps, call, current, MUTATION),
  });
}

/** Where the partner says the payment is; null when the partner cannot say right now. */
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
