/**
 * The Adyen sandbox against Adyen's published specs (DESIGN §6: a sandbox that disagrees with its
 * partner's spec is a bug): every kind of Checkout answer it sends against CheckoutService-v71.json,
 * every notification body against Webhooks-v1.json, and the test payment methods it exports against
 * the PaymentRequest schema. The specs live in ../shared/partner-specs/adyen; absent, the suite is
 * skipped and says so.
 */
import { randomUUID } from 'node:crypto';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { fromRoot } from '../../store/paths.js';
import {
  ADYEN_SANDBOX_API_KEY,
  ADYEN_SANDBOX_MERCHANT_ACCOUNT,
  ADYEN_TEST_METHODS,
  startAdyenSandbox,
  type AdyenSandboxHandle,
} from '../../sandboxes/adyen/index.js';
import { control, eventually, startReceiver } from './adyen-client.js';
import { OpenApiSpec } from './openapi.js';

const SPEC_DIR = fromRoot('..', 'shared', 'partner-specs', 'adyen');
const checkout = OpenApiSpec.load(join(SPEC_DIR, 'CheckoutService-v71.json'));
const webhooks = OpenApiSpec.load(join(SPEC_DIR, 'Webhooks-v1.json'));
const available = checkout !== null && webhooks !== null;
if (!available) console.warn(`Adyen specs not found in ${SPEC_DIR}: the sandbox-vs-spec suite is skipped.`);

/** The Webhooks-v1 request schema of each event the sandbox sends. */
const NOTIFICATION_SCHEMAS: Record<string, string> = {
  AUTHORISATION: 'AuthorisationNotificationRequest',
  CAPTURE: 'CaptureNotificationRequest',
  CANCELLATION: 'CancellationNotificationRequest',
  REFUND: 'RefundNotificationRequest',
  NOTIFICATION_OF_CHARGEBACK: 'NotificationOfChargebackNotificationRequest',
  CHARGEBACK: 'ChargebackNotificationRequest',
};

