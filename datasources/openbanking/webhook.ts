/**
 * Open Banking event notifications, delivered as Standard Webhooks (standardwebhooks.com).
 *
 * Why not the OBIE signed-JWT event notification: its signature is a JWS checked against the ASPSP's
 * directory JWKS, which a deployment without the OB Directory cannot reach, and which the OB spec
 * leaves optional for aggregated polling. Standard Webhooks gives the same guarantees with one shared
 * secret per endpoint and is what the sandbox sends. The body keeps the OB event-notification shape
 * (`events["urn:uk:org:openbanking:events:resource-update"].subject`), so only the envelope differs.
 *
 * Scheme: headers `webhook-id`, `webhook-timestamp` (unix seconds), `webhook-signature` (space-separated
 * `v1,<base64>` entries, one per signing secret during rotation). Signature = base64 HMAC-SHA256, keyed
 * with the base64-decoded part of the secret `whsec_<base64>`, of `${id}.${timestamp}.${rawBody}`.
 * `webhook-id` is the event id (the spec's idempotency key).
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
export const OPENBANKING_DEV_WEBHOOK_SECRET = `whsec_${Buffer.alloc(32, 11).toString('base64')}`;

export const RESOURCE_UPDATE = 'urn:uk:org:openbanking:events:resource-update';
const RID = 'http://openbanking.org.uk/rid';
const RTY = 'http://openbanking.org.uk/rty';

/** Decodes a `whsec_<base64>` secret (the prefix is optional) to its key bytes. */
export function standardWebhookKey(secret: string): Buffer {
  const text = secret.startsWith('whsec_') ? secret.slice('whsec_'.length) : secret;
  const key = Buffer.from(text, 'base64');
  if (key.length < 16) throw new Error('A Standard Webhooks secret must decode to at least 16 bytes.');
  return key;
}

/** The `webhook-signature` value for a message: one `v1,<base64>` entry per secret. */
export function signStandardWebhook(
  id: string,
  timestamp: number,
  body: string | Buffer,
  secrets: readonly string[],
): string {
  return secrets
    .map((secret) => {
      const mac = createHmac('sha256', standardWebhookKey(secret));
      return `v1,${mac.update(`${id}.${timestamp}.`).update(body).digest('base64')}`;
    })
    .join(' ');
}

/** Maps a verified OB event notification to the canonical event. */
export function normaliseOpenBankingEvent(id: string, body: Buffer): CanonicalWebhookEvent | null {
  const notification = parseObject(body);
  if (!notification) return null;
  const events = notification.events as Record<string, { subject?: Record<string, unknown> }> | undefined;
  const update = events?.[RESOURCE_UPDATE];
  const issuedAt = typeof notification.iat === 'number' ? new Date(notification.iat * 1000) : null;
  if (!update?.subject) return { partnerEventId: id, type: 'unknown', resource: null, occurredAt: issuedAt };
  const rid = update.subject[RID];
  const rty = update.subject[RTY];
  const isPayment = rty === 'domestic-payment' || rty === 'domestic-payments';
  return {
    partnerEventId: id,
    type: `resource-update:${typeof rty === 'string' ? rty : 'unknown'}`,
    resource: isPayment && typeof rid === 'string' && rid ? { kind: 'payment', partnerId: rid } : null,
    occurredAt: issuedAt,
  };
}

export interface OpenBankingWebhookOptions {
  secrets: readonly string[];
  toleranceSeconds: number;
}

/** The Open Banking (Standard Webhooks) verifier. */
export function openBankingWebhookVerifier(options: OpenBankingWebhookOptions): WebhookVerifier {
  const keys = options.secrets.map(standardWebhookKey);
  return {
    provider: 'openbanking',
    keptHeaders: ['webhook-id', 'webhook-timestamp', 'webhook-signature'],
    async verify(delivery: WebhookDelivery): Promise<VerificationResult> {
      if (keys.length === 0) return reject('not_configured', 'no Open Banking webhook secret configured');
      const id = delivery.headers['webhook-id'];
      const timestampText = delivery.headers['webhook-timestamp'];
      const signature = delivery.headers['webhook-signature'];
      if (!id || !timestampText || !signature)
        return reject('missing_headers', 'webhook-id, webhook-timestamp and webhook-signature are required');
      if (!/^\d{1,12}$/.test(timestampText) || id.length > 255 || id.includes('.'))
        return reject('malformed_signature', 'webhook-id or webhook-timestamp is malformed');
      const timestamp = Number(timestampText);
      if (!withinTolerance(timestamp, delivery.receivedAt, options.toleranceSeconds))
        return reject('timestamp_out_of_range', 'webhook-timestamp is outside the tolerance');
      const candidates = signature
        .split(' ')
        .filter((entry) => entry.startsWith('v1,'))
        .map((entry) => Buffer.from(entry.slice(3), 'base64'));
      if (candidates.length === 0) return reject('malformed_signature', 'no v1 entry in webhook-signature');
      let matched = false;
      for (const key of keys) {
        const expected = createHmac('sha256', key)
          .update(`${id}.${timestamp}.`)
          .update(delivery.body)
          .digest();
        for (const candidate of candidates) if (safeEqual(expected, candidate)) matched = true;
      }
      if (!matched) return reject('bad_signature', 'no v1 signature matches a configured secret');
      const event = normaliseOpenBankingEvent(id, delivery.body);
      if (!event) return reject('malformed_body', 'the signed body is not a JSON event notification');
      return { ok: true, event, method: 'standard-webhooks-v1' };
    },
  };
}
