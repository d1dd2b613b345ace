/**
 * Erasing a customer (GDPR Art. 17; `eraseCustomer`, `tributary erase --subject`):
 *
 *   1. every consent revoked and its link deleted at the partner (Open Banking's consent, Plaid's Item);
 *      when a partner cannot confirm, the erasure stops here with PARTNER_UNAVAILABLE and is run again
 *      later: the consents are revoked already, so nothing is read for the customer meanwhile;
 *   2. payments, idempotency keys and webhook events pseudonymised in one transaction (amounts,
 *      statuses and partner references kept for the ledger; store/erasure.ts);
 *   3. consent records and their sealed credentials deleted;
 *   4. cached partner data (every replica, through the change feed) and partner-local copies dropped;
 *   5. the subject and personal details erased from the audit log, whose chain still verifies;
 *   6. the erasure itself audited, under the pseudonym.
 *
 * The pseudonym is an HMAC of the subject under a key derived from the secrets key: stable (running the
 * erasure again finds the same rows) and not reversible without that key.
 */
import { createHmac, randomUUID } from 'node:crypto';
import type { Logger } from 'pino';
import { InputError, PartnerError } from '../../domain/errors.js';
import type { ProviderName } from '../../domain/model.js';
import type { AuditLog } from '../../store/audit.js';
import type { ChangeFeed } from '../../store/change-feed.js';
import type { ConsentRepository } from '../../store/consents.js';
import type { CoreErasure, ErasureRepository } from '../../store/erasure.js';

/** The change-feed topic that tells every replica a subject was erased; the key is the subject. */
export const ERASURE_TOPIC = 'erasure';

/** What an erasure did, for the operator and the audit log. */
export interface ErasureReport extends CoreErasure {
  pseudonym: string;
  consentsRevoked: number;
  consentsDeleted: number;
  /** Links whose local partner data was dropped, per partner. */
  localCopies: Partial<Record<ProviderName, number>>;
  auditEntriesErased: number;
}

export interface ErasureDeps {
  consents: ConsentRepository;
  /** Deletes due revocations at the partners (services/consents). */
  revocations: {
    runPartnerRevocations(limit: number, logger: Logger, onlyId?: string): Promise<{ failed: number }>;
  };
  core: ErasureRepository;
  /** Drops partner-local copies and this replica's cached partner data (the registry). */
  partners: { eraseSubject(subject: string): Promise<Map<ProviderName, number>> };
  changes: ChangeFeed;
  audit: AuditLog;
  logger: Logger;
  /** Keys the pseudonym. */
  pseudonymKey: string | Buffer;
}

/** How many links' local partner data the erasure dropped, over every partner. */
export function localCopiesOf(report: Pick<ErasureReport, 'localCopies'>): number {
  return Object.values(report.localCopies).reduce<number>((total, count) => total + (count ?? 0), 0);
}

const SUBJECT = /^[A-Za-z0-9_.:@-]{1,128}$/;

export class CustomerErasure {
  constructor(private readonly deps: ErasureDeps) {}

  /** The subject's stable pseudonym. */
  pseudonymOf(subject: string): string {
    const digest = createHmac('sha256', this.deps.pseudonymKey).update(`erasure.v1:${subject}`).digest('hex');
    return `erased-${digest.slice(0, 24)}`;
  }

  /** Erases the subject; `actor` names the operator (`operator:<sub>`, `cli`). */
  async erase(subject: string, actor: string, reason: string): Promise<ErasureReport> {
    if (!SUBJECT.test(subject)) throw new InputError('Not a customer id.', 'subject');
    if (subject.startsWith('erased-')) throw new InputError('That is a pseudonym already.', 'subject');
    const logger = this.deps.logger.child({ component: 'erasure', correlationId: randomUUID() });
    const pseudonym = this.pseudonymOf(subject);

    // 1. Revoked here, then deleted at the partners.
    const consents = await this.deps.consents.listBySubject(subject);
    let consentsRevoked = 0;
    for (const consent of consents) {
      if (consent.status === 'REVOKED' || consent.status === 'REJECTED') continue;
      await this.deps.consents.revokeWithPartner(subject, consent.id);
      consentsRevoked += 1;
    }
    const undeleted: ProviderName[] = [];
    for (const consent of consents) {
      const run = await this.deps.revocations.runPartnerRevocations(1, logger, consent.id);
      if (run.failed > 0) undeleted.push(consent.provider);
    }
    if (undeleted.length > 0) {
      throw new PartnerError({
        partner: undeleted[0]!,
        code: 'PARTNER_UNAVAILABLE',
        retryable: true,
        endpoint: 'delete a link at the partner',
        issues: [
          `${undeleted.length} link(s) could not be deleted at ${[...new Set(undeleted)].join(', ')}; run the erasure again later`,
        ],
      });
    }

    // 2.-5.
    const core = await this.deps.core.pseudonymise(subject, pseudonym);
    const consentsDeleted = await this.deps.consents.eraseSubject(subject);
    const localCopies = Object.fromEntries(await this.deps.partners.eraseSubject(subject));
    await this.deps.changes.publish(ERASURE_TOPIC, subject);
    const auditEntriesErased = await this.deps.audit.erase(subject);

    const report: ErasureReport = {
      pseudonym,
      consentsRevoked,
      consentsDeleted,
      ...core,
      localCopies,
      auditEntriesErased,
    };
    // 6. Under the pseudonym, never the subject: this entry is not erased by a later request.
    await this.deps.audit.append({
      actor,
      action: 'customer.erased',
      subject: null,
      target: `customer:${pseudonym}`,
      details: { ...report, reason: reason.slice(0, 200) },
    });
    logger.info({ pseudonym, ...core, consentsDeleted, auditEntriesErased }, 'Customer erased.');
    return report;
  }
}
