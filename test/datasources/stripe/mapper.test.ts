import { readFileSync } from 'node:fs';
import { pino } from 'pino';
import { describe, expect, it } from 'vitest';
import { decodeId } from '../../../domain/ids.js';
import { formatDecimal, money } from '../../../domain/money.js';
import { decode } from '../../../datasources/stripe/errors.js';
import {
  DISPUTE_EFFECT,
  fromStripeAmount,
  INTENT_STATUS,
  mapPayment,
  REFUND_STATUS,
  toStripeAmount,
  type PaymentBundle,
} from '../../../datasources/stripe/mapper.js';
import {
  chargeSchema,
  customerSchema,
  disputeSchema,
  errorResponseSchema,
  paymentIntentSchema,
  refundSchema,
} from '../../../datasources/stripe/types.js';
import { PartnerError } from '../../../domain/errors.js';

const ctx = {
  logger: pino({ level: 'silent' }),
  correlationId: 'corr-mapper',
  endpoint: 'GET /v1/payment_intents/{id}',
};

function raw(name: string): { intent: unknown; refunds: unknown[]; disputes: unknown[] } {
  return JSON.parse(
    readFileSync(new URL(`../../fixtures/stripe/payments/${name}.json`, import.meta.url), 'utf8'),
  );
}

function bundle(name: string): PaymentBundle {
  const wire = raw(name);
  return {
    intent: decode(paymentIntentSchema, wire.intent, ctx),
    refunds: wire.refunds.map((refund) => decode(refundSchema, refund, ctx)),
    disputes: wire.disputes.map((dispute) => decode(disputeSchema, dispute, ctx)),
  };
}

const map = (name: string) => mapPayment(bundle(name), ctx);

describe('Stripe mapper: PaymentIntent status', () => {
  it.each([
    ['requires_payment_method', 'PENDING'],
    ['requires_confirmation', 'PENDING'],
    ['requires_action', 'REQUIRES_ACTION'],
    ['processing', 'PROCESSING'],
    ['requires_capture', 'AUTHORISED'],
    ['succeeded', 'SETTLED'],
    ['canceled', 'CANCELLED'],
    ['declined_generic', 'FAILED'],
    ['declined_insufficient_funds', 'FAILED'],
    ['partially_refunded', 'PARTIALLY_REFUNDED'],
    ['refunded', 'REFUNDED'],
  ])('maps the recorded %s payment to %s', (name, status) => {
    expect(map(name).status).toBe(status);
  });

  it('covers every Stripe status in one total table', () => {
    expect(Object.keys(INTENT_STATUS).sort()).toEqual(
      paymentIntentSchema.shape.status.options.slice().sort(),
    );
    expect(Object.keys(REFUND_STATUS).sort()).toEqual(refundSchema.shape.status.options.slice().sort());
    expect(Object.keys(DISPUTE_EFFECT).sort()).toEqual(disputeSchema.shape.status.options.slice().sort());
  });

  it('rejects a status Stripe does not document as a contract violation', () => {
    const wire = raw('succeeded');
    (wire.intent as Record<string, unknown>).status = 'teleported';
    expect(() => decode(paymentIntentSchema, wire.intent, ctx)).toThrow(PartnerError);
  });

  it('carries id, owner, amount in minor units, reference and the timeline of a settled payment', () => {
    const wire = bundle('succeeded');
    const payment = mapPayment(wire, ctx);
    expect(decodeId(payment.id, 'Payment')).toEqual({
      kind: 'Payment',
      provider: 'stripe',
      partnerId: wire.intent.id,
    });
    expect(payment).toMatchObject({
      provider: 'stripe',
      partnerId: wire.intent.id,
      ownerId: 'cust_alice',
      amount: { minor: 2500n, currency: 'GBP' },
      reference: 'Recorded gbp 2500',
      debtorAccountId: null,
      failureReason: null,
      nextAction: null,
      refunds: [],
    });
    expect(payment.createdAt).toEqual(new Date(wire.intent.created * 1000));
    expect(payment.events.map((event) => event.status)).toEqual(['PENDING', 'SETTLED']);
  });

  it('a fresh PaymentIntent is PENDING with no failure', () => {
    expect(map('requires_payment_method')).toMatchObject({
      status: 'PENDING',
      failureReason: null,
      nextAction: null,
    });
  });

  it('exposes the 3-D Secure redirect as nextAction', () => {
    const payment = map('requires_action');
    expect(payment.nextAction).toEqual({
      type: 'THREE_D_SECURE',
      url: expect.stringMatching(/^http:\/\/127\.0\.0\.1:\d+\/__sandbox\/stripe\/authenticate\/pi_/),
    });
  });

  it('requires_action without a next_action is a contract violation', () => {
    const wire = bundle('requires_action');
    expect(() => mapPayment({ ...wire, intent: { ...wire.intent, next_action: null } }, ctx)).toThrow(
      PartnerError,
    );
  });
});

