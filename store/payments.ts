/**
 * The payments ledger: every payment initiated through Tributary, its canonical status, its partner
 * reference, its append-only status history (`payment_events`) and its refunds.
 *
 * This repository only reads and writes rows. Which status changes are allowed is decided by the state
 * machine in services/payments; status writes go through its `applyStatus`, which moves a status it read
 * with `moveStatus` (a compare-and-set, one statement with the history it adds), or inside a caller's
 * transaction locks the row first (`lockForStatus`).
 *
 * Data minimisation: a creditor's account number is stored as its last four digits and an IBAN as its
 * country code plus last four characters, which is all the graph ever shows.
 */
import type { Payment, PaymentEvent, PaymentStatus, ProviderName, Refund } from '../domain/model.js';
import type { Db, Queryable } from './db.js';
import {
  minimalCreditor,
  storeRoute,
  toPayment,
  type EventRow,
  type PaymentRow,
  type RefundRow,
} from './payment-rows.js';

export { minimalCreditor } from './payment-rows.js';

/** What a status decision needs, read under a row lock. */
export interface LockedPayment {
  id: string;
  subject: string;
  status: PaymentStatus;
  amountMinor: bigint;
  refundedMinor: bigint;
  currency: string;
}

/** Optional fields that change with a status. */
export interface StatusPatch {
  failureReason?: string | null;
  nextAction?: Payment['nextAction'];
}

/** One ledger row in the form reconciliation compares with a partner's own ledger. */
export interface LedgerEntry {
  id: string;
  provider: ProviderName;
  partnerId: string;
  subject: string;
  status: PaymentStatus;
  amountMinor: bigint;
  currency: string;
  /** Refunded or reserved by pending refunds, in minor units (reconciliation compares it). */
  refundedMinor?: bigint;
  /** When the ledger recorded it (reconciliation's default floor of the partner's list). */
  createdAt?: Date;
}

const CHAIN = `ARRAY['PENDING','REQUIRES_ACTION','PROCESSING','AUTHORISED','SETTLED','PARTIALLY_REFUNDED',
  'REFUNDED','FAILED','CANCELLED']`;

const EVENTS = `coalesce((SELECT json_agg(json_build_object('payment_id', e.payment_id, 'status', e.status,
    'at', e.at, 'source', e.source, 'detail', e.detail) ORDER BY e.at, array_position(${CHAIN}, e.status))
  FROM payment_events e WHERE e.payment_id = p.id), '[]'::json)`;
const REFUNDS = `coalesce((SELECT json_agg(json_build_object('id', r.id, 'payment_id', r.payment_id,
    'amount_minor', r.amount_minor::text, 'currency', r.currency, 'status', r.status,
    'created_at', r.created_at) ORDER BY r.created_at, r.id)
  FROM refunds r WHERE r.payment_id = p.id), '[]'::json)`;

/**
 * A payment row's status history and refunds, aggregated in the row's own statement (one round trip
 * per read, not three). Amounts travel as text (JSON numbers would lose bigint precision), times as
 * ISO 8601 text.
 */
const CHILDREN = `${EVENTS} AS events_json, ${REFUNDS} AS refunds_json`;

/**
 * The payments row `p` with its history and refunds as one JSON value, for a statement that reads a
 * payment alongside something else (the idempotency claim, so a replay is one statement). The bigint
 * columns are overridden as text; read it back with `paymentFromJson`.
 */
export const PAYMENT_JSON = `(to_jsonb(p) || jsonb_build_object('amount_minor', p.amount_minor::text,
  'refunded_minor', p.refunded_minor::text, 'events_json', ${EVENTS}, 'refunds_json', ${REFUNDS}))`;

/** A payments row with its children (CHILDREN), as JSON. */
type HydratedRow = PaymentRow & {
  events_json: (Omit<EventRow, 'at'> & { at: string })[];
  refunds_json: (Omit<RefundRow, 'created_at'> & { created_at: string })[];
};

/** Repository of payments, their status history and refunds. */
export class PaymentRepository {
  constructor(private readonly db: Db) {}

