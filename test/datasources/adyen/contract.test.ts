/**
 * Garbage from Adyen is a typed contract violation, never a payment: a broken or non-JSON answer, a
 * resultCode no card payment has, a notification about other money. Outages map to retryable partner
 * errors, and a notification signed with a key we do not hold (the sandbox rotated away) is refused.
 */
import { describe, expect, it } from 'vitest';
import { PartnerError } from '../../../domain/errors.js';
import { mapPayment, type AdyenPaymentRecord } from '../../../datasources/adyen/mapper.js';
import { fromAdyenError, AdyenHttpError } from '../../../datasources/adyen/errors.js';
import { cardPayment, ctx, eventually, failure, logger, useAdyenHarness } from './harness.js';

const h = useAdyenHarness();
const where = { logger, correlationId: 'c', endpoint: 'getPayments' };

const record = (overrides: Partial<AdyenPaymentRecord> = {}): AdyenPaymentRecord => ({
  pspReference: 'PSP0000000000001',
  merchantReference: 'tribk_1',
  amount: { value: 1000, currency: 'EUR' },
  reference: 'Order',
  creditorName: null,
  createdAt: '2026-12-06T03:00:00Z',
  updatedAt: '2026-12-06T03:00:00Z',
  answeredAt: '2026-12-06T03:00:00Z',
  resultCode: 'Authorised',
  refusalReason: null,
  refusalReasonCode: null,
  action: null,
  refunds: [],
  cancelRequestedAt: null,
  ...overrides,
});

function violation(error: unknown): string[] {
  expect(error).toBeInstanceOf(PartnerError);
  expect((error as PartnerError).code).toBe('PARTNER_CONTRACT_VIOLATION');
  return (error as PartnerError).issues ?? [];
}

describe('Adyen contract violations', { timeout: 60_000 }, () => {
  it('refuses a payment answer broken on the wire', async () => {
    h.sandbox.setFaults([{ match: 'POST /v71/payments', kind: 'contract', times: 1 }]);
    const issues = violation(await failure(h.payments.createPayment(ctx('cust_alice'), cardPayment('visa'))));
    expect(issues.length).toBeGreaterThan(0);
  });

  it('refuses an answer that is not JSON', async () => {
    h.sandbox.setFaults([{ match: 'POST /v71/payments', kind: 'malformed', times: 1 }]);
    expect(
      violation(await failure(h.payments.createPayment(ctx('cust_alice'), cardPayment('visa')))),
    ).toEqual(['(body): not JSON']);
  });

  it('maps an outage to a retryable PARTNER_UNAVAILABLE and a 429 to PARTNER_RATE_LIMITED', async () => {
    h.sandbox.setFaults([{ match: 'POST /v71/payments', kind: 'status', status: 503 }]);
    const down = await failure(h.payments.createPayment(ctx('cust_alice'), cardPayment('visa')));
    expect(down).toMatchObject({ code: 'PARTNER_UNAVAILABLE', retryable: true });
    h.sandbox.setFaults([]);
    const limited = fromAdyenError(new AdyenHttpError(429, '{}', { 'retry-after': '3' }), {
      endpoint: 'POST /payments',
      resource: 'Payment',
    });
    expect(limited).toMatchObject({ code: 'PARTNER_RATE_LIMITED', retryAfterSeconds: 3 });
  });

  it('refuses a resultCode no card payment has, and an action no card payment takes', () => {
    expect(
      violation(failureOf(() => mapPayment('s', record({ resultCode: 'PresentToShopper' }), [], where))),
    ).toEqual(['resultCode: PresentToShopper is no card-payment outcome']);
    const voucher = record({ resultCode: 'RedirectShopper', action: { type: 'voucher' } });
    expect(violation(failureOf(() => mapPayment('s', voucher, [], where)))).toEqual([
      'action.type: voucher is no card-payment action',
    ]);
  });

  it('refuses a notification about other money than the payment', () => {
    const item = {
      pspReference: 'PSP0000000000001',
      merchantAccountCode: 'TributaryECOM',
      merchantReference: 'tribk_1',
      eventCode: 'AUTHORISATION',
      eventDate: '2026-12-06T03:00:01Z',
      amount: { value: 999_999, currency: 'EUR' },
      success: 'true' as const,
    };
    const issues = violation(failureOf(() => mapPayment('s', record(), [item], where)));
    expect(issues.join(' ')).toContain('amount.value');
  });

  it('refuses deliveries signed with a key it does not hold once the sandbox rotates to it', async () => {
    const payment = await h.payments.createPayment(ctx('cust_alice'), cardPayment('visa'));
    await h.settle();
    const before = h.deliveries.length;
    const url = (await (await fetch(`${h.sandbox.url}/__sandbox/adyen/webhooks`)).json()) as {
      endpoints: string[];
    };
    await h.control('/__sandbox/adyen/hmac_key', { hmacKey: 'AB'.repeat(32), url: url.endpoints[0] });
    await h.payments.refundPayment(ctx('cust_alice'), payment.partnerId, null, `tribk_rotated_${Date.now()}`);
    const refused = await eventually(
      async () => h.deliveries.slice(before),
      (results) => results.some((result) => !result.ok),
    );
    expect(refused.find((result) => !result.ok)).toMatchObject({ reason: 'bad_signature' });
  });
});

function failureOf(fn: () => unknown): unknown {
  try {
    fn();
  } catch (error) {
    return error;
  }
  throw new Error('expected a failure');
}
