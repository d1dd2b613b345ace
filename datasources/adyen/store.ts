/**
 * What the Adyen module keeps of its payments (migration 100_adyen_payments.sql): the record of Adyen's
 * synchronous answers per pspReference, with the subject it belongs to, and every verified notification
 * item by the payment it concerns. Checkout has no "get payment" endpoint, so these two tables are the
 * module's read path; the provider folds them into the canonical payment (mapper.ts).
 *
 * Every read names the subject: a payment of another subject, or one Tributary never recorded (a
 * notification alone), is absent. Notifications are written once per event id, whoever wins the race.
 */
import type { Db } from '../../store/db.js';
import type { AdyenPaymentRecord } from './mapper.js';
import type { WireNotificationItem } from './types.js';
import type { NotificationSink } from './webhook.js';

/** A payment as kept: its record and the notifications about it. */
export interface StoredAdyenPayment {
  record: AdyenPaymentRecord;
  notifications: WireNotificationItem[];
}

/** The module's tables. */
export class AdyenPaymentStore implements NotificationSink {
  constructor(private readonly db: Db) {}

  async recordNotification(eventId: string, paymentPsp: string, item: WireNotificationItem): Promise<void> {
    await this.db.query(
      `INSERT INTO adyen_notifications (event_id, payment_psp, item) VALUES ($1, $2, $3::jsonb)
       ON CONFLICT (event_id) DO NOTHING`,
      [eventId, paymentPsp, JSON.stringify(item)],
    );
  }

  /**
   * Saves the record of the subject's payment. False, with nothing written, when the pspReference is
   * another subject's (Adyen answering about a payment we did not ask for is not ours to keep).
   */
  async save(subject: string, record: AdyenPaymentRecord): Promise<boolean> {
    const rows = await this.db.query<{ psp_reference: string }>(
      `INSERT INTO adyen_payments (psp_reference, subject, record) VALUES ($1, $2, $3::jsonb)
       ON CONFLICT (psp_reference) DO UPDATE SET record = EXCLUDED.record, updated_at = now()
         WHERE adyen_payments.subject = EXCLUDED.subject
       RETURNING psp_reference`,
      [record.pspReference, subject, JSON.stringify(record)],
    );
    return rows.length === 1;
  }

  /** The subject's payments among `psps`, with their notifications in arrival order. */
  async payments(subject: string, psps: readonly string[]): Promise<Map<string, StoredAdyenPayment>> {
    const found = new Map<string, StoredAdyenPayment>();
    if (psps.length === 0) return found;
    const rows = await this.db.query<{ psp_reference: string; record: AdyenPaymentRecord | string }>(
      'SELECT psp_reference, record FROM adyen_payments WHERE subject = $1 AND psp_reference = ANY($2::text[])',
      [subject, [...psps]],
    );
    for (const row of rows) found.set(row.psp_reference, { record: json(row.record), notifications: [] });
    if (found.size === 0) return found;
    const items = await this.db.query<{ payment_psp: string; item: WireNotificationItem | string }>(
      `SELECT payment_psp, item FROM adyen_notifications WHERE payment_psp = ANY($1::text[])
       ORDER BY received_at, event_id`,
      [[...found.keys()]],
    );
    for (const row of items) found.get(row.payment_psp)?.notifications.push(json(row.item));
    return found;
  }

  /** Every notification item with this pspReference (a dispute's own), in arrival order. */
  async itemsOf(psp: string): Promise<WireNotificationItem[]> {
    const rows = await this.db.query<{ item: WireNotificationItem | string }>(
      `SELECT item FROM adyen_notifications WHERE item->>'pspReference' = $1 ORDER BY received_at, event_id`,
      [psp],
    );
    return rows.map((row) => json(row.item));
  }

  /** The payment a merchant reference names, if the subject has one (an idempotent retry's answer). */
  async byMerchantReference(subject: string, merchantReference: string): Promise<string | null> {
    const [row] = await this.db.query<{ psp_reference: string }>(
      `SELECT psp_reference FROM adyen_payments WHERE subject = $1 AND record->>'merchantReference' = $2
       ORDER BY created_at LIMIT 1`,
      [subject, merchantReference],
    );
    return row?.psp_reference ?? null;
  }

  /** Erasure: drops the subject's payments and their notifications; returns how many payments went. */
  async eraseSubject(subject: string): Promise<number> {
    return this.db.transaction(async (tx) => {
      await tx.query(
        `DELETE FROM adyen_notifications WHERE payment_psp IN
           (SELECT psp_reference FROM adyen_payments WHERE subject = $1)`,
        [subject],
      );
      const gone = await tx.query('DELETE FROM adyen_payments WHERE subject = $1 RETURNING psp_reference', [
        subject,
      ]);
      return gone.length;
    });
  }
}

/** jsonb arrives parsed from pg and PGlite; text is parsed, for drivers that hand it over as such. */
function json<T>(value: T | string): T {
  return typeof value === 'string' ? (JSON.parse(value) as T) : value;
}
