/**
 * The webhook inbox repository (table `webhook_events`, migration 030). Rows are verified deliveries;
 * see the migration for the status life cycle. Workers claim rows with `FOR UPDATE SKIP LOCKED` inside a
 * short transaction and hold them by lease (`locked_by`, `locked_until`), so several replicas never
 * process one row at the same time and a crashed worker's rows come back when its lease lapses.
 */
import { randomUUID } from 'node:crypto';
import type { PaymentStatus, ProviderName } from '../domain/model.js';
import type { CanonicalWebhookEvent } from '../domain/webhooks.js';
import type { Db, GuardedStatement, Queryable } from './db.js';

export const WEBHOOK_STATUSES = ['pending', 'processing', 'processed', 'ignored', 'dead'] as const;
export type WebhookStatus = (typeof WEBHOOK_STATUSES)[number];

/**
 * Sends `guarded` (the update that ends a claim, RETURNING a row only while the lease is the caller's)
 * with what the caller records, atomically, and resolves whether it matched (AuditLog.stageWith).
 */
export type RecordWith = (db: Db, guarded: GuardedStatement) => Promise<boolean>;

/** One inbox row, without the body unless asked for. */
export interface WebhookEventRecord {
  id: string;
  provider: ProviderName;
  partnerEventId: string;
  type: string;
  resource: CanonicalWebhookEvent['resource'];
  verification: string;
  status: WebhookStatus;
  attempts: number;
  nextAttemptAt: Date;
  lastError: string | null;
  occurredAt: Date | null;
  receivedAt: Date;
  processedAt: Date | null;
  duplicates: number;
}

/** What the route stores for one verified delivery. */
export interface NewWebhookEvent {
  provider: ProviderName;
  event: CanonicalWebhookEvent;
  body: Buffer;
  headers: Record<string, string>;
  verification: string;
  receivedAt: Date;
}

export interface ListWebhookOptions {
  limit: number;
  statuses?: readonly WebhookStatus[] | null;
  provider?: ProviderName | null;
  since?: Date | null;
  until?: Date | null;
  /** With pending rows: true only those that failed before (retrying), false only never tried. */
  retried?: boolean | null;
  /** Keyset cursor: rows strictly older than this (received_at, id). */
  before?: { receivedAt: Date; id: string } | null;
}

interface Row {
  id: string;
  provider: ProviderName;
  partner_event_id: string;
  event_type: string;
  resource_kind: NonNullable<CanonicalWebhookEvent['resource']>['kind'] | null;
  resource_id: string | null;
  verification: string;
  status: WebhookStatus;
  attempts: number;
  next_attempt_at: Date;
  last_error: string | null;
  occurred_at: Date | null;
  received_at: Date;
  processed_at: Date | null;
  duplicates: number;
}

const COLUMNS = `id, provider, partner_event_id, event_type, resource_kind, resource_id, verification, status,
  attempts, next_attempt_at, last_error, occurred_at, received_at, processed_at, duplicates`;

function toRecord(row: Row): WebhookEventRecord {
  return {
    id: row.id,
    provider: row.provider,
    partnerEventId: row.partner_event_id,
    type: row.event_type,
    resource:
      row.resource_kind && row.resource_id ? { kind: row.resource_kind, partnerId: row.resource_id } : null,
    verification: row.verification,
    status: row.status,
    attempts: row.attempts,
    nextAttemptAt: row.next_attempt_at,
    lastError: row.last_error,
    occurredAt: row.occurred_at,
    receivedAt: row.received_at,
    processedAt: row.processed_at,
    duplicates: row.duplicates,
  };
}

export class WebhookRepository {
  constructor(private readonly db: Db) {}

