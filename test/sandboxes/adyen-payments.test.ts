/**
 * The Adyen sandbox's POST /payments and /payments/details through the official @adyen/api-library:
 * authentication and merchant account, test cards and refusal reasons, Idempotency-Key, 3-D Secure
 * played through the control routes, and the ledger of payments.
 */
import { randomUUID } from 'node:crypto';
import { afterAll, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import {
  ADYEN_SANDBOX_API_KEY,
  ADYEN_SANDBOX_MERCHANT_ACCOUNT,
  ADYEN_TEST_METHODS,
  startAdyenSandbox,
  type AdyenSandboxHandle,
} from '../../sandboxes/adyen/index.js';
import { adyenCheckout, rejection } from './adyen-client.js';

describe('adyen sandbox: payments through @adyen/api-library', () => {
  let sandbox: AdyenSandboxHandle;
  let api: ReturnType<typeof adyenCheckout>;

  const request = (paymentMethod: object, overrides: Record<string, unknown> = {}) => ({
    amount: { value: 1250, currency: 'EUR' },
    reference: `order-${randomUUID().slice(0, 8)}`,
    merchantAccount: ADYEN_SANDBOX_MERCHANT_ACCOUNT,
    returnUrl: 'https://tributary.test/return',
    shopperReference: 'shopper-1',
    metadata: { orderId: '42' },
    paymentMethod,
    ...overrides,
  });
  const pay = (paymentMethod: object, overrides: Record<string, unknown> = {}, idempotencyKey?: string) =>
    api.checkout.PaymentsApi.payments(
      request(paymentMethod, overrides) as never,
      idempotencyKey ? { idempotencyKey } : {},
    );

  beforeAll(async () => {
    sandbox = await startAdyenSandbox({ webhooks: { duplicateRate: 0 } });
    api = adyenCheckout(sandbox.url);
  });
  afterAll(async () => {
    await sandbox?.close();
  });
  beforeEach(() => sandbox.resetLedger());

  it('authorises a Visa test card on /v71/payments with a 16-character pspReference and the card details', async () => {
    const answer = await pay(ADYEN_TEST_METHODS.visa);
    expect(answer.resultCode).toBe('Authorised');
    expect(answer.pspReference).toMatch(/^[0-9A-Z]{16}$/);
    expect(answer.amount).toEqual({ value: 1250, currency: 'EUR' });
    expect(answer.paymentMethod).toEqual({ brand: 'visa', type: 'scheme' });
    expect(answer.additionalData?.cardSummary).toBe('1142');
    expect(api.calls.at(-1)).toBe(`${sandbox.url}/v71/payments`);
    expect(sandbox.ledger().requests['POST /v71/payments']).toBe(1);
  });

  it('authorises Mastercard, plain card fields and a stored payment method', async () => {
    expect((await pay(ADYEN_TEST_METHODS.mastercard)).paymentMethod?.brand).toBe('mc');
    const plain = {
      type: 'scheme',
      number: '4111111145551142',
      expiryMonth: '03',
      expiryYear: '2030',
      cvc: '737',
      holderName: 'J Smith',
    };
    expect((await pay(plain)).resultCode).toBe('Authorised');
    expect((await pay(ADYEN_TEST_METHODS.storedVisa)).resultCode).toBe('Authorised');
  });

  it.each([
    ['declined', 'Refused', '2'],
    ['insufficientFunds', 'Not enough balance', '12'],
    ['expired', 'Expired Card', '6'],
    ['cvcDeclined', 'CVC Declined', '24'],
    ['blocked', 'Blocked Card', '5'],
    ['fraud', 'FRAUD', '20'],
  ] as const)('refuses the %s test method with refusal reason %s (%s)', async (method, reason, code) => {
    const answer = await pay(ADYEN_TEST_METHODS[method]);
    expect(answer.resultCode).toBe('Refused');
    expect(answer.refusalReason).toBe(reason);
    expect(answer.refusalReasonCode).toBe(code);
    expect(sandbox.ledger().payments[0]).toMatchObject({ resultCode: 'Refused', status: 'refused' });
  });

  it('answers resultCode Error for the error test method', async () => {
    const answer = await pay(ADYEN_TEST_METHODS.error);
    expect(answer.resultCode).toBe('Error');
    expect(answer.refusalReason).toBe('Acquirer Error');
  });

  it('refuses a call without a valid X-API-Key with 401 and Adyen error body', async () => {
    const failure = await rejection(
      adyenCheckout(sandbox.url, 'AQE_wrong_key').checkout.PaymentsApi.payments(
        request(ADYEN_TEST_METHODS.visa) as never,
      ),
    );
    expect(failure.statusCode).toBe(401);
    expect(JSON.parse(failure.responseBody ?? '{}')).toEqual({
      status: 401,
      errorCode: '000',
      message: 'HTTP Status Response - Unauthorized',
      errorType: 'security',
    });
    expect(sandbox.ledger().payments).toEqual([]);
  });

  it('refuses another merchant account with 403 901 and a missing one with 422', async () => {
    const other = await rejection(pay(ADYEN_TEST_METHODS.visa, { merchantAccount: 'SomeoneElseECOM' }));
    expect(other.statusCode).toBe(403);
    expect(other.errorCode).toBe('901');
    const missing = await rejection(pay(ADYEN_TEST_METHODS.visa, { merchantAccount: undefined }));
    expect(missing.statusCode).toBe(422);
  });

  it('validates the request as Adyen does: returnUrl, reference, unknown card number', async () => {
    expect((await rejection(pay(ADYEN_TEST_METHODS.visa, { returnUrl: undefined }))).errorCode).toBe(
      '14_030',
    );
    expect((await rejection(pay(ADYEN_TEST_METHODS.visa, { reference: undefined }))).statusCode).toBe(422);
    const unknown = { ...ADYEN_TEST_METHODS.visa, encryptedCardNumber: 'test_4000000000000002' };
    const failure = await rejection(pay(unknown));
    expect([failure.statusCode, failure.errorCode]).toEqual([422, '101']);
  });

  it('replays the first answer for the same Idempotency-Key and body, echoing the key', async () => {
    const key = randomUUID();
    const body = request(ADYEN_TEST_METHODS.visa);
    const first = await api.checkout.PaymentsApi.payments(body as never, { idempotencyKey: key });
    const second = await api.checkout.PaymentsApi.payments(body as never, { idempotencyKey: key });
    expect(second).toEqual(first);
    const payments = sandbox.ledger().payments;
    expect(payments).toHaveLength(1);
    expect(payments[0]).toMatchObject({
      pspReference: first.pspReference,
      idempotencyKey: key,
      resultCode: 'Authorised',
    });
    const raw = await fetch(`${sandbox.url}/v71/payments`, {
      method: 'POST',
      headers: {
        'content-type': 'application/json',
        'x-api-key': ADYEN_SANDBOX_API_KEY,
        'idempotency-key': key,
      },
      body: JSON.stringify(body),
    });
    expect(raw.headers.get('idempotency-key')).toBe(key);
    expect(((await raw.json()) as { pspReference: string }).pspReference).toBe(first.pspReference);
  });

  it('refuses the same Idempotency-Key with another body with 422 and charges once', async () => {
    const key = randomUUID();
    await pay(ADYEN_TEST_METHODS.visa, { reference: 'same-key' }, key);
    const failure = await rejection(
      pay(ADYEN_TEST_METHODS.visa, { reference: 'same-key', amount: { value: 999, currency: 'EUR' } }, key),
    );
    expect([failure.statusCode, failure.errorCode]).toEqual([422, '704']);
    expect(sandbox.ledger().payments).toHaveLength(1);
  });

  it('scopes idempotency keys per API key', async () => {
    const other = await startAdyenSandbox({ apiKeys: ['AQE_second_key'] });
    try {
      const key = randomUUID();
      const body = request(ADYEN_TEST_METHODS.visa);
      const first = await adyenCheckout(other.url).checkout.PaymentsApi.payments(body as never, {
        idempotencyKey: key,
      });
      const second = await adyenCheckout(other.url, 'AQE_second_key').checkout.PaymentsApi.payments(
        body as never,
        { idempotencyKey: key },
      );
      expect(second.pspReference).not.toBe(first.pspReference);
      expect(other.ledger().payments).toHaveLength(2);
    } finally {
      await other.close();
    }
  });

  it('answers 422 704 with transient-error to a request overlapping the first under the same key', async () => {
    const slow = await startAdyenSandbox({ writeDelayMs: 200 });
    try {
      const { checkout } = adyenCheckout(slow.url);
      const key = randomUUID();
      const body = request(ADYEN_TEST_METHODS.visa);
      const [first, second] = await Promise.allSettled([
        checkout.PaymentsApi.payments(body as never, { idempotencyKey: key }),
        checkout.PaymentsApi.payments(body as never, { idempotencyKey: key }),
      ]);
      const outcomes = [first, second].map((o) => o.status);
      expect(outcomes.sort()).toEqual(['fulfilled', 'rejected']);
      const failed = [first, second].find((o) => o.status === 'rejected') as PromiseRejectedResult;
      expect((failed.reason as { errorCode: string }).errorCode).toBe('704');
      expect(
        (failed.reason as { responseHeaders: Record<string, string> }).responseHeaders['transient-error'],
      ).toBe('true');
      expect(slow.ledger().payments).toHaveLength(1);
    } finally {
      await slow.close();
    }
  });

  it('challenges a 3-D Secure 2 card and authorises once the shopper passes the challenge', async () => {
    const started = await pay(ADYEN_TEST_METHODS.visaChallenge);
    expect(started.resultCode).toBe('ChallengeShopper');
    expect(started.action).toMatchObject({
      type: 'threeDS2',
      subtype: 'challenge',
      paymentMethodType: 'scheme',
    });
    expect(sandbox.ledger().payments[0]?.status).toBe('pending_authentication');
    const played = await fetch(`${sandbox.url}/__sandbox/adyen/3ds/${started.pspReference}`, {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: JSON.stringify({ result: 'pass' }),
    });
    const { details } = (await played.json()) as { details: { threeDSResult: string } };
    const done = await api.checkout.PaymentsApi.paymentsDetails({ details });
    expect(done.resultCode).toBe('Authorised');
    expect(done.pspReference).toBe(started.pspReference);
    expect(sandbox.ledger().payments[0]).toMatchObject({ status: 'captured', resultCode: 'Authorised' });
  });

  it('refuses with 3D Not Authenticated when the shopper fails the issuer redirect', async () => {
    const started = await pay(ADYEN_TEST_METHODS.visaRedirect);
    expect(started.resultCode).toBe('RedirectShopper');
    const page = (started.action as { url: string }).url;
    const redirect = await fetch(`${page}?result=fail`, { redirect: 'manual' });
    expect(redirect.status).toBe(302);
    const back = new URL(redirect.headers.get('location') ?? '');
    expect(back.origin + back.pathname).toBe('https://tributary.test/return');
    const done = await api.checkout.PaymentsApi.paymentsDetails({
      details: { redirectResult: back.searchParams.get('redirectResult') ?? '' },
    });
    expect([done.resultCode, done.refusalReason, done.refusalReasonCode]).toEqual([
      'Refused',
      '3D Not Authenticated',
      '11',
    ]);
  });

  it('answers injected faults with Adyen error bodies through the kit', async () => {
    sandbox.setFaults([{ kind: 'status', status: 500, match: 'POST /v71/payments', times: 1 }]);
    const failure = await rejection(pay(ADYEN_TEST_METHODS.visa));
    expect(failure.statusCode).toBe(500);
    expect(JSON.parse(failure.responseBody ?? '{}')).toMatchObject({ status: 500, errorType: 'internal' });
    expect((await pay(ADYEN_TEST_METHODS.visa)).resultCode).toBe('Authorised');
  });
});
