/**
 * Adyen's HMAC verification over the raw body, with real HMAC-SHA256: items signed by the official
 * library's own `hmacValidator` are accepted, forged, tampered and re-keyed ones refused, rotation
 * accepts old and new keys together, the acknowledgement is `[accepted]`, and a replayed delivery is
 * the same inbox event (stored once).
 */
import adyenLibrary from '@adyen/api-library';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { adyen } from '../../../datasources/adyen/index.js';
import type { WireNotificationItem } from '../../../datasources/adyen/types.js';
import {
  ADYEN_DEV_HMAC_KEY,
  adyenWebhookVerifier,
  signAdyenItem,
  type NotificationSink,
} from '../../../datasources/adyen/webhook.js';
import type { Db } from '../../../store/db.js';
import { WebhookRepository } from '../../../store/webhooks.js';
import { testBackends } from '../../helpers/db.js';

const OLD_KEY = ADYEN_DEV_HMAC_KEY;
const NEW_KEY = 'A1B2C3D4E5F60718293A4B5C6D7E8F90A1B2C3D4E5F60718293A4B5C6D7E8F90';
const NOW = new Date('2026-12-06T03:00:00Z');

const item = (overrides: Partial<WireNotificationItem> = {}): WireNotificationItem => ({
  pspReference: 'QFQTPCQ8HXSKGK82',
  merchantAccountCode: 'TributaryECOM',
  merchantReference: 'tribk_0123456789abcdef',
  eventCode: 'AUTHORISATION',
  eventDate: '2026-12-06T02:59:58+01:00',
  amount: { value: 2599, currency: 'EUR' },
  success: 'true',
  ...overrides,
});

/** A delivery as Adyen sends it: one item, its signature inside `additionalData`. */
function body(signed: WireNotificationItem, signature: string, extraItems: object[] = []): Buffer {
  const wrapped = { NotificationRequestItem: { ...signed, additionalData: { hmacSignature: signature } } };
  return Buffer.from(JSON.stringify({ live: 'false', notificationItems: [wrapped, ...extraItems] }));
}

const verify = (keys: string[], raw: Buffer, sink: NotificationSink | null = null) =>
  adyenWebhookVerifier({ keys, sink }).verify({ body: raw, headers: {}, receivedAt: NOW });

