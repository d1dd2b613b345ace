/**
 * Reconciliation against the real Stripe sandbox: a status change the subgraph was never told about
 * (its webhook worker is stopped) is found, applied forward only on request and only once; a partner
 * status the state machine cannot reach is reported and left alone; an unreachable partner judges
 * nothing; a payment the partner no longer has is reported.
 */
import { randomBytes } from 'node:crypto';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { decodeId } from '../../../domain/ids.js';
import { startTestApp, type TestApp } from '../../helpers/app.js';
import { INITIATE } from './replicas.js';

const PAYMENT = 'query($id: ID!) { payment(id: $id) { status events { status source } } }';

describe('reconciliation with the partner', { timeout: 180_000 }, () => {
  let app: TestApp;
  let stripeUrl: string;

  beforeAll(async () => {
    app = await startTestApp({ customers: ['cust_alice'] });
    stripeUrl = app.sandboxes.stripe!.handle.url;
    // Nothing but reconciliation may tell the ledger about partner-side changes in this file.
    await app.server.services.webhooks.worker.stop();
  }, 180_000);
  afterAll(async () => app?.close());

  const reconcile = (apply = false) =>
    app.server.services.payments.reconcile({ providers: ['stripe'], apply });

  async function initiate(): Promise<{ id: string; intentId: string }> {
    const answer = await app.graphql(INITIATE, {
      input: {
        paymentMethodId: 'pm_card_authenticationRequired',
        amount: { amount: '21.50', currency: 'GBP' },
        reference: 'Reconcile',
      },
      key: `reconcile-${randomBytes(8).toString('hex')}`,
    });
    expect(answer.body.errors).toBeUndefined();
    const payment = (answer.body.data?.initiatePayment as { payment: { id: string; status: string } })
      .payment;
    expect(payment.status).toBe('REQUIRES_ACTION');
    return { id: payment.id, intentId: decodeId(payment.id, 'Payment')!.partnerId };
  }

  async function movePartner(intentId: string, status: string): Promise<void> {
    const response = await fetch(`${stripeUrl}/__sandbox/stripe/payment_intents/${intentId}/status`, {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: JSON.stringify({ status }),
    });
    expect(response.status).toBe(200);
  }

  async function statusOf(id: string) {
    const answer = await app.graphql(PAYMENT, { id });
    return answer.body.data?.payment as { status: string; events: { status: string; source: string }[] };
  }

  it('reports a payment behind its partner, and applies it forward only when asked, once', async () => {
    const { id, intentId } = await initiate();
    expect((await reconcile()).discrepancies.filter((d) => d.paymentId === id)).toEqual([]);

    await movePartner(intentId, 'succeeded');
    const reported = (await reconcile()).discrepancies.filter((d) => d.paymentId === id);
    expect(reported).toEqual([
      expect.objectContaining({
        kind: 'behind',
        ours: 'REQUIRES_ACTION',
        partner: 'SETTLED',
        applied: false,
      }),
    ]);
    expect((await statusOf(id)).status).toBe('REQUIRES_ACTION');

    const applied = (await reconcile(true)).discrepancies.filter((d) => d.paymentId === id);
    expect(applied).toEqual([expect.objectContaining({ kind: 'behind', applied: true })]);
    const after = await statusOf(id);
    expect(after.status).toBe('SETTLED');
    expect(after.events.at(-1)).toEqual({ status: 'SETTLED', source: 'RECONCILIATION' });

    const again = await reconcile(true);
    expect(again.discrepancies.filter((d) => d.paymentId === id)).toEqual([]);
    expect((await statusOf(id)).events.filter((e) => e.source === 'RECONCILIATION')).toHaveLength(1);
  });

  it('reports a partner status the state machine cannot reach, and never applies it', async () => {
    const { id } = await initiate();
    // An operator marked it settled by mistake; the partner still waits for the customer.
    await app.server.services.payments.applyStatus(id, 'SETTLED', { source: 'OPERATOR' });

    const report = await reconcile(true);
    expect(report.discrepancies.filter((d) => d.paymentId === id)).toEqual([
      expect.objectContaining({
        kind: 'conflict',
        ours: 'SETTLED',
        partner: 'REQUIRES_ACTION',
        applied: false,
      }),
    ]);
    expect((await statusOf(id)).status).toBe('SETTLED');
  });

  it('judges nothing while the partner is unreachable', async () => {
    const { id } = await initiate();
    await fetch(`${stripeUrl}/__sandbox/faults`, {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: JSON.stringify([{ kind: 'status', status: 503 }]),
    });
    try {
      const report = await reconcile(true);
      const mine = report.discrepancies.filter((d) => d.paymentId === id);
      expect(mine).toEqual([expect.objectContaining({ kind: 'unreachable', applied: false })]);
      expect(report.checked).toBe(0);
      expect((await statusOf(id)).status).toBe('REQUIRES_ACTION');
    } finally {
      await fetch(`${stripeUrl}/__sandbox/faults`, { method: 'DELETE' });
    }
  });

  it('reports payments the partner no longer has', async () => {
    const { id } = await initiate();
    // A reset sandbox has forgotten every PaymentIntent created since it started.
    await fetch(`${stripeUrl}/__sandbox/reset`, { method: 'POST' });
    const report = await reconcile();
    expect(report.discrepancies.filter((d) => d.paymentId === id)).toEqual([
      expect.objectContaining({ kind: 'missing_at_partner', ours: 'REQUIRES_ACTION' }),
    ]);
  });

  it('reports an operation still holding its idempotency key long after its lease lapsed', async () => {
    // What a process that died mid-initiatePayment leaves behind: a running key, no recorded outcome.
    await app.server.services.payments.keys.claim({
      subject: 'cust_alice',
      mutation: 'initiatePayment',
      key: 'reconcile-died-mid-payment',
      fingerprint: 'f'.repeat(64),
      partnerKey: 'partner-key-died',
      leaseMs: 1,
      retentionMs: 86_400_000,
    });
    await new Promise((resolve) => setTimeout(resolve, 20));
    const fresh = await app.server.services.payments.reconcile({ providers: [], inDoubtAfterMs: 60_000 });
    expect(fresh.discrepancies).toEqual([]);
    const report = await app.server.services.payments.reconcile({ providers: [], inDoubtAfterMs: 0 });
    expect(report.discrepancies).toEqual([
      expect.objectContaining({ kind: 'in_doubt', subject: 'cust_alice', applied: false }),
    ]);
    expect(report.discrepancies[0]!.detail).toContain('reconcile-died-mid-payment');
  });
});
