/**
 * End to end with the Open Banking sandbox: a bank payment initiated through the graph is PROCESSING;
 * from there only the bank's event notifications (Standard Webhooks, sometimes duplicated, delayed and
 * reordered) move it: to SETTLED when the bank settles it with nobody polling, and to FAILED when the
 * bank rejects it. The subgraph registered its endpoint with the bank over mutual TLS at start.
 */
import { randomBytes } from 'node:crypto';
import { Agent, request } from 'undici';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { decodeId } from '../../domain/ids.js';
import { sharedSandboxTls } from '../../sandboxes/certs.js';
import { startTestApp, type TestApp } from '../helpers/app.js';
import { INITIATE } from '../services/payments/replicas.js';

const PAYMENT = 'query($id: ID!) { payment(id: $id) { id status events { status source } } }';

interface PaymentView {
  id: string;
  status: string;
  events: { status: string; source: string }[];
}

let app: TestApp;
let debtorAccountId: string;
let bank: Agent;

beforeAll(async () => {
  app = await startTestApp({
    sandboxes: {
      openbanking: {
        // Long enough for the rejection test to reject the payment before it would settle.
        paymentSettlementSeconds: 4,
        webhooks: { duplicateRate: 0.5, maxJitterMs: 200 },
      },
    },
    customers: ['cust_alice'],
  });
  const tls = await sharedSandboxTls();
  bank = new Agent({ connect: { ca: tls.ca, ...tls.client } });
  const accounts = await app.graphql('{ accounts(provider: OPENBANKING) { edges { node { id type } } } }');
  const edges = (accounts.body.data?.accounts as { edges: { node: { id: string; type: string } }[] }).edges;
  debtorAccountId = edges.find((edge) => edge.node.type === 'CURRENT')!.node.id;
}, 180_000);
afterAll(async () => {
  await bank?.close();
  await app?.close();
});

/** Initiates a bank payment through the graph; it is PROCESSING, as the bank accepted it. */
async function initiate(
  amount: string,
  key = `ob-webhooks-${randomBytes(8).toString('hex')}`,
): Promise<PaymentView> {
  const answer = await app.graphql(INITIATE, {
    input: {
      debtorAccountId,
      amount: { amount, currency: 'GBP' },
      creditor: { name: 'Acme Supplies Ltd', sortCode: '040004', accountNumber: '12345678' },
      reference: 'OB webhooks',
    },
    key,
  });
  expect(answer.body.errors).toBeUndefined();
  const payment = (answer.body.data?.initiatePayment as { payment: PaymentView }).payment;
  expect(payment.status).toBe('PROCESSING');
  return payment;
}

/** Reads the payment from our ledger until it reaches `status` (reads never ask the bank). */
async function reaches(id: string, status: string): Promise<PaymentView> {
  const deadline = Date.now() + 60_000;
  for (;;) {
    const payment = (await app.graphql(PAYMENT, { id })).body.data?.payment as PaymentView;
    if (payment.status === status || Date.now() > deadline) return payment;
    await new Promise((resolve) => setTimeout(resolve, 200));
  }
}

async function bankControl(method: 'GET' | 'POST', path: string, body?: unknown): Promise<unknown> {
  const response = await request(`${app.sandboxes.openbanking!.handle.url}${path}`, {
    method,
    dispatcher: bank,
    ...(body === undefined
      ? {}
      : { headers: { 'content-type': 'application/json' }, body: JSON.stringify(body) }),
  });
  expect(response.statusCode).toBe(200);
  return response.body.json();
}

async function inbox() {
  await app.server.services.webhooks.worker.drain();
  return app.server.services.webhooks.repository.list({ limit: 100, provider: 'openbanking' });
}

describe('Open Banking payments moved by event notifications', { timeout: 180_000 }, () => {
  it('reaches SETTLED through webhooks alone', async () => {
    const key = `ob-webhooks-${randomBytes(8).toString('hex')}`;
    const payment = await initiate('9.87', key);
    const settled = await reaches(payment.id, 'SETTLED');
    expect(settled.status).toBe('SETTLED');
    // A retry of the first call replays its outcome with the payment as it is now: never back in time.
    const replay = await app.graphql(INITIATE, {
      input: {
        debtorAccountId,
        amount: { amount: '9.87', currency: 'GBP' },
        creditor: { name: 'Acme Supplies Ltd', sortCode: '040004', accountNumber: '12345678' },
        reference: 'OB webhooks',
      },
      key,
    });
    expect(replay.body.extensions?.idempotency).toMatchObject({ replayed: true });
    expect(replay.body.data?.initiatePayment).toMatchObject({
      payment: { id: payment.id, status: 'SETTLED' },
    });
    expect(settled.events.find((event) => event.status === 'PROCESSING')?.source).toBe('API');
    expect(settled.events.find((event) => event.status === 'SETTLED')?.source).toBe('WEBHOOK');

    const stats = await bankControl('GET', '/__sandbox/openbanking/webhook_endpoints');
    expect((stats as { delivered: number }).delivered).toBeGreaterThanOrEqual(2);
    const events = await inbox();
    const partnerId = decodeId(payment.id, 'Payment')!.partnerId;
    expect(events.some((event) => event.resource?.partnerId === partnerId)).toBe(true);
    expect(events.every((event) => event.verification === 'standard-webhooks-v1')).toBe(true);
    expect(events.filter((event) => event.status === 'dead')).toEqual([]);
  });

  it('reaches FAILED by webhook when the bank rejects the payment', async () => {
    const payment = await initiate('4.56');
    const partnerId = decodeId(payment.id, 'Payment')!.partnerId;
    await bankControl('POST', `/__sandbox/domestic-payments/${partnerId}/status`, { Status: 'Rejected' });

    const failed = await reaches(payment.id, 'FAILED');
    expect(failed.status).toBe('FAILED');
    expect(failed.events.find((event) => event.status === 'FAILED')?.source).toBe('WEBHOOK');
    expect(failed.events.some((event) => event.status === 'SETTLED')).toBe(false);
    const events = await inbox();
    expect(events.every((event) => event.verification === 'standard-webhooks-v1')).toBe(true);
    expect(events.filter((event) => event.status === 'dead')).toEqual([]);
  });
});
