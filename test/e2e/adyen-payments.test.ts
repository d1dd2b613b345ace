/**
 * End to end with the Adyen sandbox through the public API: a route table sending EUR card payments
 * to Adyen (PAYMENT_ROUTES), a payment with the sandbox shopper's stored card is SETTLED at ADYEN; its
 * HMAC-signed AUTHORISATION notification is verified, stored once in the inbox and processed; a full
 * refund through the graph leaves the payment REFUNDED. 3-D Secure at Adyen is finished through the
 * graph: confirmPayment carries the Drop-in's result (challenge and issuer redirect), exactly once per
 * key; a result for Stripe, or one that is not a JSON object of strings, is refused. The operator's
 * views show Adyen (partner health, its notifications), and an on-call replay of a notification is
 * processed again without changing the payment. A forged notification is refused, never stored.
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
const CONFIRM = `mutation($id: ID!, $key: String!, $result: String) {
  confirmPayment(id: $id, idempotencyKey: $key, authenticationResult: $result) {
    payment { id status failureCode } userErrors { code message field } } }`;
const NEXT_ACTION = 'query($id: ID!) { payment(id: $id) { status nextAction { type url clientSecret } } }';
const ROUTES = JSON.stringify([
  { name: 'eur-adyen', currencies: ['EUR'], processors: ['adyen'] },
  { name: 'gbp-stripe', currencies: ['GBP'], processors: ['stripe'] },
]);

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

  const uniqueKey = (name: string) => `${name}-${randomBytes(8).toString('hex')}`;

  async function pay(paymentMethodId: string, currency = 'EUR') {
    const initiated = await app.graphql(INITIATE, {
      input: { paymentMethodId, amount: { amount: '42.00', currency }, reference: '3DS e2e' },
      key: uniqueKey('adyen-3ds'),
    });
    expect(initiated.body.errors).toBeUndefined();
    return (initiated.body.data?.initiatePayment as { payment: { id: string; status: string } }).payment;
  }

  async function shopper(route: '3ds' | 'issuer', psp: string, result: 'pass' | 'fail') {
    const answer = await fetch(`${app.sandboxes.adyen!.handle.url}/__sandbox/adyen/${route}/${psp}`, {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: JSON.stringify({ result }),
    });
    expect(answer.status).toBe(200);
    return JSON.stringify(((await answer.json()) as { details: Record<string, string> }).details);
  }

  const confirm = async (id: string, key: string, result?: string) =>
    (await app.graphql(CONFIRM, { id, key, result })).body;

  it('finishes a 3-D Secure challenge at Adyen through confirmPayment, once per key', async () => {
    const payment = await pay('pm_card_authenticationRequired');
    expect(payment.status).toBe('REQUIRES_ACTION');
    const pending = await app.graphql(NEXT_ACTION, { id: payment.id });
    const nextAction = (pending.body.data?.payment as { nextAction: { type: string; clientSecret: string } })
      .nextAction;
    expect(nextAction.type).toBe('THREE_D_SECURE');
    expect(JSON.parse(nextAction.clientSecret)).toMatchObject({ type: 'threeDS2', subtype: 'challenge' });

    const psp = decodeId(payment.id, 'Payment')!.partnerId;
    const detailsSent = () =>
      app.sandboxes.adyen!.handle.ledger().requests['POST /v71/payments/details'] ?? 0;
    const before = detailsSent();
    // Without the shopper's result nothing is sent: the payment still waits.
    const waiting = await confirm(payment.id, uniqueKey('adyen-confirm'));
    expect(waiting.data?.confirmPayment).toMatchObject({
      payment: { status: 'REQUIRES_ACTION' },
      userErrors: [],
    });
    expect(detailsSent()).toBe(before);

    const result = await shopper('3ds', psp, 'pass');
    const key = uniqueKey('adyen-confirm');
    const done = await confirm(payment.id, key, result);
    expect(done.errors).toBeUndefined();
    expect(done.data?.confirmPayment).toMatchObject({ payment: { status: 'SETTLED' }, userErrors: [] });
    expect(detailsSent()).toBe(before + 1);

    // The retry answers the stored outcome; the key with another result is refused; Adyen saw one send.
    const replayed = await confirm(payment.id, key, result);
    expect(replayed.data?.confirmPayment).toMatchObject({ payment: { status: 'SETTLED' } });
    const reused = await confirm(payment.id, key, JSON.stringify({ threeDSResult: 'another' }));
    expect(reused.errors?.[0]?.extensions?.code).toBe('IDEMPOTENCY_KEY_REUSED');
    expect(detailsSent()).toBe(before + 1);
  });

  it('fails a payment whose shopper failed at the issuer page (redirectResult), as AUTHENTICATION_FAILED', async () => {
    const payment = await pay('pm_card_authenticationRequired');
    const psp = decodeId(payment.id, 'Payment')!.partnerId;
    const done = await confirm(payment.id, uniqueKey('adyen-confirm'), await shopper('issuer', psp, 'fail'));
    expect(done.data?.confirmPayment).toMatchObject({
      payment: { status: 'FAILED', failureCode: 'AUTHENTICATION_FAILED' },
      userErrors: [],
    });
  });

  it('refuses an authentication result for Stripe, and one that is not a JSON object of strings', async () => {
    const atStripe = await pay('pm_card_visa', 'GBP');
    const refused = await confirm(atStripe.id, uniqueKey('stripe-confirm'), '{"threeDSResult":"x"}');
    expect(refused.data?.confirmPayment).toMatchObject({
      payment: null,
      userErrors: [{ code: 'NOT_SUPPORTED', field: ['authenticationResult'] }],
    });
    const atAdyen = await pay('pm_card_authenticationRequired');
    for (const garbage of ['not json', '[]', '{}', '{"threeDSResult":7}', '{"bad name":"x"}']) {
      const answer = await confirm(atAdyen.id, uniqueKey('adyen-confirm'), garbage);
      expect(answer.errors?.[0]?.extensions?.code, garbage).toBe('BAD_USER_INPUT');
    }
    const still = await app.graphql(PAYMENT, { id: atAdyen.id });
    expect(still.body.data?.payment).toMatchObject({ status: 'REQUIRES_ACTION' });
  });

  it("shows Adyen in the operator's views, and an on-call replay of its notification changes nothing twice", async () => {
    const payment = await pay(Object.keys(STORED_METHODS)[0]!);
    const psp = decodeId(payment.id, 'Payment')!.partnerId;
    await until(
      () => inbox(psp),
      (rows) => rows.some((row) => row.event_type === 'AUTHORISATION' && row.status === 'processed'),
    );
    const ops = await app.token('ops_oncall', ['ops:read', 'ops:write']);
    const opsApi = async (path: string, method = 'GET') => {
      const answer = await fetch(`${app.url}/ops/api/${path}`, {
        method,
        headers: { authorization: `Bearer ${ops}` },
      });
      expect(answer.status, path).toBe(200);
      return (await answer.json()) as Record<string, unknown>;
    };

    const { partners } = (await opsApi('partners')) as { partners: { provider: string; calls: number }[] };
    expect(partners.find((partner) => partner.provider === 'adyen')).toMatchObject({
      calls: expect.any(Number),
    });
    const { events } = (await opsApi('webhooks?partner=adyen&limit=100')) as {
      events: {
        id: string;
        provider: string;
        type: string;
        resource: { kind: string; partnerId: string } | null;
        status: string;
        processedAt: string;
      }[];
    };
    const event = events.find((row) => row.type === 'AUTHORISATION' && row.resource?.partnerId === psp);
    expect(event).toMatchObject({ provider: 'adyen', status: 'PROCESSED' });
    expect(events.every((row) => row.provider === 'adyen')).toBe(true);

    const replayed = (await opsApi(`webhooks/${event!.id}/replay`, 'POST')) as { replayed: boolean };
    expect(replayed.replayed).toBe(true);
    // Replayed: back to pending with fresh attempts, then processed again (a later processedAt).
    type Shown = { status: string; processedAt: string | null };
    const after = await until(
      async () => ((await opsApi(`webhooks/${event!.id}`)) as { event: Shown }).event,
      (shown) => shown.status === 'PROCESSED' && (shown.processedAt ?? '') > event!.processedAt,
    );
    expect(after.status).toBe('PROCESSED');
    expect(after.processedAt! > event!.processedAt).toBe(true);
    const read = await app.graphql(PAYMENT, { id: payment.id });
    expect(read.body.data?.payment).toMatchObject({ provider: 'ADYEN', status: 'SETTLED' });
    expect(await inbox(psp)).toEqual([{ event_type: 'AUTHORISATION', status: 'processed' }]);
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
