/**
 * The Adyen sandbox's notifications: registered through the binding's webhook route, each item signed
 * with Adyen's HMAC (checked with @adyen/api-library's own hmacValidator), retried until the endpoint
 * answers 2xx, signed with the new key after a rotation, and chargebacks opened by a control route.
 */
import { randomUUID } from 'node:crypto';
import { hmacValidator } from '@adyen/api-library';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { sharedSandboxTls } from '../../sandboxes/certs.js';
import type { RunningSandbox } from '../../sandboxes/kit/binding.js';
import {
  ADYEN_SANDBOX_API_KEY,
  ADYEN_SANDBOX_HMAC_KEY,
  ADYEN_SANDBOX_MERCHANT_ACCOUNT,
  ADYEN_TEST_METHODS,
  sandbox as binding,
} from '../../sandboxes/adyen/index.js';
import { adyenCheckout, control, eventually, startReceiver, type ReceivedItem } from './adyen-client.js';

const ROTATED_KEY = 'A1B2C3D4E5F60718293A4B5C6D7E8F90A1B2C3D4E5F60718293A4B5C6D7E8F90';

describe('adyen sandbox: HMAC-signed notifications', () => {
  let running: RunningSandbox;
  let receiver: Awaited<ReturnType<typeof startReceiver>>;
  let api: ReturnType<typeof adyenCheckout>['checkout'];
  const validator = new hmacValidator();

  const pay = async (paymentMethod: object = ADYEN_TEST_METHODS.visa) =>
    api.PaymentsApi.payments({
      amount: { value: 4200, currency: 'GBP' },
      reference: `order-${randomUUID().slice(0, 8)}`,
      merchantAccount: ADYEN_SANDBOX_MERCHANT_ACCOUNT,
      returnUrl: 'https://tributary.test/return',
      shopperReference: 'shopper-7',
      paymentMethod: paymentMethod as never,
    });
  const itemsFor = (psp: string, count: number) =>
    eventually(
      () => receiver.items().filter((item) => item.pspReference === psp || item.originalReference === psp),
      (items) => new Set(items.map((item) => item.eventCode)).size >= count,
    );

  beforeAll(async () => {
    running = await binding.start({
      host: '127.0.0.1',
      port: 0,
      tls: await sharedSandboxTls(),
      options: { webhooks: { duplicateRate: 0, maxJitterMs: 5 } },
    });
    receiver = await startReceiver(2);
    const registration = running.webhookRegistration(receiver.url, []);
    expect(registration).toEqual({ url: receiver.url, hmacKey: ADYEN_SANDBOX_HMAC_KEY });
    expect((await control(running.handle.url, running.webhookRoute, registration)).status).toBe(200);
    expect(running.clientSecret).toBe(ADYEN_SANDBOX_API_KEY);
    api = adyenCheckout(running.handle.url, running.clientSecret).checkout;
  });
  afterAll(async () => {
    await running?.handle.close();
    await receiver?.close();
  });

  it('retries an AUTHORISATION notification until the endpoint answers 2xx, signed per item', async () => {
    const answer = await pay();
    const [item] = await itemsFor(answer.pspReference ?? '', 1);
    expect(receiver.attempts()).toBeGreaterThanOrEqual(3);
    expect(receiver.bodies[0]?.live).toBe('false');
    expect(item).toMatchObject({
      eventCode: 'AUTHORISATION',
      success: 'true',
      merchantAccountCode: ADYEN_SANDBOX_MERCHANT_ACCOUNT,
      merchantReference: answer.merchantReference,
      amount: { value: 4200, currency: 'GBP' },
      paymentMethod: 'visa',
    });
    expect(validator.validateHMAC(item as never, ADYEN_SANDBOX_HMAC_KEY)).toBe(true);
    expect(validator.validateHMAC({ ...item, success: 'false' } as never, ADYEN_SANDBOX_HMAC_KEY)).toBe(
      false,
    );
  });

  it('reports a refusal as AUTHORISATION success false with the refusal reason', async () => {
    const answer = await pay(ADYEN_TEST_METHODS.insufficientFunds);
    const [item] = await itemsFor(answer.pspReference ?? '', 1);
    expect(item).toMatchObject({
      eventCode: 'AUTHORISATION',
      success: 'false',
      reason: 'Not enough balance',
    });
    expect(validator.validateHMAC(item as never, ADYEN_SANDBOX_HMAC_KEY)).toBe(true);
  });

  it('signs with the new key once the HMAC key is rotated', async () => {
    expect(
      (await control(running.handle.url, '/__sandbox/adyen/hmac_key', { hmacKey: ROTATED_KEY })).status,
    ).toBe(200);
    try {
      const answer = await pay();
      const [item] = (await itemsFor(answer.pspReference ?? '', 1)) as ReceivedItem[];
      expect(validator.validateHMAC(item as never, ROTATED_KEY)).toBe(true);
      expect(validator.validateHMAC(item as never, ADYEN_SANDBOX_HMAC_KEY)).toBe(false);
    } finally {
      await control(running.handle.url, '/__sandbox/adyen/hmac_key', { hmacKey: ADYEN_SANDBOX_HMAC_KEY });
    }
  });

  it('refuses an HMAC key that is not hex', async () => {
    const refused = await control(running.handle.url, '/__sandbox/adyen/hmac_key', {
      hmacKey: 'not-a-hex-key',
    });
    expect(refused.status).toBe(400);
  });

  it('opens a chargeback: NOTIFICATION_OF_CHARGEBACK then CHARGEBACK on the payment, both signed', async () => {
    const answer = await pay();
    const psp = answer.pspReference ?? '';
    const opened = await control(running.handle.url, '/__sandbox/adyen/disputes', {
      pspReference: psp,
      amount: 4000,
    });
    expect(opened.status).toBe(200);
    const items = await itemsFor(psp, 3);
    const dispute = items.filter((item) => item.originalReference === psp);
    expect(dispute.map((item) => item.eventCode).sort()).toEqual([
      'CHARGEBACK',
      'NOTIFICATION_OF_CHARGEBACK',
    ]);
    for (const item of dispute) {
      expect(item).toMatchObject({
        pspReference: opened.json.disputePspReference,
        amount: { value: 4000, currency: 'GBP' },
        success: 'true',
      });
      expect(item.additionalData?.chargebackReasonCode).toBe('10.4');
      expect(validator.validateHMAC(item as never, ADYEN_SANDBOX_HMAC_KEY)).toBe(true);
    }
    const sent = (await (await fetch(`${running.handle.url}/__sandbox/adyen/notifications`)).json()) as {
      notifications: { item: ReceivedItem }[];
    };
    const order = sent.notifications
      .map((n) => n.item.eventCode)
      .filter((code) => code.includes('CHARGEBACK'));
    expect(order).toEqual(['NOTIFICATION_OF_CHARGEBACK', 'CHARGEBACK']);
  });

  it('refuses to open a chargeback on a payment that captured nothing', async () => {
    const refused = await pay(ADYEN_TEST_METHODS.declined);
    const answer = await control(running.handle.url, '/__sandbox/adyen/disputes', {
      pspReference: refused.pspReference,
    });
    expect(answer.status).toBe(409);
  });
});
