/**
 * Disputes end to end with the Stripe sandbox: a card payment made through the graph with Stripe's
 * dispute test card is charged back; the sandbox sends `charge.dispute.created` (signed, sometimes
 * duplicated and reordered), Tributary pulls the dispute and shows it on `Payment.disputes`; the card
 * network's decision arrives the same way. A replayed or late event never moves it back, a forged one is
 * refused, another customer cannot see it, and operators find it in /ops/api/disputes.
 */
import { randomBytes } from 'node:crypto';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { decodeId } from '../../domain/ids.js';
import { STRIPE_DEV_WEBHOOK_SECRET, signStripePayload } from '../../datasources/stripe/webhook.js';
import { startTestApp, type TestApp } from '../helpers/app.js';
import { INITIATE } from '../services/payments/replicas.js';

const DISPUTES = `query($id: ID!) {
  payment(id: $id) { id status disputes { id amount { amount currency } reason status evidenceDueBy openedAt } }
}`;

interface ShownDispute {
  id: string;
  amount: { amount: string; currency: string };
  reason: string;
  status: string;
  evidenceDueBy: string | null;
}

/** Polls `read` until `done` holds or the deadline passes; returns the last value read. */
async function until<T>(read: () => Promise<T>, done: (value: T) => boolean, ms = 60_000): Promise<T> {
  const deadline = Date.now() + ms;
  let value = await read();
  while (!done(value) && Date.now() < deadline) {
    await new Promise((resolve) => setTimeout(resolve, 100));
    value = await read();
  }
  return value;
}

