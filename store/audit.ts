/**
 * The tamper-evident audit log (DESIGN §12): every mutation, webhook and operator action, appended to a
 * hash chain that `tributary audit verify` checks.
 *
 * Design, and why it survives erasure:
 * - Each row splits into non-personal fields (seq, at, actor, action, target) and a personal payload:
 *   the canonical JSON of `{ subject, details, salt }`, stored as text so its bytes never change.
 * - `payload_digest = SHA-256(payload)`; `hash = SHA-256(canonical JSON of the non-personal fields,
 *   prev_hash and payload_digest)`; `prev_hash` is the previous row's hash (64 zeros for seq 1).
 *   Seq numbers are contiguous, so an edited, deleted, inserted or reordered row breaks the chain.
 * - Erasure blanks `subject` and `payload` and stamps `erased_at`, but keeps `payload_digest`, so every
 *   row hash, and therefore the chain, still verifies. The random salt is erased with the payload: a
 *   plain digest of a short payload could be brute-forced back to the subject; a salted one cannot.
 * - The hashes are unkeyed, so what the chain cannot see on its own is the loss of its newest rows, or
 *   a chain recomputed from an edit onwards by someone with write access. Operators keep `head()`
 *   outside the database and pass it to `verify({ anchor })`, which exposes both.
 * - Actors, actions and targets must not identify a person (use ids such as `customer`, `operator:42`,
 *   `webhook:plaid`, a consent id); anything personal goes in `subject` or `details`.
 *
 * Appends run under a transaction-scoped advisory lock, so replicas sharing one PostgreSQL extend one
 * chain and never fork it; the primary key on seq backs that up.
 *
 * Entries that belong to a business transaction (a payment, a processed webhook) are `stage`d instead:
 * one INSERT into `audit_pending`, no lock, committed or rolled back with the change they record
 * (`stageWith` sends the INSERT in the change's own statement when that change is one guarded
 * update). The sealer (`seal`, run shortly after each stage, and on a backstop interval on every
 * replica as `sweep`, which first asks lock-free whether anything waits) takes the lock once per batch
 * and moves committed entries into the chain in their pending order. So concurrent payments never wait on each other for
 * the chain, and an entry joins it moments after its commit.
 * `verify`, `head` and `erase` seal first; erasure blanks pending entries too, under the same lock.
 */
import { randomBytes } from 'node:crypto';
import { canonicalJson } from '../domain/canonical-json.js';
import {
  checkPayload,
  GENESIS,
  rowHash,
  sha256,
  type AuditEntry,
  type AuditLink,
  type AuditRow,
  type AuditVerification,
  type PendingRow,
} from './audit-chain.js';
import type { Db, GuardedStatement, Queryable } from './db.js';

export type { AuditEntry, AuditLink, AuditVerification } from './audit-chain.js';

const LOCK = `SELECT pg_advisory_xact_lock(hashtextextended('tributary.audit.' || coalesce(current_schema(), ''), 0))`;

/** Appends to, verifies and erases from the audit chain. */
export class AuditLog {
  readonly #now: () => Date;
  readonly #sealDelayMs: number;
  readonly #batchSize: number;
  #sealing: Promise<number> | null = null;
  #again = false;
  #soon: NodeJS.Timeout | null = null;
  readonly #backstop: NodeJS.Timeout | null;

  /**
   * `now` exists for tests. `sealDelayMs`: how soon after a stage the sealer runs (default 5 ms);
   * `sealIntervalMs`: the backstop for entries whose transaction committed after that run (default
   * 1 s; 0: none, for short-lived tools that seal themselves).
   */
  constructor(
    private readonly db: Db,
    options: { now?: () => Date; sealDelayMs?: number; sealIntervalMs?: number; batchSize?: number } = {},
  ) {
    this.#now = options.now ?? (() => new Date());
    this.#sealDelayMs = options.sealDelayMs ?? 5;
    this.#batchSize = options.batchSize ?? 500;
    const interval = options.sealIntervalMs ?? 1_000;
    this.#backstop =
      interval > 0 ? setInterval(() => void this.sweep().catch(() => undefined), interval) : null;
    this.#backstop?.unref();
  }

  /**
   * Records an entry as part of the caller's transaction `tx`: it commits or rolls back with the change
   * it records, takes no lock, and joins the chain when the sealer next runs after the commit.
   */
  async stage(entry: AuditEntry, tx: Queryable): Promise<void> {
    const row = this.#prepare(entry);
    await tx.query(
      `INSERT INTO audit_pending (at, actor, action, target, subject, payload, payload_digest)
       VALUES ($1, $2, $3, $4, $5, $6, $7)`,
      [row.at, row.actor, row.action, row.target, row.subject, row.payload, row.payload_digest],
    );
    this.sealSoon();
  }

