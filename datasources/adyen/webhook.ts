/**
 * Adyen standard webhooks. A delivery is `{ live, notificationItems: [{ NotificationRequestItem }] }`;
 * each item carries `additionalData.hmacSignature`: the base64 HMAC-SHA256, keyed with the HMAC key
 * (hex, decoded to bytes), of
 *   pspReference:originalReference:merchantAccountCode:merchantReference:value:currency:eventCode:success
 * (absent fields empty). Adyen documents HMAC signatures, not a header: the signature travels inside the
 * item, and the raw body is parsed once, here. Several keys are accepted at once (rotation: the new
 * key is configured beside the old one, then the old one removed); every key is tried against every
 * delivery without stopping early, and comparisons are constant-time.
 *
 * Adyen sends one item per delivery; a batch of several is refused as malformed, so no item goes
 * unprocessed unseen. The event id is `eventCode:pspReference:success` (Adyen's advice for duplicates),
 * so the inbox keeps one row per event however often Adyen redelivers it.
 *
 * Unlike other partners' thin events, a verified item is Adyen's own record of what happened (Checkout
 * has no "get payment" endpoint): the verifier hands it to the sink (store.ts) before answering, and
 * the provider's reads fold it into the payment. The acknowledgement Adyen expects is `[accepted]`.
 */
import { createHmac } from 'node:crypto';
import {
  parseObject,
  reject,
  safeEqual,
  type CanonicalWebhookEvent,
  type VerificationResult,
  type WebhookDelivery,
  type WebhookVerifier,
} from '../webhook-verify.js';
import { isDisputeEvent } from './disputes.js';
import { effectOf, eventIdOf, paymentReferenceOf } from './events.js';
import { notificationItemSchema, notificationRequestSchema, type WireNotificationItem } from './types.js';

/** The development HMAC key (hex): the local sandbox signs with it; production refuses it (env section). */
export const ADYEN_DEV_HMAC_KEY =
  '44782DEF547AAA06C910C43932B1EB0C71FC68D9D0C057550C48EC2ACF6BA056' +
  '7AB57B0C25DFB13FCCE2D5E1E4D14C5ED0BD3A7C44A1C2E3EE4A6CD2AEA41A6D';

/** What Adyen expects back from a delivery it should not send again. */
export const ADYEN_ACKNOWLEDGEMENT = { contentType: 'text/plain', body: '[accepted]' } as const;

/** Where verified items go (store.ts): recorded once per event id before the delivery is acknowledged. */
export interface NotificationSink {
  recordNotification(eventId: string, paymentPsp: string, item: WireNotificationItem): Promise<void>;
}

/** The signed payload of an item, in Adyen's documented order. */
export function signingString(item: WireNotificationItem): string {
  return [
    item.pspReference,
    item.originalReference ?? '',
    item.merchantAccountCode,
    item.merchantReference,
    String(item.amount.value),
    item.amount.currency,
    item.eventCode,
    item.success,
  ].join(':');
}

/** The base64 HMAC of an item with a hex key (sandbox and tests sign with it). */
export function signAdyenItem(item: WireNotificationItem, hexKey: string): string {
  return createHmac('sha256', Buffer.from(hexKey, 'hex'))
    .update(signingString(item), 'utf8')
    .digest('base64');
}

/** Whether a configured key is usable: hex, an even number of digits, at least 128 bits. */
export function isHmacKey(value: string): boolean {
  return /^(?:[0-9A-Fa-f]{2}){16,}$/.test(value);
}

export interface AdyenWebhookOptions {
  /** Every HMAC key currently accepted, hex (rotation: old and new together). */
  keys: readonly string[];
  /** Where verified items are kept; null: not recorded (verification alone). */
  sink: NotificationSink | null;
}

/**
 * The resource an item is about: a dispute-family item names the dispute (its own pspReference; the
 * worker pulls it with getDispute, then its payment), a payment item the payment, others none.
 */
function resourceOf(item: WireNotificationItem): CanonicalWebhookEvent['resource'] {
  if (isDisputeEvent(item.eventCode)) return { kind: 'dispute', partnerId: item.pspReference };
  return effectOf(item.eventCode) === 'none'
    ? null
    : { kind: 'payment', partnerId: paymentReferenceOf(item) };
}

/** The Adyen verifier. */
export function adyenWebhookVerifier(options: AdyenWebhookOptions): WebhookVerifier {
  const keys = options.keys.filter(isHmacKey).map((key) => Buffer.from(key, 'hex'));
  return {
    provider: 'adyen',
    keptHeaders: [],
    async verify(delivery: WebhookDelivery): Promise<VerificationResult> {
      if (keys.length === 0) return reject('not_configured', 'no Adyen HMAC key configured');
      const body = notificationRequestSchema.safeParse(parseObject(delivery.body));
      if (!body.success) return reject('malformed_body', 'not an Adyen notification request');
      if (body.data.notificationItems.length !== 1)
        return reject('malformed_body', 'Adyen sends one notification item per delivery');
      const parsed = notificationItemSchema.safeParse(
        body.data.notificationItems[0]?.NotificationRequestItem,
      );
      if (!parsed.success) return reject('malformed_body', 'the notification item is not well formed');
      const item = parsed.data;
      const signature = item.additionalData?.hmacSignature;
      if (typeof signature !== 'string' || !/^[A-Za-z0-9+/]{43}=$/.test(signature))
        return reject('malformed_signature', 'additionalData.hmacSignature is missing or not base64');
      const given = Buffer.from(signature, 'base64');
      const payload = signingString(item);
      let matched = false;
      for (const key of keys) {
        const expected = createHmac('sha256', key).update(payload, 'utf8').digest();
        // Every key is tried, so timing says nothing about which one matched.
        if (safeEqual(expected, given)) matched = true;
      }
      if (!matched) return reject('bad_signature', 'hmacSignature matches no configured HMAC key');
      const eventId = eventIdOf(item);
      const resource = resourceOf(item);
      // Kept by the payment it concerns: a dispute's items count in its payment's fold too.
      if (resource && options.sink)
        await options.sink.recordNotification(eventId, paymentReferenceOf(item), item);
      const occurredAt = Date.parse(item.eventDate);
      return {
        ok: true,
        event: {
          partnerEventId: eventId,
          type: item.eventCode,
          resource,
          occurredAt: Number.isNaN(occurredAt) ? null : new Date(occurredAt),
        },
        method: 'adyen-hmac-sha256',
      };
    },
  };
}