  /**
   * Records a payment the partner created, with no status history yet (the caller applies the first
   * status). Returns false when the payment was already recorded, which leaves the row unchanged.
   */
  async insert(q: Queryable, payment: Payment): Promise<boolean> {
    const creditor = minimalCreditor(payment.creditor);
    const rows = await q.query(
      `INSERT INTO payments (id, subject, provider, partner_id, status, amount_minor, currency,
         debtor_account_id, creditor_name, creditor_sort_code, creditor_account_last4, creditor_iban_minimal,
         reference, failure_reason, next_action, created_at, updated_at, route)
       VALUES ($1, $2, $3, $4, 'PENDING', $5, $6, $7, $8, $9, $10, $11, $12, NULL, NULL, $13, $13, $14::jsonb)
       ON CONFLICT (id) DO NOTHING RETURNING 1`,
      [
        payment.id,
        payment.ownerId,
        payment.provider,
        payment.partnerId,
        payment.amount.minor,
        payment.amount.currency,
        payment.debtorAccountId,
        creditor?.name ?? null,
        creditor?.sortCode ?? null,
        creditor?.accountNumber ?? null,
        creditor?.iban ?? null,
        payment.reference,
        payment.createdAt,
        payment.route ? JSON.stringify(storeRoute(payment.route)) : null,
      ],
    );
    return rows.length > 0;
  }

  /**
   * Records a payment the partner has just created together with its whole status history, in one
   * statement: the row in its current status and one event per status it passed. Returns the payment
   * as stored, or null (nothing written) when it was already recorded.
   */
  async insertWithHistory(
    q: Queryable,
    payment: Payment,
    events: readonly PaymentEvent[],
    patch: Required<StatusPatch>,
  ): Promise<Payment | null> {
    const creditor = minimalCreditor(payment.creditor);
    const [row] = await q.query<PaymentRow>(
      `WITH p AS (
         INSERT INTO payments (id, subject, provider, partner_id, status, amount_minor, currency,
           debtor_account_id, creditor_name, creditor_sort_code, creditor_account_last4, creditor_iban_minimal,
           reference, failure_reason, next_action, created_at, updated_at, route)
         VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13, $14, $15::jsonb, $16,
           greatest($16::timestamptz, $17::timestamptz), $22::jsonb)
         ON CONFLICT (id) DO NOTHING RETURNING *
       ), e AS (
         INSERT INTO payment_events (payment_id, status, at, source, detail)
         SELECT p.id, x.status, x.at, x.source, x.detail
         FROM p, unnest($18::text[], $19::timestamptz[], $20::text[], $21::text[]) AS x(status, at, source, detail)
       )
       SELECT * FROM p`,
      [
        payment.id,
        payment.ownerId,
        payment.provider,
        payment.partnerId,
        payment.status,
        payment.amount.minor,
        payment.amount.currency,
        payment.debtorAccountId,
        creditor?.name ?? null,
        creditor?.sortCode ?? null,
        creditor?.accountNumber ?? null,
        creditor?.iban ?? null,
        payment.reference,
        patch.failureReason,
        patch.nextAction ? JSON.stringify(patch.nextAction) : null,
        payment.createdAt,
        events.at(-1)?.at ?? payment.createdAt,
        events.map((event) => event.status),
        events.map((event) => event.at),
        events.map((event) => event.source),
        events.map((event) => event.detail),
        payment.route ? JSON.stringify(storeRoute(payment.route)) : null,
      ],
    );
    if (!row) return null;
    const eventRows: EventRow[] = events.map((event) => ({ payment_id: row.id, ...event }));
    return toPayment(row, eventRows, []);
  }

  /** A payment's status, unlocked; null when the ledger has no such payment. */
  async statusOf(q: Queryable, id: string): Promise<PaymentStatus | null> {
    const [row] = await q.query<{ status: PaymentStatus }>('SELECT status FROM payments WHERE id = $1', [id]);
    return row?.status ?? null;
  }

