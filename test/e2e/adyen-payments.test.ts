/**
 * End to end with the Adyen sandbox through the public API: a route table sending EUR card payments
 * to Adyen (PAYMENT_ROUTES), a payment with the sandbox shopper's stored card is SETTLED at ADYEN; its
 * HMAC-signed AUTHORISATION notification is verified, stored once in the inbox and processed; a full
 * refund through the graph leaves the payment REFUNDED. A forged notification is refused, never stored.
 */
import { randomBytes } from 'node:crypto';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { decodeId } from '../../domain/ids.js';
import { STORED_METHODS } from '../../sandboxes/adyen/index.js';
import { startTestApp, type TestApp } from '../helpers/app.js';
import { INITIATE } from '../services/payments/replicas.js';

const REFUND = `mutation($id: ID!, $key: String!) { refundPayment(id: $id, idempotencyKey: $key) {
  payment { id status } userErrors { code message } } }`;
const PAYMENT = 'query($id: ID!) { payment(id: $id) { id status provider } }';
const ROUTES = JSON.stringify([{ name: 'eur-adyen', currencies: ['EUR'], processors: ['adyen'] }]);

describe('card payments at Adyen through the graph', { timeout: 180_000 }, () => {
  let app: TestApp;

  beforeAll(async () => {
    app = await startTestApp({ env: { PAYMENT_ROUTES: ROUTES }, customers: ['cust_alice'] });
  }, 180_000);
  afterAll(async () => app?.close());

  const inbox = async (partnerId: string) =>
    app.server.services.db.query<{ event_type: string; status: string }>(
      `SELECT event_type, status FROM webhook_events WHERE provider = 'adyen' AND resource_id = $1`,
      [partnerId],
    );

  async function until<T>(read: () => Promise<T>, done: (value: T) => boolean): Promise<T> {
    const deadline = Date.now() + 60_000;
    for (;;) {
      const value = await read();
      if (done(value) || Date.now() > deadline) return value;
      await new Promise((resolve) => setTimeout(resolve, 100));
    }
  }

  it('pays with Adyen, settles, takes the notification once, and refunds', async () => {
    const initiated = await app.graphql(INITIATE, {
      input: {
        paymentMethodId: Object.keys(STORED_METHODS)[0],
        amount: { amount: '25.99', currency: 'EUR' },
        reference: 'Adyen e2e',
      },
      key: `adyen-e2e-${randomBytes(8).toString('hex')}`,
    });
    expect(initiated.body.errors).toBeUndefined();
    const payment = (initiated.body.data?.initiatePayment as { payment: { id: string; status: string } })
      .payment;
    expect(payment.status).toBe('SETTLED');
    const read = await app.graphql(PAYMENT, { id: payment.id });
    expect(read.body.data?.payment).toMatchObject({ provider: 'ADYEN', status: 'SETTLED' });

    const psp = decodeId(payment.id, 'Payment')!.partnerId;
    const events = await until(
      () => inbox(psp),
      (rows) => rows.some((row) => row.event_type === 'AUTHORISATION' && row.status === 'processed'),
    );
    expect(events.filter((row) => row.event_type === 'AUTHORISATION')).toEqual([
      { event_type: 'AUTHORISATION', status: 'processed' },
    ]);

    const refunded = await app.graphql(REFUND, { id: payment.id, key: `adyen-refund-${Date.now()}` });
    expect(refunded.body.errors).toBeUndefined();
    expect(refunded.body.data?.refundPayment).toMatchObject({
      payment: { status: 'REFUNDED' },
      userErrors: [],
    });
  });

  it('refuses a forged notification and stores nothing of it', async () => {
    const forged = {
      live: 'false',
      notificationItems: [
        {
          NotificationRequestItem: {
            pspReference: 'FORGED0000000001',
            merchantAccountCode: 'TributaryECOM',
            merchantReference: 'forged',
            eventCode: 'AUTHORISATION',
            eventDate: new Date().toISOString(),
            amount: { value: 100, currency: 'EUR' },
            success: 'true',
            additionalData: { hmacSignature: Buffer.alloc(32, 7).toString('base64') },
          },
        },
      ],
    };
    const answer = await fetch(`${app.url}/webhooks/adyen`, {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: JSON.stringify(forged),
    });
    expect(answer.status).toBeGreaterThanOrEqual(400);
    expect(await inbox('FORGED0000000001')).toEqual([]);
  });
});
