/**
 * The Adyen sandbox's ledger and kit faults: the payments it made are listed with their idempotency
 * keys and outcomes (what routing tests assert "one successful charge per key" from), a retry after a
 * cut-off answer replays the charge instead of making another, and the `contract` fault breaks the
 * answer the way a client must notice.
 */
import { randomUUID } from 'node:crypto';
import { afterAll, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import {
  ADYEN_SANDBOX_MERCHANT_ACCOUNT,
  ADYEN_TEST_METHODS,
  startAdyenSandbox,
  type AdyenLedgerSnapshot,
  type AdyenSandboxHandle,
} from '../../sandboxes/adyen/index.js';
import { adyenCheckout } from './adyen-client.js';

describe('adyen sandbox: ledger and faults', () => {
  let sandbox: AdyenSandboxHandle;
  let api: ReturnType<typeof adyenCheckout>['checkout'];
  const body = (reference: string) => ({
    amount: { value: 777, currency: 'USD' },
    reference,
    merchantAccount: ADYEN_SANDBOX_MERCHANT_ACCOUNT,
    returnUrl: 'https://tributary.test/return',
    paymentMethod: ADYEN_TEST_METHODS.mastercard as never,
  });

  beforeAll(async () => {
    sandbox = await startAdyenSandbox();
    api = adyenCheckout(sandbox.url).checkout;
  });
  afterAll(async () => {
    await sandbox?.close();
  });
  beforeEach(() => sandbox.resetLedger());

  it('lists each payment with its key, outcome and amounts, also on GET /__sandbox/ledger', async () => {
    const key = randomUUID();
    const paid = await api.PaymentsApi.payments(body('ledger-1'), { idempotencyKey: key });
    await api.PaymentsApi.payments({ ...body('ledger-2'), paymentMethod: ADYEN_TEST_METHODS.fraud as never });
    const expected = [
      {
        pspReference: paid.pspReference,
        merchantReference: 'ledger-1',
        idempotencyKey: key,
        resultCode: 'Authorised',
        status: 'captured',
        amount: { value: 777, currency: 'USD' },
        captured: 777,
        refunded: 0,
      },
      expect.objectContaining({ merchantReference: 'ledger-2', idempotencyKey: null, resultCode: 'Refused' }),
    ];
    expect(sandbox.ledger().payments).toEqual(expected);
    const remote = (await (await fetch(`${sandbox.url}/__sandbox/ledger`)).json()) as AdyenLedgerSnapshot;
    expect(remote.payments).toEqual(expected);
    expect(remote.movements.map((m) => [m.id, m.kind, m.amount, m.currency])).toEqual([
      [paid.pspReference, 'payment', '777', 'USD'],
      [expect.any(String), 'payment', '777', 'USD'],
    ]);
  });

  it('forgets listed payments on reset but can still modify them', async () => {
    const paid = await api.PaymentsApi.payments(body('before-reset'));
    sandbox.resetLedger();
    expect(sandbox.ledger().payments).toEqual([]);
    const refund = await api.ModificationsApi.refundCapturedPayment(paid.pspReference ?? '', {
      merchantAccount: ADYEN_SANDBOX_MERCHANT_ACCOUNT,
      amount: { value: 100, currency: 'USD' },
    });
    expect(refund.status).toBe('received');
  });

  it('replays the charge when a retry follows an answer cut off in transit (one charge per key)', async () => {
    sandbox.setFaults([{ kind: 'truncate', match: 'POST /v71/payments', times: 1 }]);
    const key = randomUUID();
    await expect(api.PaymentsApi.payments(body('cut-off'), { idempotencyKey: key })).rejects.toThrow();
    const retried = await api.PaymentsApi.payments(body('cut-off'), { idempotencyKey: key });
    const payments = sandbox.ledger().payments;
    expect(payments).toHaveLength(1);
    expect(payments[0]).toMatchObject({ pspReference: retried.pspReference, idempotencyKey: key });
    expect(sandbox.ledger().requests['POST /v71/payments']).toBe(2);
  });

  it('breaks the contract fault answer by one minor unit of the amount', async () => {
    sandbox.setFaults([{ kind: 'contract', match: 'POST /v71/payments', times: 1 }]);
    const answer = await api.PaymentsApi.payments(body('contract'));
    expect(answer.amount).toEqual({ value: 778, currency: 'USD' });
    expect(sandbox.ledger().payments[0]?.amount.value).toBe(777);
  });

  it('answers 429 with Retry-After and an Adyen error body on a rate_limit fault', async () => {
    sandbox.setFaults([{ kind: 'rate_limit', retryAfter: 2, times: 1 }]);
    const response = await fetch(`${sandbox.url}/v71/payments`, { method: 'POST', body: '{}' });
    expect(response.status).toBe(429);
    expect(response.headers.get('retry-after')).toBe('2');
    expect(await response.json()).toMatchObject({ status: 429, errorType: 'validation' });
  });
});
