import { describe, expect, it } from 'vitest';
import { signStripePayload, stripeWebhookVerifier } from '../../../datasources/stripe/webhook.js';

const SECRET = 'whsec_test_current_0123456789abcdef';
const OLD = 'whsec_test_previous_0123456789abcdef';
const NOW = new Date('2026-01-15T12:00:00Z');
const T = Math.floor(NOW.getTime() / 1000);
const BODY = Buffer.from(
  '{"id":"evt_1","object":"event","type":"payment_intent.succeeded","created":1768478400,"data":{"object":{"id":"pi_123","object":"payment_intent","status":"succeeded"}}}',
);

const verifier = stripeWebhookVerifier({ secrets: [SECRET], toleranceSeconds: 300 });
const deliver = (header: string | undefined, body: Buffer = BODY) =>
  verifier.verify({ body, headers: { 'stripe-signature': header }, receivedAt: NOW });

describe('Stripe-Signature verification', () => {
  it('accepts a valid signature and names the PaymentIntent, not its status', async () => {
    const result = await deliver(signStripePayload(BODY, [SECRET], T));
    expect(result).toEqual({
      ok: true,
      method: 'stripe-signature-v1',
      event: {
        partnerEventId: 'evt_1',
        type: 'payment_intent.succeeded',
        resource: { kind: 'payment', partnerId: 'pi_123' },
        occurredAt: new Date(1768478400 * 1000),
      },
    });
  });

  it('refuses a signature made with another secret', async () => {
    expect(await deliver(signStripePayload(BODY, ['whsec_wrong'], T))).toMatchObject({
      ok: false,
      reason: 'bad_signature',
    });
  });

  it('refuses a body with one flipped byte', async () => {
    const flipped = Buffer.from(BODY);
    flipped[20] = flipped[20]! ^ 0x01;
    expect(await deliver(signStripePayload(BODY, [SECRET], T), flipped)).toMatchObject({
      reason: 'bad_signature',
    });
  });

  it('refuses the same JSON re-serialised', async () => {
    const reserialised = Buffer.from(JSON.stringify(JSON.parse(BODY.toString()), null, 2));
    expect(await deliver(signStripePayload(BODY, [SECRET], T), reserialised)).toMatchObject({
      reason: 'bad_signature',
    });
  });

  it('refuses timestamps too old and too far in the future, accepts the edge', async () => {
    expect(await deliver(signStripePayload(BODY, [SECRET], T - 301))).toMatchObject({
      reason: 'timestamp_out_of_range',
    });
    expect(await deliver(signStripePayload(BODY, [SECRET], T + 301))).toMatchObject({
      reason: 'timestamp_out_of_range',
    });
    expect(await deliver(signStripePayload(BODY, [SECRET], T - 300))).toMatchObject({ ok: true });
  });

  it('accepts several v1 signatures of which one is valid', async () => {
    const header = signStripePayload(BODY, ['whsec_other', SECRET, 'whsec_third'], T);
    expect(header.split(',v1=')).toHaveLength(4);
    expect(await deliver(header)).toMatchObject({ ok: true });
  });

  it('accepts the previous secret during rotation and ignores v0', async () => {
    const rotating = stripeWebhookVerifier({ secrets: [SECRET, OLD], toleranceSeconds: 300 });
    const header = `${signStripePayload(BODY, [OLD], T)},v0=${'0'.repeat(64)}`;
    expect(
      await rotating.verify({ body: BODY, headers: { 'stripe-signature': header }, receivedAt: NOW }),
    ).toMatchObject({ ok: true });
  });

  it('refuses missing and malformed headers', async () => {
    expect(await deliver(undefined)).toMatchObject({ reason: 'missing_headers' });
    expect(await deliver(`t=${T}`)).toMatchObject({ reason: 'malformed_signature' });
    expect(await deliver(`v1=${'a'.repeat(64)}`)).toMatchObject({ reason: 'malformed_signature' });
    expect(await deliver(signStripePayload(BODY, [SECRET], T).replace(/v1=/, 'v0='))).toMatchObject({
      reason: 'malformed_signature',
    });
  });

  it('refuses everything when no secret is configured', async () => {
    const none = stripeWebhookVerifier({ secrets: [], toleranceSeconds: 300 });
    const result = await none.verify({
      body: BODY,
      headers: { 'stripe-signature': signStripePayload(BODY, [SECRET], T) },
      receivedAt: NOW,
    });
    expect(result).toMatchObject({ ok: false, reason: 'not_configured' });
  });

  it('resolves charge events to their PaymentIntent', async () => {
    const charge = Buffer.from(
      '{"id":"evt_2","type":"charge.refunded","data":{"object":{"id":"ch_1","payment_intent":"pi_9"}}}',
    );
    expect(await deliver(signStripePayload(charge, [SECRET], T), charge)).toMatchObject({
      ok: true,
      event: { resource: { kind: 'payment', partnerId: 'pi_9' } },
    });
  });
});
