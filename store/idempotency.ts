/**
 * Idempotency keys (DESIGN §10): the claim, the lease and the recovery points of one logical operation.
 *
 * - `claim` inserts the row with `ON CONFLICT DO NOTHING`; the primary key on (subject, mutation, key)
 *   lets exactly one attempt win, on one PostgreSQL shared by any number of replicas. No conflict
 *   target is named: racing inserts of one key also meet on the unique partner key, and that must
 *   not be an error either.
 * - A running row carries a lease (`owner_token`, `locked_until`). Every write of the owner is
 *   conditional on its token, so an owner that lost its lease can no longer move the row.
 * - A lease that lapsed (its owner crashed or hung) is taken over by one conditional UPDATE: under READ
 *   COMMITTED a second replica re-checks `locked_until` after the first one's update and matches nothing.
 * - Time comes from the database clock unless a clock is injected (tests), so replicas with skewed
 *   clocks still agree on who holds a lease.
 */
import { randomUUID } from 'node:crypto';
import type { Db, GuardedStatement, Queryable } from './db.js';
import {
  COLUMNS,
  toRecord,
  type ClaimInput,
  type ClaimResult,
  type IdempotencyRecord,
  type Json,
  type Lease,
  type RecoveryPoint,
  type Row,
} from './idempotency-record.js';
import { PAYMENT_JSON, paymentFromJson } from './payments.js';

export type {
  ClaimInput,
  ClaimResult,
  IdempotencyRecord,
  Json,
  Lease,
  RecoveryPoint,
} from './idempotency-record.js';

/** The lease was taken over by another attempt; the caller must stop writing. */
export class LeaseLostError extends Error {
  override readonly name = 'LeaseLostError';
  constructor(readonly lease: Lease) {
    super(`The lease on idempotency key ${lease.mutation}/${lease.key} was lost.`);
  }
}

const MS = `* interval '1 millisecond'`;
const PK = 'subject = $1 AND mutation = $2 AND key = $3';
/** How many times a claim re-reads after racing a reaper or a takeover before giving up. */
const CLAIM_ROUNDS = 5;

/** Repository of idempotency keys. */
export class IdempotencyStore {
  readonly #now: (() => Date) | undefined;

  /** `now` exists for tests; without it the database clock decides. */
  constructor(
    private readonly db: Db,
    options: { now?: () => Date } = {},
  ) {
    this.#now = options.now;
  }

  /** `$n` stands for the clock parameter, pushed last. */
  #clock(params: unknown[]): string {
    params.push(this.#now ? this.#now() : null);
    return `coalesce($${params.length}::timestamptz, clock_timestamp())`;
  }