describe('disputes from Stripe webhooks', { timeout: 180_000 }, () => {
  let app: TestApp;
  let paymentId: string;
  let disputeId: string;

  beforeAll(async () => {
    app = await startTestApp({
      sandboxes: { stripe: { webhooks: { duplicateRate: 0.3, maxJitterMs: 150 } } },
      customers: ['cust_alice'],
      env: { WEBHOOK_RETRY_BASE_MS: '50', WEBHOOK_RETRY_MAX_MS: '500' },
    });
  }, 180_000);
  afterAll(async () => app?.close());

  const sandbox = () => app.sandboxes.stripe!.handle.url;
  const disputesOf = async (subject = 'cust_alice') => {
    const answer = await app.graphql(DISPUTES, { id: paymentId }, { subject });
    return answer;
  };
  const shown = async (): Promise<ShownDispute[]> =>
    ((await disputesOf()).body.data?.payment as { disputes: ShownDispute[] } | null)?.disputes ?? [];
  const move = async (status: string) => {
    const response = await fetch(`${sandbox()}/__sandbox/stripe/disputes/${disputeId}/status`, {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: JSON.stringify({ status }),
    });
    expect(response.status).toBe(200);
  };

  it('shows the dispute the dispute test card opens, pulled after charge.dispute.created', async () => {
    const initiated = await app.graphql(INITIATE, {
      input: {
        paymentMethodId: 'pm_card_createDispute',
        amount: { amount: '25.00', currency: 'GBP' },
        reference: 'Dispute e2e',
      },
      key: `disputes-e2e-${randomBytes(8).toString('hex')}`,
    });
    expect(initiated.body.errors).toBeUndefined();
    const payment = (initiated.body.data?.initiatePayment as { payment: { id: string; status: string } })
      .payment;
    expect(payment.status).toBe('SETTLED');
    paymentId = payment.id;

    const disputes = await until(shown, (list) => list.length > 0);
    expect(disputes).toEqual([
      expect.objectContaining({
        amount: { amount: '25.00', currency: 'GBP' },
        reason: 'FRAUDULENT',
        status: 'NEEDS_RESPONSE',
      }),
    ]);
    const dueBy = new Date(disputes[0]!.evidenceDueBy ?? 0).getTime();
    expect(dueBy).toBeGreaterThan(Date.now() + 13 * 86_400_000);
    disputeId = disputes[0]!.id;
    expect(disputeId).toMatch(/^dp_/);
  });

  it('follows the card network through under_review to WON', async () => {
    await move('under_review');
    const review = await until(shown, (list) => list[0]?.status === 'UNDER_REVIEW');
    expect(review[0]).toMatchObject({ status: 'UNDER_REVIEW', evidenceDueBy: null });
    await move('won');
    const won = await until(shown, (list) => list[0]?.status === 'WON');
    expect(won).toEqual([expect.objectContaining({ status: 'WON', reason: 'FRAUDULENT' })]);
  });

  it('stays WON when the created event is replayed and when a stale event arrives late', async () => {
    const { repository, operations, worker } = app.server.services.webhooks;
    const events = await repository.list({ limit: 200, provider: 'stripe' });
    const created = events.find(
      (event) => event.type === 'charge.dispute.created' && event.resource?.partnerId === disputeId,
    );
    expect(created).toBeDefined();
    await operations.replay(created!.id, 'operator:test');
    worker.wake();
    await until(
      () => operations.get(created!.id),
      (event) => event?.status === 'processed',
    );
    // A genuinely signed event whose body claims the dispute still needs a response: bodies are not trusted.
    const body = JSON.stringify({
      id: `evt_late_${randomBytes(6).toString('hex')}`,
      object: 'event',
      type: 'charge.dispute.updated',
      created: Math.floor(Date.now() / 1000) - 60,
      data: { object: { id: disputeId, object: 'dispute', status: 'needs_response' } },
    });
    const t = Math.floor(Date.now() / 1000);
    const late = await fetch(`${app.url}/webhooks/stripe`, {
      method: 'POST',
      headers: {
        'content-type': 'application/json',
        'stripe-signature': signStripePayload(body, [STRIPE_DEV_WEBHOOK_SECRET], t),
      },
      body,
    });
    expect(late.status).toBe(200);
    const lateId = JSON.parse(body).id as string;
    const handled = await until(
      async () =>
        (await repository.list({ limit: 200, provider: 'stripe' })).find((e) => e.partnerEventId === lateId),
      (event) => event?.status === 'processed',
    );
    expect(handled?.status).toBe('processed');
    expect((await shown())[0]?.status).toBe('WON');
  });

  it('refuses a forged dispute webhook: not stored, the dispute unchanged', async () => {
    const body = JSON.stringify({
      id: 'evt_forged_dispute',
      object: 'event',
      type: 'charge.dispute.closed',
      data: { object: { id: disputeId, object: 'dispute', status: 'lost' } },
    });
    const t = Math.floor(Date.now() / 1000);
    const forged = await fetch(`${app.url}/webhooks/stripe`, {
      method: 'POST',
      headers: {
        'content-type': 'application/json',
        'stripe-signature': signStripePayload(body, ['whsec_not_the_endpoint_secret'], t),
      },
      body,
    });
    expect([400, 401]).toContain(forged.status);
    const stored = await app.server.services.webhooks.repository.list({ limit: 500, provider: 'stripe' });
    expect(stored.filter((event) => event.partnerEventId === 'evt_forged_dispute')).toEqual([]);
    expect((await shown())[0]?.status).toBe('WON');
  });

  it('hides the dispute from another customer: the payment does not exist for them', async () => {
    const asBob = await disputesOf('cust_bob');
    expect(asBob.body.data?.payment ?? null).toBeNull();
    expect(asBob.body.errors).toBeUndefined();
    expect(JSON.stringify(asBob.body)).not.toContain(disputeId);
  });

  it('lists the dispute for operators in /ops/api/disputes, and only with ops:read', async () => {
    const ops = await app.token('operator', ['ops:read']);
    const response = await fetch(`${app.url}/ops/api/disputes`, {
      headers: { authorization: `Bearer ${ops}` },
    });
    expect(response.status).toBe(200);
    const { disputes } = (await response.json()) as { disputes: Record<string, unknown>[] };
    expect(disputes).toContainEqual(
      expect.objectContaining({
        id: disputeId,
        provider: 'stripe',
        paymentId,
        status: 'WON',
        reason: 'FRAUDULENT',
        amount: { amount: '25.00', currency: 'GBP' },
      }),
    );
    expect(decodeId(paymentId, 'Payment')?.provider).toBe('stripe');
    const openOnly = await fetch(`${app.url}/ops/api/disputes?open=true`, {
      headers: { authorization: `Bearer ${ops}` },
    });
    const open = (await openOnly.json()) as { disputes: { id: string }[] };
    expect(open.disputes.map((dispute) => dispute.id)).not.toContain(disputeId);
    const bad = await fetch(`${app.url}/ops/api/disputes?open=maybe`, {
      headers: { authorization: `Bearer ${ops}` },
    });
    expect(bad.status).toBe(400);
    const customer = await app.token('cust_alice');
    const refused = await fetch(`${app.url}/ops/api/disputes`, {
      headers: { authorization: `Bearer ${customer}` },
    });
    expect(refused.status).toBe(403);
    const metrics = await (await fetch(`${app.url}/metrics`)).text();
    expect(metrics).toMatch(/tributary_disputes_total\{partner="stripe",reason="FRAUDULENT"\} 1/);
  });
});
