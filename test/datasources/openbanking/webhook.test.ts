import { describe, expect, it } from 'vitest';
import {
  openBankingWebhookVerifier,
  RESOURCE_UPDATE,
  signStandardWebhook,
} from '../../../datasources/openbanking/webhook.js';

/** The Standard Webhooks specification's published test vector. */
const VECTOR = {
  secret: 'whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw',
  id: 'msg_p5jXN8AQM9LWM0D4loKWxJek',
  timestamp: 1614265330,
  body: '{"test": 2432232314}',
  signature: 'v1,g0hM9SsE+OTPJTGt/tmIKtSyZlE3uFJELVlNIOLJ1OE=',
};
const VECTOR_NOW = new Date(VECTOR.timestamp * 1000);

const NOW = new Date('2026-01-15T12:00:00Z');
const T = Math.floor(NOW.getTime() / 1000);
const SECRET = `whsec_${Buffer.alloc(32, 3).toString('base64')}`;
const OLD = `whsec_${Buffer.alloc(32, 4).toString('base64')}`;
const BODY = Buffer.from(
  JSON.stringify({
    iss: 'https://aspsp.example',
    iat: T,
    jti: 'b460a07c-4962-43d1-85ee-9dc10fbb8f6c',
    events: {
      [RESOURCE_UPDATE]: {
        subject: {
          subject_type: 'http://openbanking.org.uk/rid_http://openbanking.org.uk/rty',
          'http://openbanking.org.uk/rid': 'pmt-42',
          'http://openbanking.org.uk/rty': 'domestic-payment',
        },
      },
    },
  }),
);

const verifier = openBankingWebhookVerifier({ secrets: [SECRET], toleranceSeconds: 300 });
const headers = (id: string, t: number, signature: string | undefined) => ({
  'webhook-id': id,
  'webhook-timestamp': String(t),
  'webhook-signature': signature,
});
const deliver = (h: Record<string, string | undefined>, body: Buffer = BODY) =>
  verifier.verify({ body, headers: h, receivedAt: NOW });

describe('Standard Webhooks (Open Banking)', () => {
  it('reproduces the published test vector', async () => {
    expect(signStandardWebhook(VECTOR.id, VECTOR.timestamp, VECTOR.body, [VECTOR.secret])).toBe(
      VECTOR.signature,
    );
    const spec = openBankingWebhookVerifier({ secrets: [VECTOR.secret], toleranceSeconds: 300 });
    const result = await spec.verify({
      body: Buffer.from(VECTOR.body),
      headers: headers(VECTOR.id, VECTOR.timestamp, VECTOR.signature),
      receivedAt: VECTOR_NOW,
    });
    // The vector's body is not an OB event notification: verified, with nothing to act on.
    expect(result).toMatchObject({ ok: true, event: { partnerEventId: VECTOR.id, resource: null } });
  });

  it('accepts a valid delivery and names the domestic payment', async () => {
    expect(await deliver(headers('msg_1', T, signStandardWebhook('msg_1', T, BODY, [SECRET])))).toMatchObject(
      {
        ok: true,
        method: 'standard-webhooks-v1',
        event: { partnerEventId: 'msg_1', resource: { kind: 'payment', partnerId: 'pmt-42' } },
      },
    );
  });

  it('refuses a wrong secret, a flipped byte and a re-serialised body', async () => {
    const good = signStandardWebhook('msg_1', T, BODY, [SECRET]);
    expect(await deliver(headers('msg_1', T, signStandardWebhook('msg_1', T, BODY, [OLD])))).toMatchObject({
      reason: 'bad_signature',
    });
    const flipped = Buffer.from(BODY);
    flipped[5] = flipped[5]! ^ 0x20;
    expect(await deliver(headers('msg_1', T, good), flipped)).toMatchObject({ reason: 'bad_signature' });
    const reserialised = Buffer.from(JSON.stringify(JSON.parse(BODY.toString()), null, 1));
    expect(await deliver(headers('msg_1', T, good), reserialised)).toMatchObject({ reason: 'bad_signature' });
    // The id is signed too: replaying the signature under another id fails.
    expect(await deliver(headers('msg_2', T, good))).toMatchObject({ reason: 'bad_signature' });
  });

  it('refuses timestamps too old and too new', async () => {
    for (const t of [T - 301, T + 301]) {
      expect(
        await deliver(headers('msg_1', t, signStandardWebhook('msg_1', t, BODY, [SECRET]))),
      ).toMatchObject({
        reason: 'timestamp_out_of_range',
      });
    }
  });

  it('accepts several entries of which one is valid, and a rotated secret', async () => {
    const several = `v1,${Buffer.alloc(32).toString('base64')} v1a,xyz ${signStandardWebhook('msg_1', T, BODY, [SECRET])}`;
    expect(await deliver(headers('msg_1', T, several))).toMatchObject({ ok: true });
    const rotating = openBankingWebhookVerifier({ secrets: [SECRET, OLD], toleranceSeconds: 300 });
    const result = await rotating.verify({
      body: BODY,
      headers: headers('msg_1', T, signStandardWebhook('msg_1', T, BODY, [OLD])),
      receivedAt: NOW,
    });
    expect(result).toMatchObject({ ok: true });
  });

  it('refuses missing or malformed headers', async () => {
    expect(await deliver({ 'webhook-id': 'msg_1', 'webhook-timestamp': String(T) })).toMatchObject({
      reason: 'missing_headers',
    });
    expect(await deliver(headers('msg_1', T, 'v2,abc'))).toMatchObject({ reason: 'malformed_signature' });
    expect(await deliver({ ...headers('msg_1', T, 'v1,abc'), 'webhook-timestamp': '12e3' })).toMatchObject({
      reason: 'malformed_signature',
    });
  });
});
