/**
 * Stripe disputes: dispute events name the Dispute (resource kind `dispute`), the mapper turns Stripe's
 * reasons and statuses into the canonical sets (an unknown reason is a contract violation, never a
 * silent default), and the provider pulls a dispute by id from the sandbox through the official SDK.
 */
import { readFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import { DISPUTE_REASON, DISPUTE_STATUS, mapDispute } from '../../../datasources/stripe/mapper.js';
import { DISPUTE_REASONS, DISPUTE_STATUSES, disputeSchema } from '../../../datasources/stripe/types.js';
import { normaliseStripeEvent } from '../../../datasources/stripe/webhook.js';
import { STRIPE_SANDBOX_SECRET_KEY } from '../../../sandboxes/stripe/index.js';
import { cardPayment, ctx, key, logger, useStripeHarness } from './harness.js';

const official = JSON.parse(
  readFileSync(new URL('../../fixtures/stripe/official.json', import.meta.url), 'utf8'),
) as { dispute: Record<string, unknown> };
const where = { logger, correlationId: 'corr-dispute', endpoint: 'GET /v1/disputes/{id}' };
const READ_AT = new Date('2026-01-15T12:00:00Z');

function wire(overrides: Record<string, unknown> = {}) {
  return disputeSchema.parse({ ...official.dispute, payment_intent: 'pi_disputed', ...overrides });
}

describe('Stripe dispute events', () => {
  it.each(['charge.dispute.created', 'charge.dispute.updated', 'charge.dispute.closed'])(
    '%s names the dispute, not the PaymentIntent',
    (type) => {
      const body = {
        id: 'evt_d',
        type,
        created: 1,
        data: { object: { id: 'dp_9', payment_intent: 'pi_9' } },
      };
      expect(normaliseStripeEvent(Buffer.from(JSON.stringify(body)))?.resource).toEqual({
        kind: 'dispute',
        partnerId: 'dp_9',
      });
    },
  );
});

describe('Stripe dispute mapping', () => {
  it('maps every Stripe status and reason (the tables are total)', () => {
    expect(Object.keys(DISPUTE_STATUS).sort()).toEqual([...DISPUTE_STATUSES].sort());
    expect(Object.keys(DISPUTE_REASON).sort()).toEqual([...DISPUTE_REASONS].sort());
  });

  it("maps Stripe's example dispute: amount, reason, status, deadline and its PaymentIntent", () => {
    const dispute = mapDispute(wire({ status: 'needs_response', reason: 'fraudulent' }), where, READ_AT);
    expect(dispute).toEqual({
      id: official.dispute.id,
      provider: 'stripe',
      partnerId: official.dispute.id,
      partnerPaymentId: 'pi_disputed',
      amount: { minor: 1000n, currency: 'USD' },
      reason: 'FRAUDULENT',
      status: 'NEEDS_RESPONSE',
      evidenceDueBy: new Date(1723679999 * 1000),
      openedAt: new Date(1234567890 * 1000),
      updatedAt: READ_AT,
    });
  });

  it('keeps no evidence deadline once the dispute is answered or decided', () => {
    for (const status of ['under_review', 'won', 'lost', 'warning_closed']) {
      expect(mapDispute(wire({ status }), where, READ_AT).evidenceDueBy).toBeNull();
    }
  });

  it('refuses a reason Stripe added after this mapping as a contract violation', () => {
    expect(() => mapDispute(wire({ reason: 'brand_new_reason' }), where, READ_AT)).toThrow(
      expect.objectContaining({ code: 'PARTNER_CONTRACT_VIOLATION' }),
    );
  });
});

describe('StripePayments.getDispute against the sandbox', () => {
  const harness = useStripeHarness();

  it('pulls a dispute by id, with the PaymentIntent it belongs to', async () => {
    const created = await harness.provider.payments.createCardPayment(
      ctx('cust_alice'),
      cardPayment({ paymentMethodId: 'pm_card_createDispute', partnerIdempotencyKey: key() }),
    );
    const list = await fetch(
      `${harness.sandbox.url}/v1/disputes?payment_intent=${created.payment.partnerId}`,
      {
        headers: { authorization: `Bearer ${STRIPE_SANDBOX_SECRET_KEY}` },
      },
    );
    const [disputeWire] = ((await list.json()) as { data: { id: string }[] }).data;
    expect(disputeWire).toBeDefined();
    const dispute = await harness.provider.payments.getDispute(ctx('system:webhooks'), disputeWire!.id);
    expect(dispute).toMatchObject({
      id: disputeWire!.id,
      partnerPaymentId: created.payment.partnerId,
      reason: 'FRAUDULENT',
      status: 'NEEDS_RESPONSE',
      amount: { minor: 2599n, currency: 'GBP' },
    });
  });

  it('answers null for a dispute Stripe does not have, and for an id that is not a dispute id', async () => {
    expect(await harness.provider.payments.getDispute(ctx('system:webhooks'), 'dp_missing000')).toBeNull();
    expect(await harness.provider.payments.getDispute(ctx('system:webhooks'), 'pi_notADispute')).toBeNull();
  });
});