  /**
   * Stores a verified delivery once per (provider, event id). Returns the row id and whether this call
   * inserted it; a duplicate only bumps the row's duplicate count. Durable when it returns.
   */
  async insert(event: NewWebhookEvent): Promise<{ id: string; inserted: boolean }> {
    const id = randomUUID();
    const inserted = await this.db.query<{ id: string }>(
      `INSERT INTO webhook_events (id, provider, partner_event_id, event_type, resource_kind, resource_id, body,
         headers, verification, status, attempts, next_attempt_at, occurred_at, received_at)
       VALUES ($1, $2, $3, $4, $5, $6, $7, $8::jsonb, $9, 'pending', 0, $10, $11, $10)
       ON CONFLICT (provider, partner_event_id) DO NOTHING RETURNING id`,
      [
        id,
        event.provider,
        event.event.partnerEventId,
        event.event.type,
        event.event.resource?.kind ?? null,
        event.event.resource?.partnerId ?? null,
        event.body,
        JSON.stringify(event.headers),
        event.verification,
        event.receivedAt,
        event.event.occurredAt,
      ],
    );
    if (inserted.length > 0) return { id: inserted[0]!.id, inserted: true };
    const [existing] = await this.db.query<{ id: string }>(
      `UPDATE webhook_events SET duplicates = duplicates + 1
       WHERE provider = $1 AND partner_event_id = $2 RETURNING id`,
      [event.provider, event.event.partnerEventId],
    );
    if (!existing) throw new Error('A webhook event conflicted on insert but cannot be found.');
    return { id: existing.id, inserted: false };
  }

  /**
   * Claims up to `limit` due rows for `owner` until `leaseUntil`: pending rows whose next attempt is due,
   * and processing rows whose lease lapsed. Rows another worker holds are skipped, not waited for.
   */
  async claim(owner: string, limit: number, now: Date, leaseUntil: Date): Promise<WebhookEventRecord[]> {
    // One statement is its own transaction: the rows it locks are updated and committed together, so
    // no BEGIN and COMMIT around it (the worker polls this; two round trips saved on each poll).
    const rows = await this.db.query<Row>(
      `UPDATE webhook_events SET status = 'processing', locked_by = $1, locked_until = $2, attempts = attempts + 1
       WHERE id IN (
         SELECT id FROM webhook_events
         WHERE (status = 'pending' AND next_attempt_at <= $3) OR (status = 'processing' AND locked_until <= $3)
         ORDER BY next_attempt_at, id
         LIMIT $4
         FOR UPDATE SKIP LOCKED)
       RETURNING ${COLUMNS}`,
      [owner, leaseUntil, now, limit],
    );
    return rows.map(toRecord).sort((a, b) => a.nextAttemptAt.getTime() - b.nextAttemptAt.getTime());
  }

  /**
   * Ends a claim: processed or ignored. `record` sends the lease-guarded update together with what it
   * records (the worker's audit entries, which it writes only when the row is ours), so the mark and
   * the record commit together or not at all. False, with nothing written, when the lease was lost to
   * another worker.
   */
  async complete(
    id: string,
    owner: string,
    status: 'processed' | 'ignored',
    now: Date,
    record?: RecordWith,
  ): Promise<boolean> {
    return this.finish(
      `UPDATE webhook_events SET status = $3, locked_by = NULL, locked_until = NULL, processed_at = $4, last_error = NULL
       WHERE id = $1 AND locked_by = $2 AND status = 'processing' RETURNING 1`,
      [id, owner, status, now],
      record,
    );
  }

  /**
   * Ends a failed claim: back to pending at `retryAt`, or dead when `retryAt` is null. `record` and the
   * result are as for `complete`.
   */
  async fail(
    id: string,
    owner: string,
    error: string,
    retryAt: Date | null,
    record?: RecordWith,
  ): Promise<boolean> {
    return this.finish(
      `UPDATE webhook_events
       SET status = $3, locked_by = NULL, locked_until = NULL, last_error = $4, next_attempt_at = coalesce($5, next_attempt_at)
       WHERE id = $1 AND locked_by = $2 AND status = 'processing' RETURNING 1`,
      [id, owner, retryAt ? 'pending' : 'dead', error.slice(0, 1_000), retryAt],
      record,
    );
  }

  /**
   * Runs one lease-guarded update, alone or through `record`, which sends it with what it records
   * (AuditLog.stageWith: in the same statement, so the two commit together in one round trip).
   */
  private async finish(
    sql: string,
    params: readonly unknown[],
    record: RecordWith | undefined,
  ): Promise<boolean> {
    if (!record) return (await this.db.query(sql, params)).length > 0;
    return record(this.db, { sql, params });
  }

