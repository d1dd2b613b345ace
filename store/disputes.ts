/**
 * Disputes against ledger payments (table `disputes`, migration 090): what dispute webhooks pulled from
 * the partner, linked to the payment by its ledger id. Writes are monotonic by the copy's `updatedAt`:
 * a copy no newer than the stored one is stale and changes nothing, and a copy that says what the row
 * already says changes nothing either, so duplicates, replays and out-of-order events are harmless and
 * every change is reported exactly once (for the audit entry and the metrics).
 *
 * Reads for the graph are bound to a subject (through the payment's owner), like payments.
 */
import type { Dispute, DisputeStatus, ProviderName } from '../domain/model.js';
import type { Db, Queryable } from './db.js';

/** A dispute as stored: the canonical dispute and the ledger payment it is linked to. */
export interface DisputeRecord extends Dispute {
  paymentId: string;
}

/** What an upsert did: `opened` (first copy), `updated`, `unchanged` (same state) or `stale` (older copy). */
export interface DisputeChange {
  outcome: 'opened' | 'updated' | 'unchanged' | 'stale';
  /** The status before the call; null when the dispute was new. */
  from: DisputeStatus | null;
  /** The status the row holds after the call. */
  to: DisputeStatus;
}

/** One row of the operations list: the dispute, and who owns its payment (for the operator's eyes only). */
export interface DisputeListing extends DisputeRecord {
  subject: string;
}

/** Statuses in which the merchant still has something to do or wait for. */
export const OPEN_DISPUTE_STATUSES: readonly DisputeStatus[] = ['NEEDS_RESPONSE', 'UNDER_REVIEW'];

interface DisputeRow {
  provider: ProviderName;
  partner_id: string;
  payment_id: string;
  payment_partner_id: string | null;
  amount_minor: string | number | bigint;
  currency: string;
  reason: Dispute['reason'];
  status: DisputeStatus;
  evidence_due_by: Date | string | null;
  opened_at: Date | string;
  updated_at: Date | string;
  subject?: string;
}

const SELECT = `SELECT d.provider, d.partner_id, d.payment_id, p.partner_id AS payment_partner_id, d.amount_minor,
  d.currency, d.reason, d.status, d.evidence_due_by, d.opened_at, d.updated_at, p.subject
  FROM disputes d JOIN payments p ON p.id = d.payment_id`;

function toRecord(row: DisputeRow): DisputeRecord {
  return {
    id: row.partner_id,
    provider: row.provider,
    partnerId: row.partner_id,
    partnerPaymentId: row.payment_partner_id,
    paymentId: row.payment_id,
    amount: { minor: BigInt(row.amount_minor), currency: row.currency },
    reason: row.reason,
    status: row.status,
    evidenceDueBy: row.evidence_due_by === null ? null : new Date(row.evidence_due_by),
    openedAt: new Date(row.opened_at),
    updatedAt: new Date(row.updated_at),
  };
}

/** Whether two copies say the same thing (the version aside). */
function sameState(row: DisputeRow, dispute: DisputeRecord): boolean {
  const due = row.evidence_due_by === null ? null : new Date(row.evidence_due_by).getTime();
  return (
    row.status === dispute.status &&
    row.reason === dispute.reason &&
    BigInt(row.amount_minor) === dispute.amount.minor &&
    row.currency === dispute.amount.currency &&
    due === (dispute.evidenceDueBy?.getTime() ?? null)
  );
}

export class DisputeRepository {
  constructor(
    private readonly db: Db,
    private readonly now: () => Date = () => new Date(),
  ) {}

  /** Records a pulled copy of a dispute if it is new or newer and different; see DisputeChange. */
  upsert(dispute: DisputeRecord): Promise<DisputeChange> {
    return this.db.transaction(async (tx) => {
      const inserted = await tx.query(
        `INSERT INTO disputes (provider, partner_id, payment_id, amount_minor, currency, reason, status,
           evidence_due_by, opened_at, updated_at, recorded_at)
         VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11)
         ON CONFLICT (provider, partner_id) DO NOTHING RETURNING 1`,
        [...this.values(dispute), this.now()],
      );
      if (inserted.length > 0) return { outcome: 'opened', from: null, to: dispute.status };
      return this.update(tx, dispute);
    });
  }