  /** Claims the key, or reports why this attempt cannot run (replay, mismatch, busy). */
  async claim(input: ClaimInput): Promise<ClaimResult> {
    for (let round = 0; round < CLAIM_ROUNDS; round += 1) {
      const token = randomUUID();
      const params: unknown[] = [
        input.subject,
        input.mutation,
        input.key,
        input.fingerprint,
        input.partnerKey,
        token,
        input.leaseMs,
        input.retentionMs,
      ];
      const now = this.#clock(params);
      // One statement for both outcomes: the row already there (the key exists: a replay, a retry) as
      // this statement's snapshot sees it, else the new row. The insert is attempted only when the
      // snapshot holds no row, so a replay costs a primary-key read, not an insert that conflicts
      // (on the embedded database ~1.1 instead of ~1.8 ms). A finished key brings its payment as the
      // ledger holds it now, so a replay needs no second statement.
      const [claimed] = await this.db.query<Row & { inserted: boolean; payment_json: unknown }>(
        `WITH t AS (SELECT ${now} AS now),
         existing AS (
           SELECT ${COLUMNS},
             (SELECT ${PAYMENT_JSON} FROM payments p
              WHERE k.state = 'finished' AND p.id = k.payment_id AND p.subject = k.subject) AS payment_json
           FROM idempotency_keys k WHERE ${PK}),
         ins AS (
           INSERT INTO idempotency_keys (subject, mutation, key, fingerprint, state, recovery_point, partner_key,
             owner_token, locked_until, created_at, updated_at, expires_at)
           SELECT $1::text, $2::text, $3::text, $4::text, 'running', 'started', $5::text, $6::uuid,
             t.now + $7::float8 ${MS}, t.now, t.now, t.now + $8::float8 ${MS}
           FROM t
           WHERE NOT EXISTS (SELECT 1 FROM existing)
           ON CONFLICT DO NOTHING
           RETURNING ${COLUMNS})
         SELECT ${COLUMNS}, true AS inserted, NULL::timestamptz AS db_now, NULL::jsonb AS payment_json FROM ins
         UNION ALL
         SELECT ${COLUMNS}, false AS inserted, (SELECT now FROM t) AS db_now, payment_json FROM existing`,
        params,
      );
      if (claimed?.inserted)
        return {
          kind: 'acquired',
          lease: leaseOf(input, token),
          record: toRecord(claimed),
          takenOver: false,
        };

      // Not seen by that snapshot: a row another transaction committed while this one waited on it.
      const existing = claimed ?? (await this.#read(input));
      // Absent: reaped between the insert and the read, so insert again. (Or, astronomically unlikely,
      // another operation's partner key collided with ours: the rounds run out and the claim fails.)
      if (!existing) continue;
      const record = toRecord(existing);
      if (record.fingerprint !== input.fingerprint) return { kind: 'mismatch', record };
      if (record.state === 'finished') {
        // Only the statement above reads the payment; a row found by the re-read comes without it.
        if (!claimed) return { kind: 'finished', record };
        const payment = claimed.payment_json == null ? null : paymentFromJson(claimed.payment_json);
        return { kind: 'finished', record, payment };
      }
      if (existing.locked_until && existing.locked_until > existing.db_now) return { kind: 'busy', record };

      const taken = await this.#takeOver(input, token);
      if (taken)
        return { kind: 'acquired', lease: leaseOf(input, token), record: toRecord(taken), takenOver: true };
    }
    const record = await this.get(input.subject, input.mutation, input.key);
    if (!record) throw new Error('The idempotency key could not be claimed.');
    return { kind: 'busy', record };
  }

  async #read(input: ClaimInput): Promise<Row | undefined> {
    const params: unknown[] = [input.subject, input.mutation, input.key];
    const now = this.#clock(params);
    const [row] = await this.db.query<Row>(
      `SELECT ${COLUMNS}, ${now} AS db_now FROM idempotency_keys WHERE ${PK}`,
      params,
    );
    return row;
  }

