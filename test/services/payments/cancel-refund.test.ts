import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { InputError, NotFoundError } from '../../../domain/errors.js';
import { SimulatedCrash, type CrashPoint } from '../../../services/payments/runner.js';
import { testBackends } from '../../helpers/db.js';
import { cardPayment, startPaymentsHarness, type PaymentsHarness } from './harness.js';

let counter = 0;
const newKey = (prefix = 'cr') => `${prefix}-test-key-${Date.now()}-${(counter += 1)}`;
const afterLease = () => new Date(Date.now() + 120_000);

describe.each(testBackends())('cancelPayment and refundPayment on $kind', (backend) => {
  let h: PaymentsHarness;
  beforeAll(async () => {
    h = await startPaymentsHarness(backend);
  });
  afterAll(async () => {
    await h.close();
  });

  const pay = async (amount = '50.00', method = 'pm_card_visa') =>
    (await h.service().initiate(h.call(), cardPayment(amount, method), newKey('pay'))).payload.payment!;

  it('cancels a payment awaiting authentication once, and replays the cancellation', async () => {
    const payment = await pay('15.00', 'pm_card_authenticationRequired');
    expect(payment.status).toBe('REQUIRES_ACTION');
    expect(payment.nextAction?.url).toBeTruthy();
    const key = newKey();
    const first = await h.service().cancel(h.call(), payment.id, key);
    expect(first.payload).toMatchObject({
      userErrors: [],
      payment: { status: 'CANCELLED', nextAction: null },
    });
    expect(first.payload.payment?.events.map((event) => event.status)).toEqual([
      'REQUIRES_ACTION',
      'CANCELLED',
    ]);
    const cancels = h.sandbox.ledger().requests['POST /v1/payment_intents/{id}/cancel'];
    const again = await h.service().cancel(h.call(), payment.id, key);
    expect(again.replayed).toBe(true);
    expect(h.sandbox.ledger().requests['POST /v1/payment_intents/{id}/cancel']).toBe(cancels);
  });

  it('refuses to cancel a settled payment as a stored business outcome, without asking the partner', async () => {
    const payment = await pay();
    const key = newKey();
    const requests = h.sandbox.ledger().requests;
    const first = await h.service().cancel(h.call(), payment.id, key);
    expect(first.payload).toMatchObject({ payment: null, userErrors: [{ code: 'NOT_CANCELLABLE' }] });
    expect(h.sandbox.ledger().requests).toEqual(requests);
    expect((await h.service().cancel(h.call(), payment.id, key)).replayed).toBe(true);
  });

  it('stores the partner refusing a cancellation the ledger thought possible, and catches the ledger up', async () => {
    const payment = await pay('18.00', 'pm_sandbox_processing');
    expect(payment.status).toBe('PROCESSING');
    const moved = await fetch(
      `${h.sandbox.url}/__sandbox/stripe/payment_intents/${payment.partnerId}/status`,
      {
        method: 'POST',
        headers: { 'content-type': 'application/json' },
        body: JSON.stringify({ status: 'succeeded' }),
      },
    );
    expect(moved.status).toBe(200);
    const key = newKey();
    const refused = await h.service().cancel(h.call(), payment.id, key);
    expect(refused.payload).toMatchObject({ payment: null, userErrors: [{ code: 'NOT_CANCELLABLE' }] });
    expect((await h.service().ledger.get('cust_alice', payment.id))?.status).toBe('SETTLED');
    expect((await h.service().cancel(h.call(), payment.id, key)).replayed).toBe(true);
  });

  it("answers NOT_FOUND for an unknown or another subject's payment, and stores nothing", async () => {
    const payment = await pay();
    const key = newKey();
    await expect(h.service().cancel(h.call('cust_bob'), payment.id, key)).rejects.toBeInstanceOf(
      NotFoundError,
    );
    await expect(h.service().refund(h.call('cust_bob'), payment.id, null, key)).rejects.toBeInstanceOf(
      NotFoundError,
    );
    await expect(h.service().cancel(h.call(), 'not-an-id', key)).rejects.toBeInstanceOf(NotFoundError);
    expect(await h.service().keys.get('cust_bob', 'cancelPayment', key)).toBeNull();
  });

  it('refunds in part, then the rest, moving the payment forward', async () => {
    const payment = await pay('40.00');
    const partial = await h
      .service()
      .refund(h.call(), payment.id, { amount: '15.00', currency: 'GBP' }, newKey());
    expect(partial.payload.refund).toMatchObject({ amount: { minor: 1500n }, status: 'SUCCEEDED' });
    expect(partial.payload.payment?.status).toBe('PARTIALLY_REFUNDED');
    const rest = await h.service().refund(h.call(), payment.id, null, newKey());
    expect(rest.payload.refund?.amount.minor).toBe(2500n);
    expect(rest.payload.payment?.status).toBe('REFUNDED');
    expect(rest.payload.payment?.events.map((event) => event.status)).toEqual([
      'SETTLED',
      'PARTIALLY_REFUNDED',
      'REFUNDED',
    ]);
    const more = await h
      .service()
      .refund(h.call(), payment.id, { amount: '0.01', currency: 'GBP' }, newKey());
    expect(more.payload).toMatchObject({
      refund: null,
      payment: null,
      userErrors: [{ code: 'NOT_REFUNDABLE' }],
    });
  });

  it('refuses a refund above what is left, and one in another currency', async () => {
    const payment = await pay('10.00');
    const tooMuch = await h
      .service()
      .refund(h.call(), payment.id, { amount: '10.01', currency: 'GBP' }, newKey());
    expect(tooMuch.payload.userErrors).toMatchObject([{ code: 'REFUND_EXCEEDS_PAYMENT', field: ['amount'] }]);
    const key = newKey();
    await expect(
      h.service().refund(h.call(), payment.id, { amount: '1.00', currency: 'EUR' }, key),
    ).rejects.toBeInstanceOf(InputError);
    expect(await h.service().keys.get('cust_alice', 'refundPayment', key)).toBeNull();
  });

  it('replays a refund: one partner refund for many requests, REUSED for another amount', async () => {
    const payment = await pay('30.00');
    const key = newKey();
    const before = h.partnerRefunds().length;
    const results = [];
    for (let i = 0; i < 5; i += 1) {
      results.push(await h.service().refund(h.call(), payment.id, { amount: '3.00', currency: 'GBP' }, key));
    }
    expect(h.partnerRefunds().length - before).toBe(1);
    expect(new Set(results.map((result) => result.payload.refund?.id)).size).toBe(1);
    const error = await h
      .service()
      .refund(h.call(), payment.id, { amount: '3.01', currency: 'GBP' }, key)
      .catch((e: unknown) => e);
    expect(error).toMatchObject({ code: 'IDEMPOTENCY_KEY_REUSED' });
  });

  it.each<CrashPoint>(['partner_requested', 'partner_called', 'partner_confirmed'])(
    'a refund crashing at %s is completed by the retry, with one partner refund',
    async (point) => {
      const payment = await pay('20.00');
      const key = newKey();
      const crashing = h.service({
        checkpoint: (at, mutation) => {
          if (mutation === 'refundPayment' && at === point) throw new SimulatedCrash(at);
        },
      });
      const before = h.partnerRefunds().length;
      await expect(crashing.refund(h.call(), payment.id, null, key)).rejects.toBeInstanceOf(SimulatedCrash);
      const result = await h.service({ now: afterLease }).refund(h.call(), payment.id, null, key);
      expect(h.partnerRefunds().length - before).toBe(1);
      expect(result.payload.refund?.amount.minor).toBe(2000n);
      expect(result.payload.payment?.status).toBe('REFUNDED');
    },
  );

  it('a cancellation crashing after the partner call asks the partner instead of cancelling again', async () => {
    const payment = await pay('12.00', 'pm_card_authenticationRequired');
    const key = newKey();
    const crashing = h.service({
      checkpoint: (at, mutation) => {
        if (mutation === 'cancelPayment' && at === 'partner_called') throw new SimulatedCrash(at);
      },
    });
    await expect(crashing.cancel(h.call(), payment.id, key)).rejects.toBeInstanceOf(SimulatedCrash);
    const cancels = h.sandbox.ledger().requests['POST /v1/payment_intents/{id}/cancel'];
    expect(cancels).toBeGreaterThan(0);
    const result = await h.service({ now: afterLease }).cancel(h.call(), payment.id, key);
    expect(result.payload.payment?.status).toBe('CANCELLED');
    expect(h.sandbox.ledger().requests['POST /v1/payment_intents/{id}/cancel']).toBe(cancels);
  });
});
