/**
 * End to end with the Stripe sandbox: a card payment initiated through the graph waits for 3-D Secure;
 * the customer approves at the sandbox; from there the payment reaches SETTLED through webhooks alone
 * (signed, retried, sometimes duplicated and reordered by the sandbox). Forged deliveries on the same
 * endpoint are refused and never stored.
 */
import { randomBytes } from 'node:crypto';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { decodeId } from '../../domain/ids.js';
import { startTestApp, type TestApp } from '../helpers/app.js';
import { INITIATE } from '../services/payments/replicas.js';

const PAYMENT = 'query($id: ID!) { payment(id: $id) { id status events { status source } } }';

describe('payments settled by webhooks', { timeout: 180_000 }, () => {
  let app: TestApp;

  beforeAll(async () => {
    app = await startTestApp({
      sandboxes: { stripe: { webhooks: { duplicateRate: 0.5, maxJitterMs: 200 } } },
      customers: ['cust_alice'],
    });
  }, 180_000);
  afterAll(async () => app?.close());

  async function statusOf(
    id: string,
  ): Promise<{ status: string; events: { status: string; source: string }[] }> {
    const answer = await app.graphql(PAYMENT, { id });
    return answer.body.data?.payment as { status: string; events: { status: string; source: string }[] };
  }

  it('reaches SETTLED through webhooks alone', async () => {
    const initiated = await app.graphql(INITIATE, {
      input: {
        paymentMethodId: 'pm_sandbox_processing',
        amount: { amount: '12.34', currency: 'GBP' },
        reference: 'Webhook e2e',
      },
      key: `webhooks-e2e-${randomBytes(8).toString('hex')}`,
    });
    expect(initiated.body.errors).toBeUndefined();
    const payment = (initiated.body.data?.initiatePayment as { payment: { id: string; status: string } })
      .payment;
    expect(payment.status).toBe('PROCESSING');
    const intentId = decodeId(payment.id, 'Payment')!.partnerId;

    // The card network settles the charge at the partner; Tributary is told only by webhook.
    const settled = await fetch(
      `${app.sandboxes.stripe!.handle.url}/__sandbox/stripe/payment_intents/${intentId}/status`,
      { method: 'POST', headers: { 'content-type': 'application/json' }, body: '{"status":"succeeded"}' },
    );
    expect(settled.status).toBe(200);

    const deadline = Date.now() + 60_000;
    let current = await statusOf(payment.id);
    while (current.status !== 'SETTLED' && Date.now() < deadline) {
      await new Promise((resolve) => setTimeout(resolve, 200));
      current = await statusOf(payment.id);
    }
    expect(current.status).toBe('SETTLED');
    expect(current.events.find((event) => event.status === 'SETTLED')?.source).toBe('WEBHOOK');

    const sandboxStats = await fetch(
      `${app.sandboxes.stripe!.handle.url}/__sandbox/stripe/webhook_endpoints`,
    );
    expect(((await sandboxStats.json()) as { delivered: number }).delivered).toBeGreaterThanOrEqual(1);
    await app.server.services.webhooks.worker.drain();
    const inbox = await app.server.services.webhooks.repository.list({ limit: 100, provider: 'stripe' });
    expect(inbox.length).toBeGreaterThanOrEqual(1);
    expect(inbox.every((event) => event.verification === 'stripe-signature-v1')).toBe(true);
    expect(inbox.filter((event) => event.status === 'dead')).toEqual([]);
  });

  it('refuses forged deliveries: zero stored, zero processed', async () => {
    // The inbox may still be working on the earlier tests' genuine events, so this looks for the forged
    // event itself rather than comparing counts by status.
    const stored = async () =>
      (await app.server.services.webhooks.repository.list({ limit: 1000, provider: 'stripe' })).filter(
        (event) => event.partnerEventId === 'evt_forged',
      );
    const body = JSON.stringify({
      id: 'evt_forged',
      type: 'payment_intent.succeeded',
      data: { object: { id: 'pi_x' } },
    });
    const t = Math.floor(Date.now() / 1000);
    for (const signature of [
      `t=${t},v1=${'ab'.repeat(32)}`,
      `t=${t - 3600},v1=${'cd'.repeat(32)}`,
      undefined,
    ]) {
      const response = await fetch(`${app.url}/webhooks/stripe`, {
        method: 'POST',
        headers: {
          'content-type': 'application/json',
          ...(signature ? { 'stripe-signature': signature } : {}),
        },
        body,
      });
      expect([400, 401]).toContain(response.status);
    }
    expect(await stored()).toEqual([]);
  });
});
