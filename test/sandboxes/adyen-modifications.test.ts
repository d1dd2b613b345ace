/**
 * Captures, cancels and refunds on the Adyen sandbox through @adyen/api-library: each answers 201
 * `received` with its own pspReference, and its outcome arrives as a CAPTURE / CANCELLATION / REFUND
 * notification that follows Adyen's balance rules (partial refunds, nothing refunded beyond capture).
 */
import { randomUUID } from 'node:crypto';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import {
  ADYEN_SANDBOX_MERCHANT_ACCOUNT,
  ADYEN_TEST_METHODS,
  startAdyenSandbox,
  type AdyenSandboxHandle,
} from '../../sandboxes/adyen/index.js';
import {
  adyenCheckout,
  control,
  eventually,
  rejection,
  startReceiver,
  type ReceivedItem,
} from './adyen-client.js';

describe('adyen sandbox: modifications and their notifications', () => {
  let sandbox: AdyenSandboxHandle;
  let receiver: Awaited<ReturnType<typeof startReceiver>>;
  let api: ReturnType<typeof adyenCheckout>['checkout'];

  const merchantAccount = ADYEN_SANDBOX_MERCHANT_ACCOUNT;
  const pay = async (manualCapture = false) => {
    const answer = await api.PaymentsApi.payments({
      amount: { value: 1250, currency: 'EUR' },
      reference: `order-${randomUUID().slice(0, 8)}`,
      merchantAccount,
      returnUrl: 'https://tributary.test/return',
      paymentMethod: ADYEN_TEST_METHODS.visa as never,
      ...(manualCapture ? { additionalData: { manualCapture: 'true' } } : {}),
    });
    expect(answer.resultCode).toBe('Authorised');
    return answer.pspReference ?? '';
  };
  const statusOf = (psp: string) => sandbox.ledger().payments.find((p) => p.pspReference === psp);
  /** The notification about modification `psp`, once it arrived. */
  const notified = (psp: string): Promise<ReceivedItem> =>
    eventually(
      () => receiver.items().find((item) => item.pspReference === psp),
      (item) => item !== undefined,
    ) as Promise<ReceivedItem>;

  beforeAll(async () => {
    sandbox = await startAdyenSandbox({ webhooks: { duplicateRate: 0 } });
    receiver = await startReceiver();
    expect((await control(sandbox.url, '/__sandbox/adyen/webhooks', { url: receiver.url })).status).toBe(200);
    api = adyenCheckout(sandbox.url).checkout;
  });
  afterAll(async () => {
    await sandbox?.close();
    await receiver?.close();
  });

  it('keeps a manual-capture payment authorised, then captures it with a CAPTURE notification', async () => {
    const psp = await pay(true);
    expect(statusOf(psp)).toMatchObject({ status: 'authorised', captured: 0 });
    const received = await api.ModificationsApi.captureAuthorisedPayment(psp, {
      merchantAccount,
      amount: { value: 1250, currency: 'EUR' },
      reference: 'capture-1',
    });
    expect(received).toMatchObject({
      status: 'received',
      paymentPspReference: psp,
      merchantAccount,
      reference: 'capture-1',
    });
    expect(received.pspReference).toMatch(/^[0-9A-Z]{16}$/);
    expect(received.pspReference).not.toBe(psp);
    const item = await notified(received.pspReference);
    expect(item).toMatchObject({
      eventCode: 'CAPTURE',
      success: 'true',
      originalReference: psp,
      amount: { value: 1250, currency: 'EUR' },
    });
    expect(statusOf(psp)).toMatchObject({ status: 'captured', captured: 1250 });
  });

  it('captures card payments automatically by default, without a CAPTURE notification', async () => {
    const psp = await pay();
    expect(statusOf(psp)).toMatchObject({ status: 'captured', captured: 1250 });
    const authorisation = await notified(psp);
    expect(authorisation).toMatchObject({ eventCode: 'AUTHORISATION', success: 'true' });
    await fetch(`${sandbox.url}/__sandbox/adyen/webhooks`);
    expect(receiver.items().filter((i) => i.originalReference === psp && i.eventCode === 'CAPTURE')).toEqual(
      [],
    );
  });

  it('refunds partially, and refuses by notification a refund beyond what remains captured', async () => {
    const psp = await pay();
    const refund = (value: number) =>
      api.ModificationsApi.refundCapturedPayment(psp, {
        merchantAccount,
        amount: { value, currency: 'EUR' },
      });
    const first = await refund(500);
    const second = await refund(500);
    const third = await refund(500);
    expect([first.status, second.status, third.status]).toEqual(['received', 'received', 'received']);
    expect((await notified(first.pspReference)).success).toBe('true');
    expect((await notified(second.pspReference)).success).toBe('true');
    const refused = await notified(third.pspReference);
    expect(refused).toMatchObject({
      eventCode: 'REFUND',
      success: 'false',
      reason: 'Insufficient balance on payment',
    });
    expect(statusOf(psp)).toMatchObject({ status: 'partially_refunded', refunded: 1000 });
  });

  it('refuses by notification a refund of an uncaptured payment', async () => {
    const psp = await pay(true);
    const answer = await api.ModificationsApi.refundCapturedPayment(psp, {
      merchantAccount,
      amount: { value: 100, currency: 'EUR' },
    });
    expect(await notified(answer.pspReference)).toMatchObject({
      success: 'false',
      reason: "Transaction hasn't been captured, refund not possible",
    });
  });

  it('cancels an authorised payment, and fails to cancel a captured one', async () => {
    const open = await pay(true);
    const cancelled = await api.ModificationsApi.cancelAuthorisedPaymentByPspReference(open, {
      merchantAccount,
    });
    expect(cancelled).toMatchObject({ status: 'received', paymentPspReference: open });
    expect(await notified(cancelled.pspReference)).toMatchObject({
      eventCode: 'CANCELLATION',
      success: 'true',
    });
    expect(statusOf(open)?.status).toBe('cancelled');
    const captured = await pay();
    const late = await api.ModificationsApi.cancelAuthorisedPaymentByPspReference(captured, {
      merchantAccount,
    });
    expect((await notified(late.pspReference)).success).toBe('false');
    expect(statusOf(captured)?.status).toBe('captured');
  });

  it('refuses a modification of an unknown payment or in another currency with 422', async () => {
    const unknown = await rejection(
      api.ModificationsApi.refundCapturedPayment('0000000000000000', {
        merchantAccount,
        amount: { value: 1, currency: 'EUR' },
      }),
    );
    expect([unknown.statusCode, unknown.errorCode]).toEqual([422, '167']);
    const psp = await pay();
    const currency = await rejection(
      api.ModificationsApi.refundCapturedPayment(psp, {
        merchantAccount,
        amount: { value: 1, currency: 'USD' },
      }),
    );
    expect(currency.statusCode).toBe(422);
  });

  it('refunds once for two refund requests under one Idempotency-Key', async () => {
    const psp = await pay();
    const key = randomUUID();
    const body = { merchantAccount, amount: { value: 300, currency: 'EUR' } };
    const first = await api.ModificationsApi.refundCapturedPayment(psp, body, { idempotencyKey: key });
    const again = await api.ModificationsApi.refundCapturedPayment(psp, body, { idempotencyKey: key });
    expect(again.pspReference).toBe(first.pspReference);
    await notified(first.pspReference);
    expect(statusOf(psp)?.refunded).toBe(300);
  });
});
