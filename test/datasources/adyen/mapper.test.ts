/**
 * The Adyen fold, from recorded notification items: the synchronous answer, then each verified item in
 * event order. Cancellations, refund outcomes, expired offers and disputes each move the canonical
 * payment the way mapper.ts says, whatever order the items arrived in.
 */
import { pino } from 'pino';
import { describe, expect, it } from 'vitest';
import { mapPayment, type AdyenPaymentRecord } from '../../../datasources/adyen/mapper.js';
import type { WireNotificationItem } from '../../../datasources/adyen/types.js';
import { money } from '../../../domain/money.js';

const where = { logger: pino({ level: 'silent' }), correlationId: 'c', endpoint: 'getPayments' };
const PSP = 'PSP0000000000001';
const record = (overrides: Partial<AdyenPaymentRecord> = {}): AdyenPaymentRecord => ({
  pspReference: PSP,
  merchantReference: 'tribk_1',
  amount: { value: 1000, currency: 'EUR' },
  reference: 'Order',
  creditorName: 'Shop',
  createdAt: '2026-12-06T03:00:00Z',
  updatedAt: '2026-12-06T03:00:00Z',
  answeredAt: '2026-12-06T03:00:01Z',
  resultCode: 'Authorised',
  refusalReason: null,
  refusalReasonCode: null,
  action: null,
  refunds: [],
  cancelRequestedAt: null,
  ...overrides,
});
let second = 10;
const item = (overrides: Partial<WireNotificationItem>): WireNotificationItem => ({
  pspReference: PSP,
  merchantAccountCode: 'TributaryECOM',
  merchantReference: 'tribk_1',
  eventCode: 'AUTHORISATION',
  eventDate: `2026-12-06T03:00:${String(++second).padStart(2, '0')}Z`,
  amount: { value: 1000, currency: 'EUR' },
  success: 'true',
  ...overrides,
});
const fold = (r: AdyenPaymentRecord, items: WireNotificationItem[]) =>
  mapPayment('cust_alice', r, items, where);

describe('the Adyen fold', () => {
  const challenge = record({
    resultCode: 'ChallengeShopper',
    action: { type: 'threeDS2', paymentData: 'x' },
  });

  it('settles a payment awaiting 3-D Secure when AUTHORISATION says so, and fails it when it refuses', () => {
    expect(fold(challenge, [item({})]).status).toBe('SETTLED');
    const refused = fold(challenge, [item({ success: 'false', reason: 'Not enough balance' })]);
    expect(refused).toMatchObject({ status: 'FAILED', failureReason: 'INSUFFICIENT_FUNDS' });
  });

  it('cancels a payment not yet authorised on CANCELLATION, and never a settled one', () => {
    const cancel = item({ eventCode: 'CANCELLATION', pspReference: 'MOD1', originalReference: PSP });
    expect(fold(challenge, [cancel]).status).toBe('CANCELLED');
    expect(fold(record(), [cancel]).status).toBe('SETTLED');
  });

  it('fails an abandoned 3-D Secure on OFFER_CLOSED as AUTHENTICATION_FAILED', () => {
    expect(fold(challenge, [item({ eventCode: 'OFFER_CLOSED' })])).toMatchObject({
      status: 'FAILED',
      failureReason: 'AUTHENTICATION_FAILED',
    });
  });

  it('decides a requested refund by its notification, whatever order the items came in', () => {
    const asked = record({
      refunds: [
        { pspReference: 'RF1', amount: { value: 400, currency: 'EUR' }, requestedAt: '2026-12-06T03:00:05Z' },
      ],
    });
    const failed = item({
      eventCode: 'REFUND',
      pspReference: 'RF1',
      originalReference: PSP,
      success: 'false',
    });
    expect(fold(asked, []).status).toBe('PARTIALLY_REFUNDED');
    const afterFailure = fold(asked, [failed]);
    expect(afterFailure.status).toBe('SETTLED');
    expect(afterFailure.refunds).toEqual([
      expect.objectContaining({ status: 'FAILED', amount: money(400, 'EUR') }),
    ]);
    const ok = item({
      eventCode: 'REFUND',
      pspReference: 'RF2',
      originalReference: PSP,
      amount: { value: 600, currency: 'EUR' },
    });
    expect(fold(asked, [ok]).status).toBe('REFUNDED');
  });

  it('leaves a payment SETTLED while a chargeback is open, and counts it returned once lost', () => {
    const dispute = { pspReference: 'DSP1', originalReference: PSP, amount: { value: 300, currency: 'EUR' } };
    const opened = [
      item({ ...dispute, eventCode: 'NOTIFICATION_OF_CHARGEBACK' }),
      item({ ...dispute, eventCode: 'CHARGEBACK' }),
    ];
    expect(fold(record(), opened).status).toBe('SETTLED');
    const lost = [...opened, item({ ...dispute, eventCode: 'SECOND_CHARGEBACK' })];
    expect(fold(record(), [...lost].reverse()).status).toBe('PARTIALLY_REFUNDED');
    const won = [...opened, item({ ...dispute, eventCode: 'CHARGEBACK_REVERSED' })];
    expect(fold(record(), won).status).toBe('SETTLED');
  });

  it('acknowledges event codes outside the published list without touching the payment', () => {
    const payment = fold(record(), [item({ eventCode: 'SOMETHING_NEW' })]);
    expect(payment.status).toBe('SETTLED');
    expect(payment.events.map((event) => event.source)).toEqual(['API', 'API']);
  });
});