describe('Stripe mapper: declines', () => {
  it('a generic decline is FAILED with reason DECLINED and the decline code in the history', () => {
    const payment = map('declined_generic');
    expect(payment.failureReason).toBe('DECLINED');
    expect(payment.events.at(-1)).toMatchObject({ status: 'FAILED', detail: 'decline:generic_decline' });
  });

  it('insufficient funds is FAILED with reason INSUFFICIENT_FUNDS', () => {
    expect(map('declined_insufficient_funds').failureReason).toBe('INSUFFICIENT_FUNDS');
  });

  it("the 402 card_error body matches Stripe's error object and carries the PaymentIntent", () => {
    const body = JSON.parse(
      readFileSync(
        new URL('../../fixtures/stripe/payments/error_card_declined.json', import.meta.url),
        'utf8',
      ),
    );
    const parsed = errorResponseSchema.parse(body);
    expect(parsed.error).toMatchObject({
      type: 'card_error',
      code: 'card_declined',
      decline_code: 'insufficient_funds',
    });
    expect(decode(paymentIntentSchema, parsed.error.payment_intent, ctx).status).toBe(
      'requires_payment_method',
    );
  });
});

describe('Stripe mapper: refunds and disputes', () => {
  it('a partial refund is PARTIALLY_REFUNDED with the refund listed', () => {
    const payment = map('partially_refunded');
    expect(payment.refunds).toEqual([
      expect.objectContaining({ amount: { minor: 3000n, currency: 'GBP' }, status: 'SUCCEEDED' }),
    ]);
    expect(payment.events.at(-1)).toMatchObject({ status: 'PARTIALLY_REFUNDED', detail: 'refund:succeeded' });
  });

  it('refunds adding up to the amount make it REFUNDED, step by step in the history', () => {
    const payment = map('refunded');
    expect(payment.refunds.map((refund) => refund.amount.minor).sort()).toEqual([1000n, 2000n]);
    expect(payment.events.map((event) => event.status)).toEqual([
      'PENDING',
      'SETTLED',
      'PARTIALLY_REFUNDED',
      'REFUNDED',
    ]);
  });

  it('an open chargeback keeps the payment SETTLED and records it', () => {
    const payment = map('dispute_open');
    expect(payment.status).toBe('SETTLED');
    expect(payment.events.at(-1)).toMatchObject({ status: 'SETTLED', detail: 'dispute:needs_response' });
  });

  it('a won dispute keeps the payment SETTLED', () => {
    const payment = map('dispute_won');
    expect(payment.status).toBe('SETTLED');
    expect(payment.events.at(-1)).toMatchObject({ status: 'SETTLED', detail: 'dispute:won' });
  });

  it('a lost dispute returns the money: REFUNDED', () => {
    const payment = map('dispute_lost');
    expect(payment.status).toBe('REFUNDED');
    expect(payment.events.at(-1)).toMatchObject({ status: 'REFUNDED', detail: 'dispute:lost' });
  });

  it('a lost dispute over part of the amount is PARTIALLY_REFUNDED', () => {
    const wire = bundle('dispute_lost');
    const dispute = wire.disputes[0];
    if (!dispute) throw new Error('fixture has no dispute');
    const partial = { ...wire, disputes: [{ ...dispute, amount: 5000 }] };
    expect(mapPayment(partial, ctx).status).toBe('PARTIALLY_REFUNDED');
  });

  it('a refund of another PaymentIntent is a contract violation', () => {
    const wire = bundle('partially_refunded');
    const refund = wire.refunds[0];
    if (!refund) throw new Error('fixture has no refund');
    expect(() => mapPayment({ ...wire, refunds: [{ ...refund, payment_intent: 'pi_other' }] }, ctx)).toThrow(
      PartnerError,
    );
  });
});