  /** Reads a payment's status fields and locks its row until the transaction ends. */
  async lockForStatus(q: Queryable, id: string): Promise<LockedPayment | null> {
    const [row] = await q.query<PaymentRow>(
      `SELECT id, subject, status, amount_minor, refunded_minor, currency FROM payments WHERE id = $1 FOR UPDATE`,
      [id],
    );
    if (!row) return null;
    return {
      id: row.id,
      subject: row.subject,
      status: row.status,
      amountMinor: BigInt(row.amount_minor),
      refundedMinor: BigInt(row.refunded_minor),
      currency: row.currency,
    };
  }

  /**
   * Moves a payment from `move.from` to `move.to` in one statement: the status and the fields that go
   * with it, and one history entry per status passed (`events`; an entry the payment already has is
   * kept). Only the state machine calls this. It is a compare-and-set: nothing is written unless the
   * status is still `from`, which, since statuses only move forward, means nothing moved the payment
   * since `from` was read. Resolves whether it matched.
   */
  async moveStatus(
    q: Queryable,
    id: string,
    move: {
      from: PaymentStatus;
      to: PaymentStatus;
      at: Date;
      patch?: StatusPatch;
      events: readonly PaymentEvent[];
    },
  ): Promise<boolean> {
    const patch = move.patch ?? {};
    const [row] = await q.query<{ matched: number }>(
      `WITH moved AS (
         UPDATE payments SET status = $3, updated_at = greatest(updated_at, $4),
           failure_reason = CASE WHEN $5::boolean THEN $6 ELSE failure_reason END,
           next_action = CASE WHEN $7::boolean THEN $8::jsonb ELSE next_action END
         WHERE id = $1 AND status = $2 RETURNING id
       ), history AS (
         INSERT INTO payment_events (payment_id, status, at, source, detail)
         SELECT moved.id, x.status, x.at, x.source, x.detail
         FROM moved, unnest($9::text[], $10::timestamptz[], $11::text[], $12::text[]) AS x(status, at, source, detail)
         ON CONFLICT (payment_id, status) DO NOTHING
       )
       SELECT count(*)::int AS matched FROM moved`,
      [
        id,
        move.from,
        move.to,
        move.at,
        patch.failureReason !== undefined,
        patch.failureReason ?? null,
        patch.nextAction !== undefined,
        patch.nextAction ? JSON.stringify(patch.nextAction) : null,
        move.events.map((event) => event.status),
        move.events.map((event) => event.at),
        move.events.map((event) => event.source),
        move.events.map((event) => event.detail),
      ],
    );
    return (row?.matched ?? 0) > 0;
  }

  /** Appends one history entry; false when the payment already has an entry for that status. */
  async appendEvent(q: Queryable, paymentId: string, event: PaymentEvent): Promise<boolean> {
    const rows = await q.query(
      `INSERT INTO payment_events (payment_id, status, at, source, detail) VALUES ($1, $2, $3, $4, $5)
       ON CONFLICT (payment_id, status) DO NOTHING RETURNING 1`,
      [paymentId, event.status, event.at, event.source, event.detail],
    );
    return rows.length > 0;
  }

  /**
   * Records or updates a refund (status only moves on from PENDING) and recomputes the amount
   * refunded or reserved by pending refunds.
   */
  async upsertRefund(q: Queryable, paymentId: string, refund: Refund, at: Date): Promise<void> {
    await q.query(
      `INSERT INTO refunds (id, payment_id, amount_minor, currency, status, created_at, updated_at)
       VALUES ($1, $2, $3, $4, $5, $6, $7)
       ON CONFLICT (id) DO UPDATE SET status = EXCLUDED.status, updated_at = EXCLUDED.updated_at
       WHERE refunds.status = 'PENDING' AND EXCLUDED.status <> 'PENDING'`,
      [
        refund.id,
        paymentId,
        refund.amount.minor,
        refund.amount.currency,
        refund.status,
        refund.createdAt,
        at,
      ],
    );
    await q.query(
      `UPDATE payments SET refunded_minor = (SELECT coalesce(sum(amount_minor), 0) FROM refunds
         WHERE payment_id = $1 AND status IN ('PENDING', 'SUCCEEDED')) WHERE id = $1`,
      [paymentId],
    );
  }

  /** The subject's payment with its history and refunds; null when absent or someone else's. */
  async get(subject: string, id: string, q: Queryable = this.db): Promise<Payment | null> {
    return (await this.getMany(subject, [id], q)).get(id) ?? null;
  }