  async #takeOver(input: ClaimInput, token: string): Promise<Row | undefined> {
    const params: unknown[] = [input.subject, input.mutation, input.key, token, input.leaseMs];
    const now = this.#clock(params);
    const [row] = await this.db.query<Row>(
      `UPDATE idempotency_keys
       SET owner_token = $4::uuid, locked_until = ${now} + $5::float8 ${MS}, attempts = attempts + 1, updated_at = ${now}
       WHERE ${PK} AND state = 'running' AND locked_until <= ${now}
       RETURNING ${COLUMNS}`,
      params,
    );
    return row;
  }

  /** The row, or null. */
  async get(subject: string, mutation: string, key: string): Promise<IdempotencyRecord | null> {
    const [row] = await this.db.query<Row>(`SELECT ${COLUMNS} FROM idempotency_keys WHERE ${PK}`, [
      subject,
      mutation,
      key,
    ]);
    return row ? toRecord(row) : null;
  }

  /**
   * Moves a held key to a recovery point and renews the lease. `recovery` and `paymentId` are kept
   * when omitted; `partner_requested` also stamps the first time the partner may have seen the key.
   * Throws LeaseLostError when the lease is no longer this holder's.
   */
  async advance(
    lease: Lease,
    point: Exclude<RecoveryPoint, 'finished'>,
    options: { leaseMs: number; recovery?: Json; paymentId?: string | null },
    q: Queryable = this.db,
  ): Promise<void> {
    const params: unknown[] = [
      lease.subject,
      lease.mutation,
      lease.key,
      lease.token,
      point,
      options.leaseMs,
      options.recovery === undefined ? null : JSON.stringify(options.recovery),
      options.recovery !== undefined,
      options.paymentId ?? null,
      options.paymentId !== undefined,
    ];
    const now = this.#clock(params);
    const rows = await q.query(
      `UPDATE idempotency_keys
       SET recovery_point = $5::text, locked_until = ${now} + $6::float8 ${MS}, updated_at = ${now},
           recovery = CASE WHEN $8::boolean THEN $7::jsonb ELSE recovery END,
           payment_id = CASE WHEN $10::boolean THEN $9::text ELSE payment_id END,
           partner_requested_at = CASE WHEN $5::text = 'partner_requested'
             THEN coalesce(partner_requested_at, ${now}) ELSE partner_requested_at END
       WHERE ${PK} AND state = 'running' AND owner_token = $4::uuid
       RETURNING 1`,
      params,
    );
    if (rows.length === 0) throw new LeaseLostError(lease);
  }

  /**
   * Stores the final payload and releases the lease; the key is kept for `retentionMs` from now. Pass
   * the transaction that writes the outcome, so the two commit together.
   */
  async finish(
    lease: Lease,
    response: Json,
    options: { retentionMs: number; paymentId?: string | null },
    q: Queryable = this.db,
  ): Promise<void> {
    const finishing = this.finishing(lease, response, options);
    const rows = await q.query(finishing.sql, finishing.params);
    if (rows.length === 0) throw new LeaseLostError(lease);
  }

  /**
   * The statement `finish` sends: it returns a row only while the lease is the caller's. For a caller
   * that sends it with more in the same statement (AuditLog.stageWith), and throws LeaseLostError
   * itself when nothing came back.
   */
  finishing(
    lease: Lease,
    response: Json,
    options: { retentionMs: number; paymentId?: string | null },
  ): GuardedStatement {
    const params: unknown[] = [
      lease.subject,
      lease.mutation,
      lease.key,
      lease.token,
      JSON.stringify(response),
      options.retentionMs,
      options.paymentId ?? null,
    ];
    const now = this.#clock(params);
    return {
      sql: `UPDATE idempotency_keys
       SET state = 'finished', recovery_point = 'finished', response = $5::jsonb, owner_token = NULL,
           locked_until = NULL, updated_at = ${now}, expires_at = ${now} + $6::float8 ${MS},
           payment_id = coalesce($7::text, payment_id)
       WHERE ${PK} AND state = 'running' AND owner_token = $4::uuid
       RETURNING 1`,
      params,
    };
  }

  /**
   * Gives the lease up without finishing, keeping the recovery point: the next attempt takes over at
   * once instead of waiting for the lease to lapse. A lost lease is not an error here.
   */
  async release(lease: Lease): Promise<void> {
    const params: unknown[] = [lease.subject, lease.mutation, lease.key, lease.token];
    const now = this.#clock(params);
    await this.db.query(
      `UPDATE idempotency_keys SET locked_until = ${now}, updated_at = ${now}
       WHERE ${PK} AND state = 'running' AND owner_token = $4::uuid`,
      params,
    );
  }

  /**
   * Deletes finished keys whose retention ended, at most `limit` per call; running keys are never
   * deleted, whatever their age. Returns how many were deleted.
   */
  async reap(limit = 1000): Promise<number> {
    const params: unknown[] = [limit];
    const now = this.#clock(params);
    const rows = await this.db.query(
      `DELETE FROM idempotency_keys WHERE (subject, mutation, key) IN (
         SELECT subject, mutation, key FROM idempotency_keys
         WHERE state = 'finished' AND expires_at <= ${now}
         ORDER BY expires_at LIMIT $1 FOR UPDATE SKIP LOCKED)
       RETURNING 1`,
      params,
    );
    return rows.length;
  }

  /** Keys still running (a payment mid-flight or abandoned), oldest first: the operations console. */
  async running(limit = 100): Promise<IdempotencyRecord[]> {
    const rows = await this.db.query<Row>(
      `SELECT ${COLUMNS} FROM idempotency_keys WHERE state = 'running' ORDER BY created_at LIMIT $1`,
      [limit],
    );
    return rows.map(toRecord);
  }

  /** Running keys whose lease lapsed before `olderThan` (for operators and reconciliation). */
  async abandoned(olderThan: Date, limit = 100): Promise<IdempotencyRecord[]> {
    const rows = await this.db.query<Row>(
      `SELECT ${COLUMNS} FROM idempotency_keys
       WHERE state = 'running' AND locked_until < $1 ORDER BY locked_until LIMIT $2`,
      [olderThan, limit],
    );
    return rows.map(toRecord);
  }
}

function leaseOf(input: ClaimInput, token: string): Lease {
  return { subject: input.subject, mutation: input.mutation, key: input.key, token };
}
