/**
 * Adyen's standard notifications (Webhooks-v1.json): a JSON `{ live: 'false', notificationItems: [
 * { NotificationRequestItem } ] }` per event, POSTed to every registered endpoint through the kit's
 * dispatcher (random delay, some delivered twice, retried with backoff until a 2xx answer: the spec
 * says webhooks are "accepted on the basis of the HTTP status code"; `[accepted]` is what Adyen
 * recommends answering, and is not required here).
 *
 * Each item carries `additionalData.hmacSignature`: base64 of HMAC-SHA256, keyed with the endpoint's
 * hex HMAC key decoded to bytes, over `pspReference:originalReference:merchantAccountCode:
 * merchantReference:value:currency:eventCode:success` (absent fields as empty strings). The signature
 * is inside the body, so it is computed when the event is emitted with the endpoint's key of that
 * moment: rotating the key (control route) signs later events with the new key, while retries of
 * earlier ones keep their original signature, as at Adyen.
 */
import { createHmac } from 'node:crypto';
import { WebhookDispatcher, type WebhookDeliveryOptions, type WebhookEndpoint } from '../kit/webhooks.js';
import { authCode, newPspReference, type AdyenPayment, type Amount } from './state.js';

/** The HMAC key the sandbox signs with unless an endpoint registers its own (hex, 64 bytes, test only). */
export const ADYEN_SANDBOX_HMAC_KEY =
  '44782DEF547AAA06C910C43932B1EB0C71FC68D9D0C057550C48EC2ACF6BA056' +
  '7AB57B0C25DFB13FCCE2D5E1E4D14C5ED0BD3A7C44A1C2E3EE4A6CD2AEA41A6D';

/** One NotificationRequestItem as sent (amount in minor units, `success` as a string). */
export interface NotificationItem {
  eventCode: string;
  success: 'true' | 'false';
  pspReference: string;
  originalReference?: string;
  merchantAccountCode: string;
  merchantReference: string;
  amount: Amount;
  eventDate: string;
  reason?: string;
  paymentMethod?: string;
  operations?: string[];
  additionalData?: Record<string, string>;
}

/** A notification the sandbox sent, for tests (`sent` lists them oldest first). */
export interface SentNotification {
  url: string;
  item: NotificationItem;
}

/** Adyen's HMAC signature of one item with a hex key. */
export function signItem(item: Omit<NotificationItem, 'additionalData'>, hexKey: string): string {
  const data = [
    item.pspReference,
    item.originalReference ?? '',
    item.merchantAccountCode,
    item.merchantReference,
    String(item.amount.value),
    item.amount.currency,
    item.eventCode,
    item.success,
  ].join(':');
  return createHmac('sha256', Buffer.from(hexKey, 'hex')).update(data, 'utf8').digest('base64');
}

/** The Adyen notification sender of one sandbox. */
export class AdyenNotifier {
  readonly #dispatcher: WebhookDispatcher;
  readonly sent: SentNotification[] = [];

  constructor(options: WebhookDeliveryOptions = {}) {
    this.#dispatcher = new WebhookDispatcher(options);
  }

  get endpoints(): readonly WebhookEndpoint[] {
    return this.#dispatcher.endpoints;
  }

  get delivered(): number {
    return this.#dispatcher.delivered;
  }

  /** Registers an endpoint with its hex HMAC key; registering a URL again replaces (rotates) its key. */
  register(url: string, hmacKey: string = ADYEN_SANDBOX_HMAC_KEY): void {
    this.#dispatcher.register({ url, secret: hmacKey });
  }

  /** Rotates the key of one endpoint, or of all when `url` is absent; false when no endpoint matched. */
  rotate(hmacKey: string, url?: string): boolean {
    const targets = this.endpoints.filter((endpoint) => url === undefined || endpoint.url === url);
    for (const endpoint of targets) this.register(endpoint.url, hmacKey);
    return targets.length > 0;
  }

  idle(): Promise<void> {
    return this.#dispatcher.idle();
  }

  close(): void {
    this.#dispatcher.close();
  }

  /** AUTHORISATION for a decided payment: success unless it was refused or failed. */
  authorisation(payment: AdyenPayment): void {
    const success = payment.resultCode === 'Authorised';
    const last4 = payment.card.number.slice(-4);
    const code = authCode(payment.pspReference);
    // Adyen's reason for a successful card authorisation is "authCode:last4:expiry".
    this.emit({
      ...this.#of(payment, 'AUTHORISATION', success),
      pspReference: payment.pspReference,
      reason: success ? `${code}:${last4}:${payment.expiry}` : (payment.refusal?.reason ?? 'Refused'),
      ...(success
        ? { operations: payment.manualCapture ? ['CANCEL', 'CAPTURE', 'REFUND'] : ['REFUND'] }
        : {}),
      additionalData: {
        ...(success ? { authCode: code } : {}),
        cardSummary: last4,
        expiryDate: payment.expiry,
        paymentMethodVariant: payment.card.brand,
        ...(payment.shopperReference ? { shopperReference: payment.shopperReference } : {}),
      },
    });
  }

  /** CAPTURE / CANCELLATION / REFUND for a modification of `payment`. */
  modification(
    payment: AdyenPayment,
    eventCode: 'CAPTURE' | 'CANCELLATION' | 'REFUND',
    pspReference: string,
    amount: Amount,
    success: boolean,
    reason: string,
  ): void {
    this.emit({
      ...this.#of(payment, eventCode, success),
      pspReference,
      originalReference: payment.pspReference,
      amount,
      reason,
    });
  }

  /** A dispute notification (NOTIFICATION_OF_CHARGEBACK, CHARGEBACK, ...) on `payment`. */
  dispute(
    payment: AdyenPayment,
    eventCode: string,
    disputePsp: string,
    amount: Amount,
    reason: string,
    extra: Record<string, string>,
  ): void {
    this.emit({
      ...this.#of(payment, eventCode, true),
      pspReference: disputePsp,
      originalReference: payment.pspReference,
      amount,
      reason,
      additionalData: extra,
    });
  }

  /** Sends one item to every endpoint, signed with each endpoint's current key. */
  emit(item: NotificationItem): void {
    for (const endpoint of this.endpoints) {
      const signed: NotificationItem = {
        ...item,
        additionalData: {
          ...item.additionalData,
          hmacSignature: signItem(item, endpoint.secret ?? ADYEN_SANDBOX_HMAC_KEY),
        },
      };
      this.sent.push({ url: endpoint.url, item: signed });
      const body = JSON.stringify({
        live: 'false',
        notificationItems: [{ NotificationRequestItem: signed }],
      });
      this.#dispatcher.send(body, () => ({ 'user-agent': 'Adyen HttpClient 1.0' }), [endpoint]);
    }
  }

  #of(payment: AdyenPayment, eventCode: string, success: boolean) {
    return {
      eventCode,
      success: success ? ('true' as const) : ('false' as const),
      pspReference: newPspReference(),
      merchantAccountCode: payment.merchantAccount,
      merchantReference: payment.merchantReference,
      amount: { ...payment.amount },
      eventDate: eventDate(new Date()),
      paymentMethod: payment.card.brand,
    };
  }
}

/** ISO 8601 with an offset, the way Adyen writes eventDate ("2021-07-17T13:42:40+01:00"). */
function eventDate(at: Date): string {
  return `${at.toISOString().slice(0, 19)}+00:00`;
}