  /** The subject's payments among `ids`; others' and unknown ids are absent from the map. */
  async getMany(
    subject: string,
    ids: readonly string[],
    q: Queryable = this.db,
  ): Promise<Map<string, Payment>> {
    if (ids.length === 0) return new Map();
    const rows = await q.query<HydratedRow>(
      `SELECT p.*, ${CHILDREN} FROM payments p WHERE p.subject = $1 AND p.id = ANY($2)`,
      [subject, [...ids]],
    );
    return new Map(rows.map((row) => [row.id, hydrated(row)]));
  }

  /**
   * The subject's payments, newest first, `limit` of them after the payment `afterId` (exclusive),
   * optionally only in some statuses.
   */
  async list(
    subject: string,
    options: { limit: number; afterId?: string | null; statuses?: readonly PaymentStatus[] | null },
  ): Promise<Payment[]> {
    const rows = await this.db.query<HydratedRow>(
      `SELECT p.*, ${CHILDREN} FROM payments p
       WHERE p.subject = $1
         AND ($2::text[] IS NULL OR p.status = ANY($2))
         AND ($3::text IS NULL OR (p.created_at, p.id) < (
           SELECT a.created_at, a.id FROM payments a WHERE a.id = $3 AND a.subject = $1))
       ORDER BY p.created_at DESC, p.id DESC LIMIT $4`,
      [subject, options.statuses ? [...options.statuses] : null, options.afterId ?? null, options.limit],
    );
    return rows.map(hydrated);
  }

  /** Whether the subject has a payment with this id (for cursor checks). */
  async exists(subject: string, id: string): Promise<boolean> {
    const rows = await this.db.query('SELECT 1 FROM payments WHERE subject = $1 AND id = $2', [subject, id]);
    return rows.length > 0;
  }

  /** Payments in any of `statuses`, across subjects, newest first (the operations console). */
  async inStatus(
    statuses: readonly PaymentStatus[],
    limit = 100,
  ): Promise<(LedgerEntry & { createdAt: Date })[]> {
    const rows = await this.db.query<PaymentRow>(
      'SELECT * FROM payments WHERE status = ANY($1) ORDER BY created_at DESC, id DESC LIMIT $2',
      [[...statuses], limit],
    );
    return rows.map((row) => ({
      id: row.id,
      provider: row.provider,
      partnerId: row.partner_id,
      subject: row.subject,
      status: row.status,
      amountMinor: BigInt(row.amount_minor),
      currency: row.currency,
      createdAt: new Date(row.created_at),
    }));
  }

  /**
   * Every payment at a provider (created at or after `since`, when given), oldest first: what
   * reconciliation compares with the partner.
   */
  async ledger(provider: ProviderName, since: Date | null = null): Promise<LedgerEntry[]> {
    const rows = await this.db.query<PaymentRow>(
      'SELECT * FROM payments WHERE provider = $1 AND ($2::timestamptz IS NULL OR created_at >= $2) ORDER BY created_at, id',
      [provider, since],
    );
    return rows.map((row) => ({
      id: row.id,
      provider: row.provider,
      partnerId: row.partner_id,
      subject: row.subject,
      status: row.status,
      amountMinor: BigInt(row.amount_minor),
      currency: row.currency,
      refundedMinor: BigInt(row.refunded_minor),
      createdAt: new Date(row.created_at),
    }));
  }
}

/** The payment a PAYMENT_JSON value holds. */
export function paymentFromJson(value: unknown): Payment {
  const row = value as Omit<HydratedRow, 'created_at' | 'updated_at'> & {
    created_at: string;
    updated_at: string;
  };
  return hydrated({ ...row, created_at: new Date(row.created_at), updated_at: new Date(row.updated_at) });
}

function hydrated(row: HydratedRow): Payment {
  const events = row.events_json.map((event) => ({ ...event, at: new Date(event.at) }));
  const refunds = row.refunds_json.map((refund) => ({ ...refund, created_at: new Date(refund.created_at) }));
  return toPayment(row, events, refunds);
}
