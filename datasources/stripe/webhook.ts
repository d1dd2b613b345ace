/**
 * Stripe webhooks: `Stripe-Signature: t=<unix seconds>,v1=<hex>[,v1=<hex>...]`, where each v1 is the
 * HMAC-SHA256, keyed with the endpoint secret (`whsec_...`, used as-is, not decoded), of
 * `${t}.${rawBody}`. Stripe sends one v1 per active secret while a secret is rolled, so a delivery is
 * valid when any v1 matches any configured secret. v0 and other schemes are ignored. The timestamp must
 * lie within the tolerance (Stripe's default: 300 s) in both directions.
 *
 * Normalisation is thin: the event names the PaymentIntent (or the Dispute); its state is fetched from Stripe.
 */
import { createHmac } from 'node:crypto';
import {
  parseObject,
  reject,
  safeEqual,
  withinTolerance,
  type CanonicalWebhookEvent,
  type VerificationResult,
  type WebhookDelivery,
  type WebhookVerifier,
} from '../webhook-verify.js';

/** The development secret: the local sandbox signs with it; production refuses it (env section). */
export const STRIPE_DEV_WEBHOOK_SECRET = 'whsec_dev_tributary_stripe_sandbox';

export const STRIPE_SIGNATURE_HEADER = 'stripe-signature';

/** Builds a `Stripe-Signature` value (sandbox and tests): one v1 per secret. */
export function signStripePayload(
  body: string | Buffer,
  secrets: readonly string[],
  timestamp: number,
): string {
  const parts = [`t=${timestamp}`];
  for (const secret of secrets) {
    parts.push(`v1=${createHmac('sha256', secret).update(`${timestamp}.`).update(body).digest('hex')}`);
  }
  return parts.join(',');
}

interface ParsedHeader {
  timestamp: number;
  signatures: Buffer[];
}

function parseHeader(value: string): ParsedHeader | null {
  let timestamp: number | null = null;
  const signatures: Buffer[] = [];
  for (const item of value.split(',')) {
    const at = item.indexOf('=');
    if (at <= 0) continue;
    const key = item.slice(0, at).trim();
    const text = item.slice(at + 1).trim();
    if (key === 't' && /^\d{1,12}$/.test(text)) timestamp = Number(text);
    else if (key === 'v1' && /^[0-9a-f]{64}$/.test(text)) signatures.push(Buffer.from(text, 'hex'));
  }
  return timestamp === null || signatures.length === 0 ? null : { timestamp, signatures };
}

/**
 * Stripe event types that concern a PaymentIntent, and where its id is in `data.object`; dispute
 * events (`charge.dispute.*`) name the Dispute itself, pulled by id (its PaymentIntent comes with it).
 */
function resourceOf(type: string, object: Record<string, unknown>): CanonicalWebhookEvent['resource'] {
  const id = (value: unknown) => (typeof value === 'string' && value.length > 0 ? value : null);
  if (type.startsWith('charge.dispute.')) {
    const partnerId = id(object.id);
    return partnerId ? { kind: 'dispute', partnerId } : null;
  }
  if (type.startsWith('payment_intent.')) {
    const partnerId = id(object.id);
    return partnerId ? { kind: 'payment', partnerId } : null;
  }
  if (type.startsWith('charge.') || type.startsWith('refund.')) {
    const intent = object.payment_intent;
    const partnerId =
      id(intent) ?? (intent && typeof intent === 'object' ? id((intent as { id?: unknown }).id) : null);
    return partnerId ? { kind: 'payment', partnerId } : null;
  }
  return null;
}

/** Maps a verified Stripe event body to the canonical event; null when it is not an event. */
export function normaliseStripeEvent(body: Buffer): CanonicalWebhookEvent | null {
  const event = parseObject(body);
  if (!event || typeof event.id !== 'string' || typeof event.type !== 'string') return null;
  const data = event.data as { object?: unknown } | undefined;
  const object =
    data && data.object && typeof data.object === 'object' ? (data.object as Record<string, unknown>) : {};
  const created = typeof event.created === 'number' ? new Date(event.created * 1000) : null;
  return {
    partnerEventId: event.id,
    type: event.type,
    resource: resourceOf(event.type, object),
    occurredAt: created,
  };
}

export interface StripeWebhookOptions {
  /** Every secret currently accepted (rotation: old and new together). */
  secrets: readonly string[];
  toleranceSeconds: number;
}

/** The Stripe verifier. */
export function stripeWebhookVerifier(options: StripeWebhookOptions): WebhookVerifier {
  const keys = options.secrets.map((secret) => Buffer.from(secret, 'utf8'));
  return {
    provider: 'stripe',
    keptHeaders: [STRIPE_SIGNATURE_HEADER],
    async verify(delivery: WebhookDelivery): Promise<VerificationResult> {
      if (keys.length === 0) return reject('not_configured', 'no Stripe webhook secret configured');
      const header = delivery.headers[STRIPE_SIGNATURE_HEADER];
      if (!header) return reject('missing_headers', 'Stripe-Signature is missing');
      const parsed = parseHeader(header);
      if (!parsed) return reject('malformed_signature', 'Stripe-Signature has no t= or no v1=');
      if (!withinTolerance(parsed.timestamp, delivery.receivedAt, options.toleranceSeconds))
        return reject('timestamp_out_of_range', 'Stripe-Signature timestamp is outside the tolerance');
      let matched = false;
      for (const key of keys) {
        const expected = createHmac('sha256', key)
          .update(`${parsed.timestamp}.`)
          .update(delivery.body)
          .digest();
        // Compare against every candidate without stopping early, so timing says nothing about which matched.
        for (const signature of parsed.signatures) if (safeEqual(expected, signature)) matched = true;
      }
      if (!matched) return reject('bad_signature', 'no v1 signature matches a configured secret');
      const event = normaliseStripeEvent(delivery.body);
      if (!event) return reject('malformed_body', 'the signed body is not a Stripe event');
      return { ok: true, event, method: 'stripe-signature-v1' };
    },
  };
}