describe.skipIf(!available)('adyen sandbox against Adyen Checkout API v71 and Webhooks v1', () => {
  const spec = checkout as OpenApiSpec;
  const hooks = webhooks as OpenApiSpec;
  let sandbox: AdyenSandboxHandle;
  let receiver: Awaited<ReturnType<typeof startReceiver>>;

  const post = async (path: string, body: Record<string, unknown>, apiKey = ADYEN_SANDBOX_API_KEY) => {
    const response = await fetch(`${sandbox.url}/v71${path}`, {
      method: 'POST',
      headers: { 'content-type': 'application/json', 'x-api-key': apiKey },
      body: JSON.stringify(body),
    });
    return { status: response.status, body: (await response.json()) as Record<string, unknown> };
  };
  const paymentRequest = (paymentMethod: object, extra: Record<string, unknown> = {}) => ({
    amount: { value: 1000, currency: 'EUR' },
    reference: `spec-${randomUUID().slice(0, 8)}`,
    merchantAccount: ADYEN_SANDBOX_MERCHANT_ACCOUNT,
    returnUrl: 'https://tributary.test/return',
    paymentMethod,
    ...extra,
  });
  /** Asserts an answer is the status the spec lists for the operation, with a body its schema accepts. */
  const conforms = (path: string, answer: { status: number; body: unknown }) => {
    const schema = spec.responseSchema(path, 'post', answer.status);
    expect(schema, `${path} ${answer.status} has a body schema`).not.toBeNull();
    expect(spec.validate(schema ?? {}, answer.body)).toEqual([]);
  };

  beforeAll(async () => {
    sandbox = await startAdyenSandbox({ webhooks: { duplicateRate: 0, maxJitterMs: 5 } });
    receiver = await startReceiver();
    await control(sandbox.url, '/__sandbox/adyen/webhooks', { url: receiver.url });
  });
  afterAll(async () => {
    await sandbox?.close();
    await receiver?.close();
  });

  it('checks what it is told to check (the checker catches violations)', () => {
    const schema = spec.responseSchema('/payments', 'post', 200) ?? {};
    expect(spec.validate(schema, { resultCode: 'Teleported' })).toContain(
      '$.resultCode: Teleported not in enum',
    );
    expect(spec.validate(schema, { pspReference: 'X', surprise: 1 })).toContain('$.surprise: not allowed');
    const item = { $ref: '#/components/schemas/CaptureNotificationRequest' };
    expect(
      hooks.validate(item, { live: 'false', notificationItems: [{ NotificationRequestItem: {} }] }),
    ).toContain('$.notificationItems[0].NotificationRequestItem.pspReference: required');
  });

  it('exports test payment methods that are valid PaymentRequest bodies', () => {
    const schema = spec.requestSchema('/payments', 'post');
    for (const [name, method] of Object.entries(ADYEN_TEST_METHODS)) {
      expect(spec.validate(schema, paymentRequest(method)), name).toEqual([]);
    }
  });

  it('answers /payments with spec-valid bodies for every outcome', async () => {
    for (const method of [ADYEN_TEST_METHODS.visa, ADYEN_TEST_METHODS.declined, ADYEN_TEST_METHODS.error]) {
      conforms('/payments', await post('/payments', paymentRequest(method)));
    }
    const challenge = await post('/payments', paymentRequest(ADYEN_TEST_METHODS.visaChallenge));
    expect(challenge.body.resultCode).toBe('ChallengeShopper');
    conforms('/payments', challenge);
    const redirect = await post('/payments', paymentRequest(ADYEN_TEST_METHODS.visaRedirect));
    expect(redirect.body.resultCode).toBe('RedirectShopper');
    conforms('/payments', redirect);
    const played = await control(sandbox.url, `/__sandbox/adyen/3ds/${String(challenge.body.pspReference)}`, {
      result: 'pass',
    });
    conforms('/payments/details', await post('/payments/details', played.json));
  });

  it('answers errors with spec-valid ServiceError bodies at the statuses the spec lists', async () => {
    conforms('/payments', await post('/payments', paymentRequest(ADYEN_TEST_METHODS.visa), 'wrong'));
    conforms(
      '/payments',
      await post('/payments', paymentRequest(ADYEN_TEST_METHODS.visa, { merchantAccount: 'Other' })),
    );
    conforms(
      '/payments',
      await post('/payments', paymentRequest(ADYEN_TEST_METHODS.visa, { returnUrl: undefined })),
    );
    conforms('/payments/details', await post('/payments/details', { details: { threeDSResult: 'garbage' } }));
  });

  it('answers captures, cancels and refunds with spec-valid 201 bodies', async () => {
    const manual = await post(
      '/payments',
      paymentRequest(ADYEN_TEST_METHODS.visa, { additionalData: { manualCapture: 'true' } }),
    );
    const psp = String(manual.body.pspReference);
    const amount = { value: 1000, currency: 'EUR' };
    const merchantAccount = ADYEN_SANDBOX_MERCHANT_ACCOUNT;
    const capture = await post(`/payments/${psp}/captures`, { merchantAccount, amount });
    conforms('/payments/{paymentPspReference}/captures', capture);
    conforms(
      '/payments/{paymentPspReference}/refunds',
      await post(`/payments/${psp}/refunds`, { merchantAccount, amount }),
    );
    conforms(
      '/payments/{paymentPspReference}/cancels',
      await post(`/payments/${psp}/cancels`, { merchantAccount }),
    );
    const unknown = await post('/payments/0000000000000000/refunds', { merchantAccount, amount });
    conforms('/payments/{paymentPspReference}/refunds', unknown);
  });

  it('sends notification bodies that Webhooks-v1 accepts for each event code', async () => {
    const paid = await post(
      '/payments',
      paymentRequest(ADYEN_TEST_METHODS.visa, { shopperReference: 's-1' }),
    );
    await control(sandbox.url, '/__sandbox/adyen/disputes', { pspReference: paid.body.pspReference });
    const bodies = await eventually(
      () => receiver.bodies,
      (all) => {
        const codes = new Set(
          all.flatMap((b) => b.notificationItems.map((w) => w.NotificationRequestItem.eventCode)),
        );
        return Object.keys(NOTIFICATION_SCHEMAS).every((code) => codes.has(code));
      },
    );
    for (const body of bodies) {
      const code = body.notificationItems[0]?.NotificationRequestItem.eventCode ?? '';
      const schema = NOTIFICATION_SCHEMAS[code];
      expect(schema, `a schema for ${code}`).toBeDefined();
      expect(hooks.validate({ $ref: `#/components/schemas/${schema}` }, body), code).toEqual([]);
    }
  });
});
