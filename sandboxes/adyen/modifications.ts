/**
 * POST /payments/{paymentPspReference}/captures, /cancels and /refunds. Modifications are asynchronous
 * at Adyen: the answer is 201 `status: 'received'` with the modification's own pspReference once the
 * request is well formed and names a payment of this merchant account, and the outcome comes later as a
 * CAPTURE / CANCELLATION / REFUND notification whose `originalReference` is the payment. The balance
 * rules Adyen applies (docs: API idempotency, "accounting rules") decide `success`:
 *   - capture: only an authorised, uncaptured payment, at most the authorised amount;
 *   - cancel: only before capture ("cancel after capture" fails; cancel or refund is a separate call);
 *   - refund: only what was captured and not yet refunded, partial refunds allowed.
 * An unknown payment is refused at once (422 167), like a malformed amount or another currency.
 */
import type { Router } from '../kit/sandbox.js';
import { optionalString, readAmount, route, type ApiContext } from './api.js';
import { validation } from './errors.js';
import { newPspReference, type AdyenPayment, type Amount, type ModificationKind } from './state.js';

const EVENT = { capture: 'CAPTURE', cancel: 'CANCELLATION', refund: 'REFUND' } as const;

/** Registers the modification routes under every served version. */
export function registerModificationRoutes(router: Router, ctx: ApiContext): void {
  const modify =
    (kind: ModificationKind) =>
    (call: { body: Record<string, unknown>; req: { params: Record<string, string> } }) => {
      const payment = ctx.state.payment(call.req.params.paymentPspReference ?? '');
      if (!payment || payment.merchantAccount !== ctx.merchantAccount) {
        throw validation('167', 'Original pspReference required for this operation');
      }
      const amount = kind === 'cancel' ? null : readAmount(call.body.amount, true);
      if (amount && amount.currency !== payment.amount.currency) {
        throw validation('138', 'Unsupported currency specified', newPspReference());
      }
      const reference = optionalString(call.body, 'reference') ?? null;
      const pspReference = newPspReference();
      const outcome = apply(payment, kind, amount);
      payment.modifications.push({ pspReference, kind, amount, reference, ...outcome });
      ctx.notifier.modification(
        payment,
        EVENT[kind],
        pspReference,
        amount ?? { ...payment.amount },
        outcome.success,
        outcome.reason ?? '',
      );
      const body: Record<string, unknown> = {
        merchantAccount: payment.merchantAccount,
        paymentPspReference: payment.pspReference,
        pspReference,
        status: 'received',
        ...(reference ? { reference } : {}),
        ...(amount ? { amount } : {}),
      };
      return { status: 201, body };
    };
  route(router, ctx, '/payments/{paymentPspReference}/captures', modify('capture'));
  route(router, ctx, '/payments/{paymentPspReference}/cancels', modify('cancel'));
  route(router, ctx, '/payments/{paymentPspReference}/refunds', modify('refund'));
}

/** Applies a modification to the payment's book; the outcome the notification will report. */
function apply(
  payment: AdyenPayment,
  kind: ModificationKind,
  amount: Amount | null,
): { success: boolean; reason: string | null } {
  const fail = (reason: string) => ({ success: false, reason });
  if (payment.resultCode !== 'Authorised') return fail('Original transaction was not authorised');
  switch (kind) {
    case 'capture': {
      if (payment.status !== 'authorised') return fail(`Payment is ${payment.status}, capture not possible`);
      if (!amount || amount.value > payment.amount.value) return fail('Insufficient balance on payment');
      payment.captured = amount.value;
      payment.status = 'captured';
      return { success: true, reason: null };
    }
    case 'cancel': {
      if (payment.status !== 'authorised') return fail(`Payment is ${payment.status}, cancel not possible`);
      payment.status = 'cancelled';
      return { success: true, reason: null };
    }
    case 'refund': {
      if (payment.captured === 0) return fail("Transaction hasn't been captured, refund not possible");
      if (!amount || amount.value > payment.captured - payment.refunded) {
        return fail('Insufficient balance on payment');
      }
      payment.refunded += amount.value;
      payment.status = payment.refunded === payment.captured ? 'refunded' : 'partially_refunded';
      return { success: true, reason: null };
    }
  }
}
