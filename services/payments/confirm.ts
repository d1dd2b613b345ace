/**
 * confirmPayment: after the customer completed 3-D Secure in the processor's client SDK, the processor
 * confirms the payment server-side (Stripe's manual confirmation), or receives the result the SDK gave
 * the app (Adyen's /payments/details; `authenticationResult`, part of the request fingerprint). The ledger decides first whether the
 * payment still waits for anything (a business outcome, stored); a partner without a server-side step
 * (a bank, whose redirect completes the payment) answers NOT_SUPPORTED.
 *
 * Resuming at `partner_requested`, the partner is first asked where the payment is: one already past
 * confirmation needs no second request; anything else gets the same partner key again.
 */
import type { Payment } from '../../domain/model.js';
import type { CallContext } from '../../domain/providers.js';
import { checkSamePayment } from './checks.js';
import { ownedPayment, type FlowDeps } from './context.js';
import { checkIdempotencyKey } from './keys.js';
import { moveMoney, onExistingPayment } from './movement.js';
import { rejectionOf, userError } from './outcomes.js';
import { parseAuthenticationResult } from './validation.js';
import type { PaymentResult } from './payload.js';
import { isConfirmable } from './status.js';

const MUTATION = 'confirmPayment';

/** Confirms a payment exactly once per (subject, idempotency key). */
export async function confirmPayment(
  deps: FlowDeps,
  call: CallContext,
  id: string,
  idempotencyKey: string,
  authenticationResult: string | null = null,
): Promise<PaymentResult> {
  const key = checkIdempotencyKey(idempotencyKey);
  const authentication = parseAuthenticationResult(authenticationResult);
  const current = await ownedPayment(deps, call.subject, id);
  const provider = deps.providers(current.provider);
  const { partnerId } = current;

  return moveMoney<Payment>(deps, call, {
    mutation: MUTATION,
    key,
    args: authentication ? { id, authentication } : { id },
    partner: current.provider,
    paymentId: id,
    refusals: { code: 'NOT_CONFIRMABLE', path: [] },
    begin: async () => {
      if (!provider.confirmPayment) {
        return {
          finish: [
            userError('NOT_SUPPORTED', 'This payment completes at the partner, without confirmation.'),
          ],
        };
      }
      if (authentication && !provider.takesAuthenticationResult) {
        const message =
          'This processor completes authentication in its own SDK; send no authenticationResult.';
        return { finish: [userError('NOT_SUPPORTED', message, ['authenticationResult'])] };
      }
      const latest = (await deps.ledger.get(call.subject, id)) ?? current;
      if (isConfirmable(latest.status)) return {};
      if (latest.status === 'FAILED' || latest.status === 'CANCELLED') {
        const message = `A ${latest.status.toLowerCase()} payment cannot be confirmed.`;
        return { finish: [userError('NOT_CONFIRMABLE', message)] };
      }
      // Already confirmed (a retry after a lost answer, a webhook first): the payment as it is.
      return { finish: [] };
    },
    ask: {
      endpoint: 'getPayments',
      request: async (ctx) => {
        const known = (await provider.getPayments(ctx, [partnerId])).get(partnerId);
        return known && !isConfirmable(known.status) ? known : null;
      },
    },
    send: {
      endpoint: 'confirmPayment',
      request: (ctx, partnerKey) => provider.confirmPayment!(ctx, partnerId, partnerKey, authentication),
    },
    refused: async (error) => {
      const latest = rejectionOf(error)?.payment ?? null;
      if (latest) checkSamePayment(current, latest, MUTATION);
      return latest;
    },
    // The SDL: the payment after the operation, or null when a user error stopped it.
    ...onExistingPayment(deps, call, current, MUTATION),
  });
}