  /**
   * Runs `guarded` (one data-modifying statement with RETURNING, e.g. a lease-guarded update) and, in
   * the same statement, stages `entries` when it returned a row: the change and its audit entries
   * commit together in one round trip, without BEGIN and COMMIT. Resolves whether `guarded` matched.
   */
  async stageWith(q: Queryable, guarded: GuardedStatement, entries: readonly AuditEntry[]): Promise<boolean> {
    const params: unknown[] = [...guarded.params];
    // One VALUES row of scalar parameters per entry (cheaper to send and plan than arrays to unnest).
    const values = entries.map((entry) => {
      const row = this.#prepare(entry);
      params.push(row.at, row.actor, row.action, row.target, row.subject, row.payload, row.payload_digest);
      const n = params.length - 7;
      return `($${n + 1}::timestamptz, $${n + 2}::text, $${n + 3}::text, $${n + 4}::text, $${n + 5}::text,
        $${n + 6}::text, $${n + 7}::text)`;
    });
    const staging =
      values.length === 0
        ? ''
        : `, staged AS (
         INSERT INTO audit_pending (at, actor, action, target, subject, payload, payload_digest)
         SELECT * FROM (VALUES ${values.join(', ')}) AS entry
         WHERE EXISTS (SELECT 1 FROM guarded))`;
    const [result] = await q.query<{ matched: number }>(
      `WITH guarded AS (${guarded.sql})${staging}
       SELECT count(*)::int AS matched FROM guarded`,
      params,
    );
    if (values.length > 0) this.sealSoon();
    return (result?.matched ?? 0) > 0;
  }

  /** Asks the sealer to run shortly (after a transaction that staged entries committed). */
  sealSoon(): void {
    if (this.#soon) return;
    this.#soon = setTimeout(() => {
      this.#soon = null;
      void this.seal().catch(() => undefined);
    }, this.#sealDelayMs);
    this.#soon.unref();
  }

