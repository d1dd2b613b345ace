/**
 * The Adyen provider through the official library against the Adyen sandbox over loopback: authorised,
 * refused (refusal reasons mapped), 3-D Secure challenge then /payments/details, redirect, cancel,
 * partial and full refunds decided by notifications, idempotent retries, one key with two bodies, and
 * the module's read path (the record plus verified notifications; another subject sees nothing).
 */
import { describe, expect, it } from 'vitest';
import { IdempotencyError, InputError, NotFoundError } from '../../../domain/errors.js';
import { money } from '../../../domain/money.js';
import { cardPayment, ctx, eventually, failure, key, useAdyenHarness } from './harness.js';

const h = useAdyenHarness();
const paymentOf = async (subject: string, psp: string) =>
  (await h.payments.getPayments(ctx(subject), [psp])).get(psp);

describe('Adyen card payments', { timeout: 60_000 }, () => {
  it('authorises a card payment, captured at once: SETTLED, sent with our key, read back from the record', async () => {
    const request = cardPayment('visa');
    const payment = await h.payments.createPayment(ctx('cust_alice'), request);
    expect(payment).toMatchObject({ provider: 'adyen', status: 'SETTLED', amount: money(2599, 'EUR') });
    const atAdyen = h.sandbox.ledger().payments.find((entry) => entry.pspReference === payment.partnerId);
    expect(atAdyen).toMatchObject({
      idempotencyKey: request.partnerIdempotencyKey,
      resultCode: 'Authorised',
    });
    expect((await paymentOf('cust_alice', payment.partnerId))?.status).toBe('SETTLED');
    expect(await paymentOf('cust_bob', payment.partnerId)).toBeUndefined();
  });

  it.each([
    ['declined', 'DECLINED'],
    ['insufficientFunds', 'INSUFFICIENT_FUNDS'],
    ['expired', 'EXPIRED_CARD'],
    ['cvcDeclined', 'INCORRECT_CARD_DETAILS'],
    ['error', 'DECLINED'],
  ] as const)('answers a %s card as the FAILED payment with %s', async (method, code) => {
    const payment = await h.payments.createPayment(ctx('cust_alice'), cardPayment(method));
    expect(payment).toMatchObject({ status: 'FAILED', failureReason: code, nextAction: null });
  });

  it('asks for 3-D Secure, hands the app the action, and completes with the shopper details', async () => {
    const payment = await h.payments.createPayment(ctx('cust_alice'), cardPayment('visaChallenge'));
    expect(payment).toMatchObject({
      status: 'REQUIRES_ACTION',
      nextAction: { type: 'THREE_D_SECURE', url: null },
    });
    const action = JSON.parse((await h.payments.clientSecretOf(ctx('cust_alice'), payment.partnerId))!);
    expect(action).toMatchObject({ type: 'threeDS2', subtype: 'challenge' });
    // A confirmation without the shopper's result sends nothing: the payment is reported as it is.
    const sent = () => h.sandbox.ledger().requests['POST /v71/payments/details'] ?? 0;
    const before = sent();
    expect((await h.payments.confirmPayment(ctx('cust_alice'), payment.partnerId, key())).status).toBe(
      'REQUIRES_ACTION',
    );
    expect(sent()).toBe(before);
    const details = await h.shopper(payment.partnerId, 'pass');
    const confirmKey = key();
    const done = await h.payments.confirmPayment(ctx('cust_alice'), payment.partnerId, confirmKey, details);
    expect(done.status).toBe('SETTLED');
    expect(sent()).toBe(before + 1);
    expect(await h.payments.clientSecretOf(ctx('cust_alice'), payment.partnerId)).toBeNull();
    // Once settled, the same confirmation again sends nothing more.
    const again = await h.payments.confirmPayment(ctx('cust_alice'), payment.partnerId, confirmKey, details);
    expect(again.status).toBe('SETTLED');
    expect(sent()).toBe(before + 1);
  });

  it('fails a payment whose shopper failed 3-D Secure, as AUTHENTICATION_FAILED', async () => {
    const payment = await h.payments.createPayment(ctx('cust_alice'), cardPayment('mastercardChallenge'));
    const details = await h.shopper(payment.partnerId, 'fail');
    const done = await h.payments.submitDetails(ctx('cust_alice'), payment.partnerId, details, key());
    expect(done).toMatchObject({ status: 'FAILED', failureReason: 'AUTHENTICATION_FAILED' });
  });

  it('sends the shopper to the issuer page for a redirect 3-D Secure', async () => {
    const payment = await h.payments.createPayment(ctx('cust_alice'), cardPayment('visaRedirect'));
    expect(payment.nextAction).toEqual({
      type: 'THREE_D_SECURE',
      url: `${h.sandbox.url}/__sandbox/adyen/issuer/${payment.partnerId}`,
    });
  });

  it('applies the AUTHORISATION notification to the payment it names', async () => {
    const payment = await h.payments.createPayment(ctx('cust_alice'), cardPayment('visa'));
    const read = await eventually(
      () => paymentOf('cust_alice', payment.partnerId),
      (current) => (current?.events ?? []).some((event) => event.detail === 'AUTHORISATION:true'),
    );
    expect(read).toMatchObject({ status: 'SETTLED' });
    expect(read!.events.at(-1)).toMatchObject({ source: 'WEBHOOK', status: 'SETTLED' });
  });

  it('asks Adyen to cancel a payment awaiting 3-D Secure, and keeps it as Adyen decides (refused: nothing authorised)', async () => {
    const payment = await h.payments.createPayment(ctx('cust_alice'), cardPayment('visaChallenge'));
    const asked = await h.payments.cancelPayment(ctx('cust_alice'), payment.partnerId, key());
    expect(asked.status).toBe('REQUIRES_ACTION');
    const read = await eventually(
      () => paymentOf('cust_alice', payment.partnerId),
      (current) => (current?.events ?? []).some((event) => event.detail === 'CANCELLATION:false'),
    );
    expect(read?.status).toBe('REQUIRES_ACTION');
  });

  it('refuses to cancel a settled payment without asking Adyen', async () => {
    const payment = await h.payments.createPayment(ctx('cust_alice'), cardPayment('visa'));
    expect(
      await failure(h.payments.cancelPayment(ctx('cust_alice'), payment.partnerId, key())),
    ).toBeInstanceOf(InputError);
  });

  it('refunds in part then in full; each refund is PENDING until its REFUND notification says SUCCEEDED', async () => {
    const payment = await h.payments.createPayment(ctx('cust_alice'), cardPayment('visa'));
    const refundKey = key();
    const partial = await h.payments.refundPayment(
      ctx('cust_alice'),
      payment.partnerId,
      money(599, 'EUR'),
      refundKey,
    );
    expect(partial.status).toBe('PARTIALLY_REFUNDED');
    expect(partial.refunds).toMatchObject([{ amount: money(599, 'EUR'), status: 'PENDING' }]);
    // The same key again is Adyen's saved answer: still one refund.
    const again = await h.payments.refundPayment(
      ctx('cust_alice'),
      payment.partnerId,
      money(599, 'EUR'),
      refundKey,
    );
    expect(again.refunds).toHaveLength(1);
    const full = await h.payments.refundPayment(ctx('cust_alice'), payment.partnerId, null, key());
    expect(full.status).toBe('REFUNDED');
    expect(full.refunds.map((refund) => refund.amount)).toEqual([money(599, 'EUR'), money(2000, 'EUR')]);
    const read = await eventually(
      () => paymentOf('cust_alice', payment.partnerId),
      (current) => (current?.refunds ?? []).every((refund) => refund.status === 'SUCCEEDED'),
    );
    expect(read).toMatchObject({ status: 'REFUNDED' });
  });

  it('answers an idempotent retry with the same payment, and Adyen holds one', async () => {
    const request = cardPayment('visa');
    const first = await h.payments.createPayment(ctx('cust_alice'), request);
    const second = await h.payments.createPayment(ctx('cust_alice'), request);
    expect(second.partnerId).toBe(first.partnerId);
    const atAdyen = h.sandbox
      .ledger()
      .payments.filter((entry) => entry.idempotencyKey === request.partnerIdempotencyKey);
    expect(atAdyen).toHaveLength(1);
  });

  it('refuses one key with a different body as IDEMPOTENCY_KEY_REUSED', async () => {
    const request = cardPayment('visa');
    await h.payments.createPayment(ctx('cust_alice'), request);
    const error = await failure(
      h.payments.createPayment(ctx('cust_alice'), { ...request, amount: money(100, 'EUR') }),
    );
    expect(error).toBeInstanceOf(IdempotencyError);
    expect((error as IdempotencyError).code).toBe('IDEMPOTENCY_KEY_REUSED');
  });

  it('reads a chargeback from its notifications as a dispute of the payment, which stays SETTLED while open', async () => {
    const payment = await h.payments.createPayment(ctx('cust_alice'), cardPayment('visa'));
    const opened = await h.control('/__sandbox/adyen/disputes', { pspReference: payment.partnerId });
    const disputePsp = opened.disputePspReference as string;
    // Both notifications (NOTIFICATION_OF_CHARGEBACK, CHARGEBACK) delivered: the sandbox has none in flight.
    await h.settle();
    const dispute = await h.payments.getDispute(ctx('system:webhooks'), disputePsp);
    expect(dispute).toMatchObject({
      provider: 'adyen',
      partnerId: disputePsp,
      partnerPaymentId: payment.partnerId,
      amount: money(2599, 'EUR'),
      reason: 'FRAUDULENT',
      status: 'NEEDS_RESPONSE',
    });
    expect(h.deliveries.some((d) => d.ok && d.event.resource?.kind === 'dispute')).toBe(true);
    expect((await paymentOf('cust_alice', payment.partnerId))?.status).toBe('SETTLED');
  });

  it("treats another subject's payment as absent for every write", async () => {
    const payment = await h.payments.createPayment(ctx('cust_alice'), cardPayment('visa'));
    expect(
      await failure(h.payments.refundPayment(ctx('cust_bob'), payment.partnerId, null, key())),
    ).toBeInstanceOf(NotFoundError);
  });
});