describe('Stripe mapper: money', () => {
  it('keeps JPY amounts as whole yen (zero-decimal)', () => {
    const payment = map('jpy');
    expect(payment.amount).toEqual({ minor: 5000n, currency: 'JPY' });
    expect(formatDecimal(payment.amount)).toBe('5000');
  });

  it("converts Stripe's special cases: ISK is sent with two decimals, MGA with none", () => {
    expect(fromStripeAmount(50000, 'isk')).toEqual(money(500, 'ISK'));
    expect(() => fromStripeAmount(50050, 'isk')).toThrow();
    expect(fromStripeAmount(500, 'mga')).toEqual(money(50000, 'MGA'));
    expect(toStripeAmount(money(500, 'ISK'))).toEqual({ amount: 50000, currency: 'isk' });
    expect(toStripeAmount(money(1099, 'GBP'))).toEqual({ amount: 1099, currency: 'gbp' });
    expect(toStripeAmount(money(1234, 'BHD'))).toEqual({ amount: 1234, currency: 'bhd' });
    expect(() => toStripeAmount(money(150, 'MGA'))).toThrow();
    expect(() => toStripeAmount(money(0, 'GBP'))).toThrow();
  });

  it('a currency that is not ISO 4217 is a contract violation', () => {
    const wire = bundle('succeeded');
    expect(() => mapPayment({ ...wire, intent: { ...wire.intent, currency: 'xts' } }, ctx)).toThrow(
      PartnerError,
    );
  });
});

describe('Stripe mapper: contract', () => {
  it('a PaymentIntent missing a required field is a contract violation naming the field', () => {
    const wire = raw('succeeded');
    delete (wire.intent as Record<string, unknown>).amount;
    let caught: unknown;
    try {
      decode(paymentIntentSchema, wire.intent, ctx);
    } catch (error) {
      caught = error;
    }
    expect(caught).toBeInstanceOf(PartnerError);
    expect(caught).toMatchObject({
      code: 'PARTNER_CONTRACT_VIOLATION',
      partner: 'stripe',
      issues: [expect.stringMatching(/^amount:/)],
    });
  });

  it('a PaymentIntent without our subject in metadata cannot be mapped', () => {
    const wire = bundle('succeeded');
    expect(() => mapPayment({ ...wire, intent: { ...wire.intent, metadata: {} } }, ctx)).toThrow(
      PartnerError,
    );
  });

  it("accepts Stripe's own example objects (fixtures3.json)", () => {
    const official = JSON.parse(
      readFileSync(new URL('../../fixtures/stripe/official.json', import.meta.url), 'utf8'),
    );
    expect(paymentIntentSchema.safeParse(official.payment_intent).success).toBe(true);
    expect(chargeSchema.safeParse(official.charge).success).toBe(true);
    expect(refundSchema.safeParse(official.refund).success).toBe(true);
    expect(disputeSchema.safeParse(official.dispute).success).toBe(true);
    expect(customerSchema.safeParse(official.customer).success).toBe(true);
  });
});
