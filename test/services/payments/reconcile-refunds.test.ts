/**
 * Reconciliation compares refunds, finds payments only the partner has (Stripe's list, paged) and honours
 * `since`, against the real Stripe sandbox: a refund made
 * at the partner that the ledger never heard of (the webhook worker is stopped) first shows as a status
 * behind the partner's, and once the status is caught up, as a refunded amount that differs; payments
 * created before `since` are not compared at all.
 */
import { randomBytes } from 'node:crypto';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { decodeId } from '../../../domain/ids.js';
import { STRIPE_SANDBOX_SECRET_KEY } from '../../../sandboxes/stripe/index.js';
import { parseSince } from '../../../cli/reconcile.js';
import { startTestApp, type TestApp } from '../../helpers/app.js';
import { INITIATE } from './replicas.js';

describe('reconciliation of refunds and --since', { timeout: 180_000 }, () => {
  let app: TestApp;
  let stripeUrl: string;

  beforeAll(async () => {
    app = await startTestApp({ customers: ['cust_alice'] });
    stripeUrl = app.sandboxes.stripe!.handle.url;
    await app.server.services.webhooks.worker.stop();
  }, 180_000);
  afterAll(async () => app?.close());

  async function settledPayment(): Promise<{ id: string; intentId: string }> {
    const answer = await app.graphql(INITIATE, {
      input: {
        paymentMethodId: 'pm_card_visa',
        amount: { amount: '20.00', currency: 'GBP' },
        reference: 'Reconcile refunds',
      },
      key: `reconcile-refund-${randomBytes(8).toString('hex')}`,
    });
    expect(answer.body.errors).toBeUndefined();
    const payment = (answer.body.data?.initiatePayment as { payment: { id: string; status: string } })
      .payment;
    expect(payment.status).toBe('SETTLED');
    return { id: payment.id, intentId: decodeId(payment.id, 'Payment')!.partnerId };
  }

  it('reports a refund made only at the partner as refund_mismatch once statuses agree', async () => {
    const { id, intentId } = await settledPayment();
    const clean = await app.server.services.payments.reconcile({ providers: ['stripe'] });
    expect(clean.discrepancies.filter((d) => d.paymentId === id)).toEqual([]);

    const refund = await fetch(`${stripeUrl}/v1/refunds`, {
      method: 'POST',
      headers: {
        authorization: `Bearer ${STRIPE_SANDBOX_SECRET_KEY}`,
        'content-type': 'application/x-www-form-urlencoded',
      },
      body: new URLSearchParams({ payment_intent: intentId, amount: '500' }).toString(),
    });
    expect(refund.status).toBe(200);

    const first = await app.server.services.payments.reconcile({ providers: ['stripe'], apply: true });
    expect(first.discrepancies.filter((d) => d.paymentId === id)).toEqual([
      expect.objectContaining({ kind: 'behind', partner: 'PARTIALLY_REFUNDED', applied: true }),
    ]);
    const second = await app.server.services.payments.reconcile({ providers: ['stripe'], apply: true });
    const mine = second.discrepancies.filter((d) => d.paymentId === id);
    expect(mine).toEqual([
      expect.objectContaining({
        kind: 'refund_mismatch',
        ours: 'PARTIALLY_REFUNDED',
        partner: 'PARTIALLY_REFUNDED',
        applied: false,
      }),
    ]);
    expect(mine[0]!.detail).toBe('refunded: ours 0 GBP, partner 500 GBP');
  });

  it('reports an amount the ledger and the partner disagree on as amount_mismatch, never applied', async () => {
    const { id, intentId } = await settledPayment();
    // The ledger drifts from the partner (a bug, a bad migration): it now says 21.00 for a 20.00 charge.
    await app.server.services.db.query('UPDATE payments SET amount_minor = 2100 WHERE partner_id = $1', [
      intentId,
    ]);
    const report = await app.server.services.payments.reconcile({ providers: ['stripe'], apply: true });
    expect(report.discrepancies.filter((d) => d.paymentId === id)).toEqual([
      expect.objectContaining({ kind: 'amount_mismatch', applied: false }),
    ]);
  });

  it('compares only payments created since the given time', async () => {
    const { id } = await settledPayment();
    const all = await app.server.services.payments.reconcile({ providers: ['stripe'] });
    expect(all.checked).toBeGreaterThan(0);
    const future = await app.server.services.payments.reconcile({
      providers: ['stripe'],
      since: new Date(Date.now() + 60_000),
    });
    expect(future.checked).toBe(0);
    expect(future.discrepancies.filter((d) => d.paymentId === id)).toEqual([]);
    const recent = await app.server.services.payments.reconcile({
      providers: ['stripe'],
      since: parseSince('1h'),
    });
    expect(recent.checked).toBeGreaterThan(0);
  });

  it('finds payments at the partner the ledger never recorded, paging through the list', async () => {
    await settledPayment();
    await settledPayment();
    const created = await fetch(`${stripeUrl}/v1/payment_intents`, {
      method: 'POST',
      headers: {
        authorization: `Bearer ${STRIPE_SANDBOX_SECRET_KEY}`,
        'content-type': 'application/x-www-form-urlencoded',
      },
      body: new URLSearchParams({ amount: '1234', currency: 'gbp' }).toString(),
    });
    expect(created.status).toBe(200);
    const stray = ((await created.json()) as { id: string }).id;
    await settledPayment();

    for (const listPageSize of [1, 100]) {
      const report = await app.server.services.payments.reconcile({ providers: ['stripe'], listPageSize });
      const only = report.discrepancies.filter((d) => d.kind === 'partner_only');
      expect(only).toEqual([
        expect.objectContaining({ provider: 'stripe', paymentId: null, ours: null, applied: false }),
      ]);
      expect(only[0]!.detail).toContain(stray);
      expect(only[0]!.detail).toContain('1234 GBP');
    }
    // Created before `since`: not listed.
    const later = await app.server.services.payments.reconcile({
      providers: ['stripe'],
      since: new Date(Date.now() + 60_000),
    });
    expect(later.discrepancies.filter((d) => d.kind === 'partner_only')).toEqual([]);
    // The sandbox's seeded history predates the ledger's first payment: never reported.
    const seeded = await app.server.services.payments.reconcile({ providers: ['stripe'] });
    expect(seeded.discrepancies.some((d) => d.detail.includes('pi_Seed'))).toBe(false);
  });

  it('parses --since as an ISO date or a duration back from now', () => {
    const now = new Date('2026-01-10T12:00:00Z');
    expect(parseSince('24h', now)?.toISOString()).toBe('2026-01-09T12:00:00.000Z');
    expect(parseSince('7d', now)?.toISOString()).toBe('2026-01-03T12:00:00.000Z');
    expect(parseSince('30m', now)?.toISOString()).toBe('2026-01-10T11:30:00.000Z');
    expect(parseSince('2026-01-01T00:00:00Z', now)?.toISOString()).toBe('2026-01-01T00:00:00.000Z');
    expect(parseSince('2026-01-01', now)?.toISOString()).toBe('2026-01-01T00:00:00.000Z');
    expect(parseSince('yesterday', now)).toBeNull();
    expect(parseSince('24', now)).toBeNull();
  });
});
