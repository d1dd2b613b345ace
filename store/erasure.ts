/**
 * Erasure in the core tables (DESIGN §12), in one transaction: what the ledger must keep (amounts,
 * currencies, statuses, partner references, times) stays under a pseudonym; what identifies or
 * describes the person goes.
 *
 * - payments: `subject` becomes the pseudonym; creditor details, the reference, the debtor account
 *   and the next action (URLs naming the customer's session) are blanked; status history and refunds
 *   are kept (statuses, amounts, times).
 * - idempotency keys: `subject` becomes the pseudonym (keys stay unique per pseudonym); the stored
 *   response and recovery data (payment payloads with the creditor and reference) are replaced by a
 *   marker, so a replay can no longer answer, which is right: the customer is gone.
 * - webhook events about the subject's payments (and their disputes) and links: the raw body and headers are replaced by
 *   nothing (the event id, type, status and times stay), so no partner payload about them remains;
 *   events about a link also lose the link's handle (a Plaid Item id names the customer at Plaid).
 *
 * Consents, the audit log and partner-local copies have their own erasure (store/consents.ts,
 * store/audit.ts, Provider.eraseSubject); services/erasure runs them all.
 */
import type { Db } from './db.js';

/** How many rows of each kind were pseudonymised or blanked. */
export interface CoreErasure {
  payments: number;
  idempotencyKeys: number;
  webhookEvents: number;
}

/** What replaces a blanked reference (the column is NOT NULL: a payment always had one). */
export const ERASED = '[erased]';

export class ErasureRepository {
  constructor(private readonly db: Db) {}

  /** Pseudonymises the subject's rows in the core tables; idempotent (a second run changes nothing). */
  async pseudonymise(subject: string, pseudonym: string): Promise<CoreErasure> {
    return this.db.transaction(async (tx) => {
      // Partner references first: the webhook events are found through them.
      // Events about her payments keep the payment's partner id (the ledger keeps it too); events
      // about her links lose the link's handle as well.
      const paymentEvents = await tx.query(
        `UPDATE webhook_events SET body = ''::bytea, headers = '{}'::jsonb, last_error = NULL
         WHERE (body <> ''::bytea OR headers <> '{}'::jsonb)
           AND ((provider, resource_id) IN (SELECT provider, partner_id FROM payments WHERE subject = $1)
             OR (provider, resource_id) IN (SELECT d.provider, d.partner_id FROM disputes d
               JOIN payments p ON p.id = d.payment_id WHERE p.subject = $1))
         RETURNING id`,
        [subject],
      );
      const linkEvents = await tx.query(
        `UPDATE webhook_events SET body = ''::bytea, headers = '{}'::jsonb, last_error = NULL,
           resource_kind = NULL, resource_id = NULL
         WHERE (provider, resource_id) IN (SELECT provider, partner_ref FROM consents WHERE subject = $1)
         RETURNING id`,
        [subject],
      );
      const payments = await tx.query(
        `UPDATE payments SET subject = $2, creditor_name = NULL, creditor_sort_code = NULL,
           creditor_account_last4 = NULL, creditor_iban_minimal = NULL, reference = $3,
           debtor_account_id = NULL, next_action = NULL
         WHERE subject = $1 RETURNING id`,
        [subject, pseudonym, ERASED],
      );
      const keys = await tx.query(
        `UPDATE idempotency_keys SET subject = $2, recovery = NULL,
           response = CASE WHEN state = 'finished' THEN '{"erased": true}'::jsonb END
         WHERE subject = $1 RETURNING key`,
        [subject, pseudonym],
      );
      return {
        payments: payments.length,
        idempotencyKeys: keys.length,
        webhookEvents: paymentEvents.length + linkEvents.length,
      };
    });
  }
}