describe('Adyen HMAC verification', () => {
  it('accepts an item signed by the official library and names the payment, with an event id per event', async () => {
    const signature = new adyenLibrary.hmacValidator().calculateHmac(item() as never, OLD_KEY);
    expect(signature).toBe(signAdyenItem(item(), OLD_KEY));
    expect(await verify([OLD_KEY], body(item(), signature))).toEqual({
      ok: true,
      method: 'adyen-hmac-sha256',
      event: {
        partnerEventId: 'AUTHORISATION:QFQTPCQ8HXSKGK82:true',
        type: 'AUTHORISATION',
        resource: { kind: 'payment', partnerId: 'QFQTPCQ8HXSKGK82' },
        occurredAt: new Date('2026-12-06T01:59:58Z'),
      },
    });
  });

  it('names the original payment for a modification (a refund has its own pspReference)', async () => {
    const refund = item({
      eventCode: 'REFUND',
      pspReference: 'RFND000000000001',
      originalReference: 'QFQTPCQ8HXSKGK82',
    });
    const result = await verify([OLD_KEY], body(refund, signAdyenItem(refund, OLD_KEY)));
    expect(result).toMatchObject({
      ok: true,
      event: { resource: { kind: 'payment', partnerId: 'QFQTPCQ8HXSKGK82' } },
    });
  });

  it('names the dispute for a chargeback (its own pspReference), not the payment', async () => {
    const chargeback = item({
      eventCode: 'CHARGEBACK',
      pspReference: 'DISP000000000001',
      originalReference: 'QFQTPCQ8HXSKGK82',
    });
    const result = await verify([OLD_KEY], body(chargeback, signAdyenItem(chargeback, OLD_KEY)));
    expect(result).toMatchObject({
      ok: true,
      event: { resource: { kind: 'dispute', partnerId: 'DISP000000000001' } },
    });
  });

  it('refuses a forged item signed with another key', async () => {
    const forged = signAdyenItem(item(), 'FF'.repeat(32));
    expect(await verify([OLD_KEY], body(item(), forged))).toMatchObject({
      ok: false,
      reason: 'bad_signature',
    });
  });

  it('refuses a tampered amount under the original signature', async () => {
    const signature = signAdyenItem(item(), OLD_KEY);
    const tampered = item({ amount: { value: 1, currency: 'EUR' } });
    expect(await verify([OLD_KEY], body(tampered, signature))).toMatchObject({ reason: 'bad_signature' });
  });

  it('refuses a success flipped from false to true', async () => {
    const signature = signAdyenItem(item({ success: 'false' }), OLD_KEY);
    expect(await verify([OLD_KEY], body(item(), signature))).toMatchObject({ reason: 'bad_signature' });
  });

  it('accepts old and new keys during a rotation, and refuses the old one once it is removed', async () => {
    const byOld = body(item(), signAdyenItem(item(), OLD_KEY));
    const byNew = body(item(), signAdyenItem(item(), NEW_KEY));
    expect(await verify([NEW_KEY, OLD_KEY], byOld)).toMatchObject({ ok: true });
    expect(await verify([NEW_KEY, OLD_KEY], byNew)).toMatchObject({ ok: true });
    expect(await verify([NEW_KEY], byOld)).toMatchObject({ ok: false, reason: 'bad_signature' });
    expect(await verify([NEW_KEY], byNew)).toMatchObject({ ok: true });
  });

  it('refuses an item without a signature, a batch of several items, and everything when no key is set', async () => {
    const unsigned = Buffer.from(
      JSON.stringify({ live: 'false', notificationItems: [{ NotificationRequestItem: item() }] }),
    );
    expect(await verify([OLD_KEY], unsigned)).toMatchObject({ reason: 'malformed_signature' });
    const signature = signAdyenItem(item(), OLD_KEY);
    const batch = body(item(), signature, [
      { NotificationRequestItem: item({ pspReference: 'OTHER00000000001' }) },
    ]);
    expect(await verify([OLD_KEY], batch)).toMatchObject({ reason: 'malformed_body' });
    expect(await verify([], body(item(), signature))).toMatchObject({ reason: 'not_configured' });
    expect(await verify([OLD_KEY], Buffer.from('[accepted]'))).toMatchObject({ reason: 'malformed_body' });
  });

  it('acknowledges an event Tributary does not act on without naming a resource', async () => {
    const report = item({ eventCode: 'REPORT_AVAILABLE' });
    expect(await verify([OLD_KEY], body(report, signAdyenItem(report, OLD_KEY)))).toMatchObject({
      ok: true,
      event: { resource: null },
    });
  });

  it('hands every verified payment item to the sink, and no refused one', async () => {
    const recorded: string[] = [];
    const sink: NotificationSink = { recordNotification: async (eventId) => void recorded.push(eventId) };
    await verify([OLD_KEY], body(item(), signAdyenItem(item(), OLD_KEY)), sink);
    await verify(
      [OLD_KEY],
      body(item({ amount: { value: 1, currency: 'EUR' } }), signAdyenItem(item(), OLD_KEY)),
      sink,
    );
    expect(recorded).toEqual(['AUTHORISATION:QFQTPCQ8HXSKGK82:true']);
  });

  it('answers `[accepted]`, as Adyen expects', () => {
    expect(adyen.webhooks.acknowledgement).toEqual({ contentType: 'text/plain', body: '[accepted]' });
  });
});

describe('a replayed Adyen delivery', () => {
  let db: Db;
  beforeAll(async () => {
    db = await testBackends()[0]!.open();
  });
  afterAll(async () => db?.close());

  it('is one inbox event: the second delivery is a duplicate, not a second row', async () => {
    const raw = body(item(), signAdyenItem(item(), OLD_KEY));
    const inbox = new WebhookRepository(db);
    const stored = [];
    for (const attempt of [1, 2]) {
      const result = await verify([OLD_KEY], raw);
      if (!result.ok) throw new Error(`delivery ${attempt} refused: ${result.detail}`);
      stored.push(
        await inbox.insert({
          provider: 'adyen',
          event: result.event,
          body: raw,
          headers: {},
          verification: result.method,
          receivedAt: NOW,
        }),
      );
    }
    expect(stored.map((entry) => entry.inserted)).toEqual([true, false]);
    expect(stored[1]!.id).toBe(stored[0]!.id);
  });
});
