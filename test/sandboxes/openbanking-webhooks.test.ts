/**
 * The Open Banking sandbox's event notifications, received by a real local listener: each payment
 * status change (creation, settlement with nobody reading, a forced rejection) arrives as a thin OB
 * resource-update event signed as Standard Webhooks, which the subgraph's own verifier accepts; a
 * listener that answers 500 gets the same event again; only the payment's client hears about it.
 */
import { createServer, type IncomingHttpHeaders, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import {
  normaliseOpenBankingEvent,
  openBankingWebhookVerifier,
  RESOURCE_UPDATE,
} from '../../datasources/openbanking/webhook.js';
import { PISP_BASE, SEED_BASE_DATE } from '../../sandboxes/openbanking/index.js';
import { data, OTHER_CLIENT, startPisSandbox, type PisSandbox } from './openbanking-pis-wire.js';

const SECRET = `whsec_${Buffer.alloc(24, 7).toString('base64')}`;
const ROUTE = '/__sandbox/openbanking/webhook_endpoints';

interface Delivery {
  headers: IncomingHttpHeaders;
  body: Buffer;
  answered: number;
}

/** A loopback endpoint that records every delivery and answers with `answer()`. */
async function startListener(answer: () => number = () => 200) {
  const deliveries: Delivery[] = [];
  const server: Server = createServer((req, res) => {
    const chunks: Buffer[] = [];
    req.on('data', (chunk: Buffer) => chunks.push(chunk));
    req.on('end', () => {
      const status = answer();
      deliveries.push({ headers: req.headers, body: Buffer.concat(chunks), answered: status });
      res.writeHead(status).end();
    });
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const url = `http://127.0.0.1:${(server.address() as AddressInfo).port}/webhooks/openbanking`;
  return { url, deliveries, close: () => new Promise<void>((resolve) => server.close(() => resolve())) };
}

type Listener = Awaited<ReturnType<typeof startListener>>;

const verifier = openBankingWebhookVerifier({ secrets: [SECRET], toleranceSeconds: 300 });
const header = (delivery: Delivery, name: string) => String(delivery.headers[name]);
const notification = (delivery: Delivery) =>
  JSON.parse(delivery.body.toString('utf8')) as Record<string, unknown>;
const ridOf = (delivery: Delivery) =>
  (notification(delivery).events as Record<string, { subject: Record<string, unknown> }>)[RESOURCE_UPDATE]
    ?.subject['http://openbanking.org.uk/rid'];

/** Waits until `count` deliveries about `paymentId` have arrived; returns them. */
async function deliveriesAbout(listener: Listener, paymentId: string, count: number): Promise<Delivery[]> {
  const deadline = Date.now() + 10_000;
  for (;;) {
    const found = listener.deliveries.filter((delivery) => ridOf(delivery) === paymentId);
    if (found.length >= count || Date.now() > deadline) return found;
    await new Promise((resolve) => setTimeout(resolve, 20));
  }
}

let time = SEED_BASE_DATE.getTime();
let ob: PisSandbox;
let listener: Listener;
let otherListener: Listener;

beforeAll(async () => {
  ob = await startPisSandbox({
    now: () => time,
    clients: OTHER_CLIENT,
    webhooks: { duplicateRate: 0, maxJitterMs: 0, settlementScanMs: 20 },
  });
  listener = await startListener();
  otherListener = await startListener();
  for (const body of [
    { url: listener.url, secret: SECRET },
    { url: otherListener.url, secret: SECRET, clientId: 'other-tpp' },
  ]) {
    expect((await ob.call('POST', ROUTE, { body })).status).toBe(200);
  }
});
afterAll(async () => {
  await ob?.close();
  await listener?.close();
  await otherListener?.close();
});

async function newPayment(amount = '25.00'): Promise<string> {
  const { payment } = await ob.pay(amount);
  expect(payment.status).toBe(201);
  return data<{ DomesticPaymentId: string }>(payment).DomesticPaymentId;
}

describe('Open Banking sandbox event notifications', () => {
  it('announces a new payment with a thin resource-update that the subgraph verifier accepts', async () => {
    const paymentId = await newPayment();
    const [delivery] = await deliveriesAbout(listener, paymentId, 1);
    expect(delivery).toBeDefined();

    const verified = await verifier.verify({
      body: delivery!.body,
      headers: {
        'webhook-id': header(delivery!, 'webhook-id'),
        'webhook-timestamp': header(delivery!, 'webhook-timestamp'),
        'webhook-signature': header(delivery!, 'webhook-signature'),
      },
      receivedAt: new Date(),
    });
    expect(verified).toMatchObject({ ok: true, method: 'standard-webhooks-v1' });
    expect(normaliseOpenBankingEvent(header(delivery!, 'webhook-id'), delivery!.body)).toMatchObject({
      type: 'resource-update:domestic-payment',
      resource: { kind: 'payment', partnerId: paymentId },
    });

    const body = notification(delivery!);
    const link = `${ob.sandbox.url}${PISP_BASE}/domestic-payments/${paymentId}`;
    expect(body).toEqual({
      iss: ob.sandbox.url,
      iat: Math.floor(time / 1000),
      jti: header(delivery!, 'webhook-id'),
      aud: 'tributary-dev',
      sub: link,
      txn: expect.any(String),
      toe: Math.floor(time / 1000),
      events: {
        [RESOURCE_UPDATE]: {
          subject: {
            subject_type: 'http://openbanking.org.uk/rid_http://openbanking.org.uk/rty',
            'http://openbanking.org.uk/rid': paymentId,
            'http://openbanking.org.uk/rty': 'domestic-payment',
            'http://openbanking.org.uk/rlk': [{ version: 'v3.1', link }],
          },
        },
      },
    });
    expect(delivery!.body.toString()).not.toContain('Status');
  });

  it('refuses a delivery whose body was altered, so the signature really covers the body', async () => {
    const paymentId = await newPayment();
    const [delivery] = await deliveriesAbout(listener, paymentId, 1);
    const tampered = Buffer.from(delivery!.body.toString().replace(paymentId, 'dp-someone-else'));
    const verified = await verifier.verify({
      body: tampered,
      headers: {
        'webhook-id': header(delivery!, 'webhook-id'),
        'webhook-timestamp': header(delivery!, 'webhook-timestamp'),
        'webhook-signature': header(delivery!, 'webhook-signature'),
      },
      receivedAt: new Date(),
    });
    expect(verified.ok).toBe(false);
  });

  it('announces settlement when it falls due, without anyone reading the payment', async () => {
    const paymentId = await newPayment();
    await deliveriesAbout(listener, paymentId, 1);
    const readsBefore =
      ob.sandbox.ledger().requests[`GET ${PISP_BASE}/domestic-payments/{DomesticPaymentId}`];
    time += 3_000;
    const deliveries = await deliveriesAbout(listener, paymentId, 2);
    expect(deliveries).toHaveLength(2);
    const [created, settled] = deliveries.map(notification);
    expect(settled!.jti).not.toBe(created!.jti);
    expect(settled!.toe).toBe((created!.toe as number) + 2);
    expect(ob.sandbox.ledger().requests[`GET ${PISP_BASE}/domestic-payments/{DomesticPaymentId}`]).toBe(
      readsBefore,
    );
    const token = await ob.clientToken();
    const read = await ob.call('GET', `${PISP_BASE}/domestic-payments/${paymentId}`, { token });
    expect(data<{ Status: string }>(read).Status).toBe('AcceptedSettlementCompleted');
  });

  it('announces a payment the control route rejects', async () => {
    const paymentId = await newPayment();
    await deliveriesAbout(listener, paymentId, 1);
    const forced = await ob.call('POST', `/__sandbox/domestic-payments/${paymentId}/status`, {
      body: { Status: 'Rejected' },
    });
    expect(forced.status).toBe(200);
    expect(await deliveriesAbout(listener, paymentId, 2)).toHaveLength(2);
  });

  it('sends notifications only to the endpoints of the payment client', async () => {
    const paymentId = await newPayment();
    await deliveriesAbout(listener, paymentId, 1);
    await ob.call('GET', ROUTE);
    expect(otherListener.deliveries).toEqual([]);
  });

  it('retries a delivery the endpoint answers with 500, with the same id and a fresh signature', async () => {
    let answered = 0;
    const flaky = await startListener(() => (answered++ === 0 ? 500 : 200));
    try {
      expect((await ob.call('POST', ROUTE, { body: { url: flaky.url, secret: SECRET } })).status).toBe(200);
      const paymentId = await newPayment();
      const attempts = await deliveriesAbout(flaky, paymentId, 2);
      expect(attempts.map((attempt) => attempt.answered)).toEqual([500, 200]);
      expect(header(attempts[1]!, 'webhook-id')).toBe(header(attempts[0]!, 'webhook-id'));
      const retried = await verifier.verify({
        body: attempts[1]!.body,
        headers: {
          'webhook-id': header(attempts[1]!, 'webhook-id'),
          'webhook-timestamp': header(attempts[1]!, 'webhook-timestamp'),
          'webhook-signature': header(attempts[1]!, 'webhook-signature'),
        },
        receivedAt: new Date(),
      });
      expect(retried.ok).toBe(true);
      const stats = await ob.call('GET', ROUTE);
      expect((stats.body as { delivered: number }).delivered).toBeGreaterThanOrEqual(1);
    } finally {
      await flaky.close();
    }
  });

  it('refuses a registration whose secret is not whsec_ base64 of at least 16 bytes', async () => {
    for (const secret of ['not-a-secret', `whsec_${Buffer.alloc(8, 1).toString('base64')}`]) {
      const answer = await ob.call('POST', ROUTE, { body: { url: 'http://127.0.0.1:9/x', secret } });
      expect(answer.status).toBe(400);
    }
    const unknownClient = await ob.call('POST', ROUTE, {
      body: { url: 'http://127.0.0.1:9/x', secret: SECRET, clientId: 'nobody' },
    });
    expect(unknownClient.status).toBe(400);
  });
});