  /**
   * Moves every committed staged entry into the chain, oldest first, in batches under the chain's lock.
   * Returns how many were sealed. Concurrent calls share a run (and one more, for entries committed
   * while it ran).
   */
  seal(): Promise<number> {
    if (this.#sealing) {
      this.#again = true;
      return this.#sealing;
    }
    const run = async (): Promise<number> => {
      let total = 0;
      do {
        this.#again = false;
        for (;;) {
          const sealed = await this.db.transaction((tx) => this.#sealBatch(tx));
          total += sealed;
          if (sealed < this.#batchSize) break;
        }
      } while (this.#again);
      return total;
    };
    this.#sealing = run().finally(() => {
      this.#sealing = null;
    });
    return this.#sealing;
  }

  /**
   * The backstop's run: seals when anything is staged, after one lock-free read that finds out. An idle
   * replica then costs the database one statement per interval, not a transaction taking the chain's
   * lock; a run after a stage (`sealSoon`) knows there is work and goes straight to `seal`.
   */
  async sweep(): Promise<number> {
    if (this.#sealing) return this.seal();
    const [waiting] = await this.db.query<{ waiting: boolean }>(
      'SELECT EXISTS (SELECT 1 FROM audit_pending) AS waiting',
    );
    return waiting?.waiting ? this.seal() : 0;
  }

  /** Stops the sealer's timers (the process is shutting down). */
  close(): void {
    if (this.#backstop) clearInterval(this.#backstop);
    if (this.#soon) clearTimeout(this.#soon);
    this.#soon = null;
  }

  async #sealBatch(tx: Queryable): Promise<number> {
    await tx.query(LOCK);
    // The batch and the chain's last link in one statement (the link is read once, under the lock).
    const pending = await tx.query<PendingRow & { last_seq: string | null; last_hash: string | null }>(
      `SELECT id, at, actor, action, target, subject, payload, payload_digest, erased_at,
         l.seq AS last_seq, l.hash AS last_hash
       FROM audit_pending
       LEFT JOIN (SELECT seq, hash FROM audit_log ORDER BY seq DESC LIMIT 1) l ON true
       ORDER BY id LIMIT $1`,
      [this.#batchSize],
    );
    if (pending.length === 0) return 0;
    const last = pending[0]!;
    let seq = last.last_seq === null ? 0n : BigInt(last.last_seq);
    let prevHash = last.last_hash ?? GENESIS;
    const rows = pending.map(({ last_seq: _seq, last_hash: _hash, ...entry }) => {
      seq += 1n;
      const row = { ...entry, seq, prev_hash: prevHash };
      const hash = rowHash(row);
      prevHash = hash;
      return { ...row, hash };
    });
    const column = <K extends keyof (typeof rows)[number]>(key: K) => rows.map((row) => row[key]);
    // The links appended and their staged entries removed in one statement.
    await tx.query(
      `WITH sealed AS (DELETE FROM audit_pending WHERE id = ANY($12::bigint[]))
       INSERT INTO audit_log (seq, at, actor, action, target, subject, payload, payload_digest, prev_hash, hash,
         erased_at)
       SELECT * FROM unnest($1::bigint[], $2::timestamptz[], $3::text[], $4::text[], $5::text[], $6::text[],
         $7::text[], $8::text[], $9::text[], $10::text[], $11::timestamptz[])`,
      [
        column('seq').map(String),
        column('at'),
        column('actor'),
        column('action'),
        column('target'),
        column('subject'),
        column('payload'),
        column('payload_digest'),
        column('prev_hash'),
        column('hash'),
        column('erased_at'),
        column('id'),
      ],
    );
    return rows.length;
  }

  /** The row fields of an entry that do not depend on the chain. */
  #prepare(entry: AuditEntry) {
    if (!entry.actor || !entry.action) throw new Error('An audit entry needs an actor and an action.');
    const subject = entry.subject ?? null;
    const payload = canonicalJson({
      subject,
      details: entry.details ?? null,
      salt: randomBytes(16).toString('base64url'),
    });
    return {
      at: this.#now(),
      actor: entry.actor,
      action: entry.action,
      target: entry.target ?? null,
      subject,
      payload,
      payload_digest: sha256(payload),
    };
  }

  /**
   * Appends one entry in its own transaction and returns its link (operator actions, tools). An entry
   * that belongs to a business transaction is `stage`d instead.
   */
  async append(entry: AuditEntry): Promise<AuditLink> {
    const prepared = this.#prepare(entry);
    return this.db.transaction(async (q): Promise<AuditLink> => {
      await q.query(LOCK);
      const [last] = await q.query<{ seq: string; hash: string }>(
        'SELECT seq, hash FROM audit_log ORDER BY seq DESC LIMIT 1',
      );
      const row = {
        ...prepared,
        seq: last ? BigInt(last.seq) + 1n : 1n,
        prev_hash: last?.hash ?? GENESIS,
      };
      const hash = rowHash(row);
      await q.query(
        `INSERT INTO audit_log (seq, at, actor, action, target, subject, payload, payload_digest, prev_hash, hash)
         VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10)`,
        [
          row.seq,
          row.at,
          row.actor,
          row.action,
          row.target,
          row.subject,
          row.payload,
          row.payload_digest,
          row.prev_hash,
          hash,
        ],
      );
      return { seq: row.seq, hash };
    });
  }

  /** The newest link, or null when the log is empty. */
  async head(): Promise<AuditLink | null> {
    await this.seal();
    const [last] = await this.db.query<{ seq: string; hash: string }>(
      'SELECT seq, hash FROM audit_log ORDER BY seq DESC LIMIT 1',
    );
    return last ? { seq: BigInt(last.seq), hash: last.hash } : null;
  }

  /**
   * Walks the whole chain in seq order and reports the first break. With `anchor` (a head kept
   * elsewhere earlier), also fails when that link is missing or different, which exposes a cut tail.
   */
  async verify(options: { anchor?: AuditLink; batchSize?: number } = {}): Promise<AuditVerification> {
    await this.seal();
    const batchSize = options.batchSize ?? 1000;
    let expectedSeq = 1n;
    let prevHash = GENESIS;
    let checked = 0;
    let anchorSeen = false;
    const broken = (seq: bigint, reason: string): AuditVerification => ({
      ok: false,
      checked,
      brokenAt: seq,
      reason,
    });
    for (;;) {
      const rows = await this.db.query<AuditRow>(
        `SELECT seq, at, actor, action, target, subject, payload, payload_digest, prev_hash, hash, erased_at
         FROM audit_log WHERE $1::bigint IS NULL OR seq > $1 ORDER BY seq LIMIT $2`,
        [checked === 0 ? null : expectedSeq - 1n, batchSize],
      );
      for (const row of rows) {
        const seq = BigInt(row.seq);
        if (seq !== expectedSeq)
          return broken(
            expectedSeq,
            `expected row ${expectedSeq} but found row ${seq} (rows deleted or inserted)`,
          );
        if (row.prev_hash !== prevHash)
          return broken(seq, "prev_hash does not match the previous row's hash");
        if (rowHash({ ...row, seq }) !== row.hash) return broken(seq, 'row fields do not match its hash');
        const payloadProblem = checkPayload(row);
        if (payloadProblem) return broken(seq, payloadProblem);
        if (options.anchor && seq === options.anchor.seq) {
          if (row.hash !== options.anchor.hash) return broken(seq, 'row differs from the anchor');
          anchorSeen = true;
        }
        prevHash = row.hash;
        expectedSeq = seq + 1n;
        checked += 1;
      }
      if (rows.length < batchSize) break;
    }
    if (options.anchor && !anchorSeen)
      return broken(options.anchor.seq, 'the anchored row is missing (log truncated)');
    const head = checked > 0 ? { seq: expectedSeq - 1n, hash: prevHash } : undefined;
    return { ok: true, checked, ...(head ? { head } : {}) };
  }

  /** Blanks the personal payload of every row about `subject`; the chain still verifies. Returns rows erased. */
  async erase(subject: string): Promise<number> {
    // Under the chain's lock, so no sealer is moving the subject's staged entries meanwhile.
    return this.db.transaction(async (tx) => {
      await tx.query(LOCK);
      const at = this.#now();
      const chained = await tx.query(
        'UPDATE audit_log SET subject = NULL, payload = NULL, erased_at = $2 WHERE subject = $1 RETURNING seq',
        [subject, at],
      );
      const staged = await tx.query(
        'UPDATE audit_pending SET subject = NULL, payload = NULL, erased_at = $2 WHERE subject = $1 RETURNING id',
        [subject, at],
      );
      return chained.length + staged.length;
    });
  }
}