  /**
   * Puts finished or dead rows back to pending with fresh attempts (operator replay). Rows being
   * processed are left alone. Returns the ids replayed.
   */
  async replay(
    filter: { id?: string; since?: Date; provider?: ProviderName | null },
    now: Date,
  ): Promise<string[]> {
    const rows = await this.db.query<{ id: string }>(
      `UPDATE webhook_events SET status = 'pending', attempts = 0, next_attempt_at = $1, last_error = NULL
       WHERE status IN ('processed', 'ignored', 'dead', 'pending')
         AND ($2::uuid IS NULL OR id = $2::uuid)
         AND ($3::timestamptz IS NULL OR received_at >= $3)
         AND ($4::text IS NULL OR provider = $4)
       RETURNING id`,
      [now, filter.id ?? null, filter.since ?? null, filter.provider ?? null],
    );
    return rows.map((row) => row.id);
  }

  async get(id: string): Promise<WebhookEventRecord | null> {
    if (!/^[0-9a-f-]{36}$/i.test(id)) return null;
    const [row] = await this.db.query<Row>(`SELECT ${COLUMNS} FROM webhook_events WHERE id = $1`, [id]);
    return row ? toRecord(row) : null;
  }

  /** The stored raw body and headers (replay tooling, investigations). */
  async raw(id: string): Promise<{ body: Buffer; headers: Record<string, string> } | null> {
    const [row] = await this.db.query<{ body: Buffer; headers: Record<string, string> }>(
      'SELECT body, headers FROM webhook_events WHERE id = $1',
      [id],
    );
    return row ?? null;
  }

  /** Newest first, filtered; `before` continues a previous page. */
  async list(options: ListWebhookOptions): Promise<WebhookEventRecord[]> {
    const rows = await this.db.query<Row>(
      `SELECT ${COLUMNS} FROM webhook_events
       WHERE ($1::text[] IS NULL OR status = ANY($1::text[]))
         AND ($2::text IS NULL OR provider = $2)
         AND ($3::timestamptz IS NULL OR received_at >= $3)
         AND ($4::timestamptz IS NULL OR received_at < $4)
         AND ($5::timestamptz IS NULL OR (received_at, id) < ($5, $6::uuid))
         AND ($8::boolean IS NULL OR (attempts > 0) = $8)
       ORDER BY received_at DESC, id DESC
       LIMIT $7`,
      [
        options.statuses && options.statuses.length > 0 ? [...options.statuses] : null,
        options.provider ?? null,
        options.since ?? null,
        options.until ?? null,
        options.before?.receivedAt ?? null,
        options.before?.id ?? null,
        options.limit,
        options.retried ?? null,
      ],
    );
    return rows.map(toRecord);
  }

  /** Per partner, seconds since the oldest event not yet processed was received (inbox lag). */
  async oldestPendingSeconds(): Promise<Record<string, number>> {
    const rows = await this.db.query<{ provider: string; age: number }>(
      `SELECT provider, EXTRACT(EPOCH FROM now() - min(received_at))::float8 AS age
       FROM webhook_events WHERE status IN ('pending', 'processing') GROUP BY provider`,
    );
    return Object.fromEntries(rows.map((row) => [row.provider, Math.max(0, Number(row.age))]));
  }

  /** Rows per status, for readiness and metrics. */
  async counts(): Promise<Record<WebhookStatus, number>> {
    const rows = await this.db.query<{ status: WebhookStatus; n: number }>(
      'SELECT status, count(*)::int AS n FROM webhook_events GROUP BY status',
    );
    const counts = Object.fromEntries(WEBHOOK_STATUSES.map((status) => [status, 0])) as Record<
      WebhookStatus,
      number
    >;
    for (const row of rows) counts[row.status] = row.n;
    return counts;
  }
}

/**
 * The subject a recorded payment belongs to (the worker fetches the payment on that subject's behalf),
 * and its status as read now (passed on as the report's `seen`, which spares the ledger a read).
 */
export async function paymentOwner(
  q: Queryable,
  paymentId: string,
): Promise<{ subject: string; status: PaymentStatus } | null> {
  const [row] = await q.query<{ subject: string; status: PaymentStatus }>(
    'SELECT subject, status FROM payments WHERE id = $1',
    [paymentId],
  );
  return row ?? null;
}