  private async update(tx: Queryable, dispute: DisputeRecord): Promise<DisputeChange> {
    const [row] = await tx.query<DisputeRow>(
      'SELECT * FROM disputes WHERE provider = $1 AND partner_id = $2 FOR UPDATE',
      [dispute.provider, dispute.partnerId],
    );
    if (!row) throw new Error('dispute row vanished inside its transaction');
    const from = row.status;
    if (new Date(row.updated_at).getTime() >= dispute.updatedAt.getTime())
      return { outcome: 'stale', from, to: from };
    if (sameState(row, dispute)) return { outcome: 'unchanged', from, to: from };
    await tx.query(
      `UPDATE disputes SET amount_minor = $3, currency = $4, reason = $5, status = $6, evidence_due_by = $7,
         updated_at = $8, recorded_at = $9
       WHERE provider = $1 AND partner_id = $2`,
      [
        dispute.provider,
        dispute.partnerId,
        dispute.amount.minor,
        dispute.amount.currency,
        dispute.reason,
        dispute.status,
        dispute.evidenceDueBy,
        dispute.updatedAt,
        this.now(),
      ],
    );
    return { outcome: 'updated', from, to: dispute.status };
  }

  private values(dispute: DisputeRecord): unknown[] {
    return [
      dispute.provider,
      dispute.partnerId,
      dispute.paymentId,
      dispute.amount.minor,
      dispute.amount.currency,
      dispute.reason,
      dispute.status,
      dispute.evidenceDueBy,
      dispute.openedAt,
      dispute.updatedAt,
    ];
  }

  /** The disputes of the subject's payments among `paymentIds`, oldest first; others' are absent. */
  async byPayments(subject: string, paymentIds: readonly string[]): Promise<Map<string, DisputeRecord[]>> {
    const out = new Map<string, DisputeRecord[]>(paymentIds.map((id) => [id, []]));
    if (paymentIds.length === 0) return out;
    const rows = await this.db.query<DisputeRow>(
      `${SELECT} WHERE p.subject = $1 AND d.payment_id = ANY($2) ORDER BY d.opened_at, d.partner_id`,
      [subject, [...new Set(paymentIds)]],
    );
    for (const row of rows) out.get(row.payment_id)?.push(toRecord(row));
    return out;
  }

  /**
   * Disputes across customers for operators: open ones first, the nearest evidence deadline first
   * (none last), then closed ones, most recently changed first.
   */
  async list(options: { limit: number; openOnly?: boolean }): Promise<DisputeListing[]> {
    const rows = await this.db.query<DisputeRow>(
      `${SELECT} WHERE ($1::boolean IS NOT TRUE OR d.status = ANY($2))
       ORDER BY (d.status = ANY($2)) DESC, CASE WHEN d.status = ANY($2) THEN d.evidence_due_by END ASC NULLS LAST,
         d.updated_at DESC, d.partner_id
       LIMIT $3`,
      [options.openOnly ?? false, [...OPEN_DISPUTE_STATUSES], options.limit],
    );
    return rows.map((row) => ({ ...toRecord(row), subject: row.subject ?? '' }));
  }

  /** Open disputes per partner (the metrics gauge reads it at scrape). */
  async openCounts(): Promise<Record<ProviderName, number>> {
    const rows = await this.db.query<{ provider: ProviderName; n: string | number }>(
      'SELECT provider, count(*) AS n FROM disputes WHERE status = ANY($1) GROUP BY provider',
      [[...OPEN_DISPUTE_STATUSES]],
    );
    return Object.fromEntries(rows.map((row) => [row.provider, Number(row.n)]));
  }
}
