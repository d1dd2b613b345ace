/**
 * Plaid's /transactions/sync state: the cursor per Item and the local copy of its transactions
 * (migration 010_plaid.sql).
 *
 * A sync is applied all at once or not at all: the changes and the new cursor are written in one
 * transaction (a sync that changed nothing moves the cursor in one statement), and only if the stored
 * cursor is still the one the sync started from. A replica that
 * lost that race changes nothing, so the copy never moves backwards or applies one update twice.
 * Every read and write names the subject; an Item belongs to exactly one subject.
 */
import type { Db, Queryable } from '../../store/db.js';
import type {
  PlaidCopy,
  PlaidCopyRead,
  PlaidStoredTransaction,
  PlaidSyncChanges,
  PlaidTransactionWindow,
} from './copy.js';
import { ReplicaMemory } from './replica-memory.js';

/** What the Plaid provider needs from the store. */
export interface PlaidSyncStore {
  /** The cursor reached by the Item's last completed sync; null before the first. */
  cursor(subject: string, itemId: string): Promise<string | null>;
  /**
   * Where a sync starts: the cursor this replica last stored or read for the Item, else `cursor`. It
   * can be behind another replica's sync; then the compare-and-set of `applySync` or `advanceAndRead`
   * refuses the sync, nothing is written, and the next start reads the stored cursor again.
   */
  startCursor(subject: string, itemId: string): Promise<string | null>;
  /**
   * Applies a completed sync that started from cursor `from` and ended at `to`, atomically. False,
   * with nothing written, when the stored cursor is no longer `from` (another sync got there first).
   */
  applySync(
    subject: string,
    itemId: string,
    from: string | null,
    changes: PlaidSyncChanges,
    to: string,
  ): Promise<boolean>;
  /**
   * The local copy as a read serves it: when the Item was last synced, and the subject's transactions
   * on its given accounts, newest first, in one statement. Null before the Item's first completed sync.
   */
  readCopy(
    subject: string,
    itemId: string,
    accountIds: readonly string[],
    window?: PlaidTransactionWindow,
  ): Promise<PlaidCopy | null>;
  /**
   * A sync from cursor `from` to `to` that changed nothing, applied and read back in one statement: the
   * cursor moves only if it is still `from`, and the copy comes back as `readCopy` gives it. Null, with
   * nothing written, when the stored cursor is not `from`: then `applySync` and `readCopy` decide.
   * When Plaid handed back the cursor it was given (`to` is `from`) and this replica holds the copy it
   * read at that cursor for the same read, that copy is the answer, as of now, with no statement.
   */
  advanceAndRead(
    subject: string,
    itemId: string,
    from: string,
    to: string,
    read: PlaidCopyRead,
  ): Promise<PlaidCopy | null>;
  /** Items whose copy was last synced before `before` (oldest first), for the scheduled refresh. */
  staleItems(before: Date, limit: number): Promise<{ subject: string; itemId: string }[]>;
  /** Drops an Item's cursor and copy (the link was removed or replaced). */
  forgetItem(subject: string, itemId: string): Promise<void>;
  /** GDPR erasure of everything kept for the subject; returns the number of Items dropped. */
  eraseSubject(subject: string): Promise<number>;
  /** Drops what this replica holds in memory for the subject (another replica erased them). */
  forgetSubject(subject: string): void;
}

/**
 * A stored transaction as COPY_FROM aggregates it: transaction id, account id, amount in minor units
 * (text, so no precision is lost), currency, status, pending transaction id, description, merchant,
 * category, booking time (ISO 8601 with its offset, as PostgreSQL writes a timestamptz in JSON), value
 * date (YYYY-MM-DD).
 */
type TransactionTuple = [
  string,
  string,
  string,
  string,
  'PENDING' | 'BOOKED',
  string | null,
  string,
  string | null,
  string | null,
  string,
  string | null,
];

/** Rows per INSERT statement; keeps the parameter arrays of one statement bounded. */
const BATCH = 500;

/** Unnest aligns the parameter arrays into rows, so one statement writes a whole batch. */
const UPSERT = `
  INSERT INTO plaid_transactions (item_id, subject, transaction_id, account_id, amount_minor, currency, status,
    pending_transaction_id, description, merchant_name, category, booked_at, value_date)
  SELECT $1, $2, * FROM unnest($3::text[], $4::text[], $5::bigint[], $6::text[], $7::text[], $8::text[],
    $9::text[], $10::text[], $11::text[], $12::timestamptz[], $13::date[])
  ON CONFLICT (item_id, transaction_id) DO UPDATE SET
    account_id = EXCLUDED.account_id, amount_minor = EXCLUDED.amount_minor, currency = EXCLUDED.currency,
    status = EXCLUDED.status, pending_transaction_id = EXCLUDED.pending_transaction_id,
    description = EXCLUDED.description, merchant_name = EXCLUDED.merchant_name,
    category = EXCLUDED.category, booked_at = EXCLUDED.booked_at, value_date = EXCLUDED.value_date`;

/**
 * A copy as a read serves it, from an Item row `i` (subject $1, item $2; accounts $3, window $4..$5):
 * one row per Item, its transactions aggregated into one JSON array of TransactionTuples, newest first
 * (NULL when none match). Rows cost far more to hand over than the query does: PGlite's protocol decoder
 * copies and decodes each field on its own, and node-postgres parses each. Reading 100 transactions took
 * ~3.8 ms of CPU on PGlite and ~1.2 ms in the client on PostgreSQL as 1,100 fields, ~1.5 ms and ~0.4 ms
 * as one JSON value.
 * The Item row always comes back, so an Item synced with no transactions is told apart from one never
 * synced.
 */
const COPY_FROM = (items: string) => `
  SELECT i.synced_at, (
    SELECT json_agg(json_build_array(t.transaction_id, t.account_id, t.amount_minor::text, t.currency,
        t.status, t.pending_transaction_id, t.description, t.merchant_name, t.category,
        t.booked_at, t.value_date)
      ORDER BY t.booked_at DESC, t.transaction_id DESC)
    FROM plaid_transactions t
    WHERE t.item_id = i.item_id AND t.subject = i.subject AND t.account_id = ANY($3::text[])
      AND ($4::timestamptz IS NULL OR t.booked_at >= $4) AND ($5::timestamptz IS NULL OR t.booked_at <= $5)
  ) AS transactions
  FROM ${items}`;

type CopyRow = { synced_at: Date | null; transactions: TransactionTuple[] | null };

/** The PostgreSQL/PGlite implementation. */
export class PlaidSyncRepository implements PlaidSyncStore {
  readonly #now: () => Date;
  /** Each Item's cursor and last live copy on this replica; an Item that falls out reads them again. */
  readonly #memory: ReplicaMemory;

  /** `now` exists for tests. */
  constructor(
    private readonly db: Db,
    options: { now?: () => Date; rememberedCursors?: number; heldCopyBytes?: number } = {},
  ) {
    this.#now = options.now ?? (() => new Date());
    this.#memory = new ReplicaMemory({
      cursors: options.rememberedCursors,
      copyBytes: options.heldCopyBytes,
    });
  }

  async cursor(subject: string, itemId: string): Promise<string | null> {
    const [row] = await this.db.query<{ cursor: string | null }>(
      'SELECT cursor FROM plaid_sync_items WHERE item_id = $1 AND subject = $2',
      [itemId, subject],
    );
    return row?.cursor ?? null;
  }

  async startCursor(subject: string, itemId: string): Promise<string | null> {
    const remembered = this.#memory.cursor(subject, itemId);
    if (remembered !== undefined) return remembered;
    const stored = await this.cursor(subject, itemId);
    this.#memory.remember(subject, itemId, stored);
    return stored;
  }

  async applySync(
    subject: string,
    itemId: string,
    from: string | null,
    changes: PlaidSyncChanges,
    to: string,
  ): Promise<boolean> {
    const now = this.#now();
    const nothingChanged = changes.removed.length === 0 && changes.upserted.length === 0;
    // The common case of a refresh: the Item's row exists and still holds `from`. Moving its cursor
    // only if it does is the compare-and-set; with nothing else to write, that one statement is all.
    if (nothingChanged && (await this.claim(this.db, subject, itemId, from, to, now))) {
      this.#memory.remember(subject, itemId, to);
      return true;
    }
    const applied = await this.db.transaction(async (tx) => {
      // Claiming the row first also locks it for the changes that follow.
      if (!(await this.claim(tx, subject, itemId, from, to, now))) {
        await tx.query(
          `INSERT INTO plaid_sync_items (item_id, subject, created_at, updated_at) VALUES ($1, $2, $3, $3)
           ON CONFLICT (item_id) DO NOTHING`,
          [itemId, subject, now],
        );
        const [row] = await tx.query<{ subject: string; cursor: string | null }>(
          'SELECT subject, cursor FROM plaid_sync_items WHERE item_id = $1 FOR UPDATE',
          [itemId],
        );
        if (!row || row.subject !== subject) throw new Error('A Plaid Item belongs to exactly one subject.');
        if (row.cursor !== from) return false;
        await tx.query(
          'UPDATE plaid_sync_items SET cursor = $2, synced_at = $3, updated_at = $3 WHERE item_id = $1',
          [itemId, to, now],
        );
      }
      if (changes.removed.length > 0) {
        await tx.query(
          'DELETE FROM plaid_transactions WHERE item_id = $1 AND subject = $2 AND transaction_id = ANY($3::text[])',
          [itemId, subject, [...changes.removed]],
        );
      }
      for (let start = 0; start < changes.upserted.length; start += BATCH) {
        await upsert(tx, subject, itemId, changes.upserted.slice(start, start + BATCH));
      }
      return true;
    });
    this.#memory.remember(subject, itemId, applied ? to : null);
    // The copy held for a live read was read at another cursor: it can never be served again.
    this.#memory.release(subject, itemId);
    return applied;
  }

  /** Moves the Item's cursor from `from` to `to` if its row exists, is the subject's and holds `from`. */
  private async claim(
    db: Queryable,
    subject: string,
    itemId: string,
    from: string | null,
    to: string,
    now: Date,
  ): Promise<boolean> {
    const rows = await db.query(
      `UPDATE plaid_sync_items SET cursor = $3, synced_at = $4, updated_at = $4
       WHERE item_id = $1 AND subject = $2 AND cursor IS NOT DISTINCT FROM $5::text RETURNING item_id`,
      [itemId, subject, to, now, from],
    );
    return rows.length === 1;
  }

  async readCopy(
    subject: string,
    itemId: string,
    accountIds: readonly string[],
    window: PlaidTransactionWindow = {},
  ): Promise<PlaidCopy | null> {
    const rows = await this.db.query<CopyRow>(
      `${COPY_FROM('plaid_sync_items i')}
       WHERE i.item_id = $2 AND i.subject = $1 AND i.cursor IS NOT NULL`,
      [subject, itemId, [...accountIds], window.from ?? null, window.to ?? null],
    );
    return copyOf(rows);
  }

  async advanceAndRead(
    subject: string,
    itemId: string,
    from: string,
    to: string,
    read: PlaidCopyRead,
  ): Promise<PlaidCopy | null> {
    // Plaid's log has nothing after `from`: no sync from it can have changed the copy read there.
    const held = from === to ? this.#memory.copy(subject, itemId, from, read) : undefined;
    if (held) return { syncedAt: this.#now(), transactions: held };
    // The transactions are read as of the statement's start: nothing changed them in this sync, and a
    // sync that did commit changes meanwhile also moved the cursor, so the compare-and-set matches
    // nothing and no row comes back.
    const rows = await this.db.query<CopyRow>(
      `WITH i AS (
         UPDATE plaid_sync_items SET cursor = $6, synced_at = $7, updated_at = $7
         WHERE item_id = $2 AND subject = $1 AND cursor = $8
         RETURNING item_id, subject, synced_at)
       ${COPY_FROM('i')}`,
      [
        subject,
        itemId,
        [...read.accountIds],
        read.window?.from ?? null,
        read.window?.to ?? null,
        to,
        this.#now(),
        from,
      ],
    );
    const copy = copyOf(rows);
    if (copy) {
      this.#memory.remember(subject, itemId, to);
      this.#memory.hold(subject, itemId, to, read, copy.transactions);
    } else this.#memory.forgetItem(subject, itemId);
    return copy;
  }

  async staleItems(before: Date, limit: number): Promise<{ subject: string; itemId: string }[]> {
    const rows = await this.db.query<{ subject: string; item_id: string }>(
      `SELECT subject, item_id FROM plaid_sync_items
       WHERE synced_at IS NULL OR synced_at < $1 ORDER BY synced_at NULLS FIRST, item_id LIMIT $2`,
      [before, limit],
    );
    return rows.map((row) => ({ subject: row.subject, itemId: row.item_id }));
  }

  async forgetItem(subject: string, itemId: string): Promise<void> {
    this.#memory.forgetItem(subject, itemId);
    await this.db.query('DELETE FROM plaid_sync_items WHERE item_id = $1 AND subject = $2', [
      itemId,
      subject,
    ]);
  }

  async eraseSubject(subject: string): Promise<number> {
    this.forgetSubject(subject);
    return this.db.transaction(async (tx) => {
      await tx.query('DELETE FROM plaid_transactions WHERE subject = $1', [subject]);
      return (await tx.query('DELETE FROM plaid_sync_items WHERE subject = $1 RETURNING item_id', [subject]))
        .length;
    });
  }

  forgetSubject(subject: string): void {
    this.#memory.forgetSubject(subject);
  }
}

async function upsert(
  tx: Queryable,
  subject: string,
  itemId: string,
  batch: readonly PlaidStoredTransaction[],
): Promise<void> {
  const column = <T>(pick: (t: PlaidStoredTransaction) => T): T[] => batch.map(pick);
  await tx.query(UPSERT, [
    itemId,
    subject,
    column((t) => t.transactionId),
    column((t) => t.accountId),
    column((t) => t.amount.minor.toString()),
    column((t) => t.amount.currency),
    column((t) => t.status),
    column((t) => t.pendingTransactionId),
    column((t) => t.description),
    column((t) => t.merchantName),
    column((t) => t.category),
    column((t) => t.bookedAt.toISOString()),
    column((t) => (t.valueDate ? t.valueDate.toISOString().slice(0, 10) : null)),
  ]);
}

/** The copy the row of COPY_FROM holds; null when no Item row came back (never synced). */
function copyOf(rows: CopyRow[]): PlaidCopy | null {
  const first = rows[0];
  if (!first?.synced_at) return null;
  return { syncedAt: first.synced_at, transactions: (first.transactions ?? []).map(toStored) };
}

function toStored([
  transactionId,
  accountId,
  minor,
  currency,
  status,
  pendingTransactionId,
  description,
  merchantName,
  category,
  bookedAt,
  valueDate,
]: TransactionTuple): PlaidStoredTransaction {
  return {
    transactionId,
    accountId,
    amount: { minor: BigInt(minor), currency },
    status,
    pendingTransactionId,
    description,
    merchantName,
    category,
    bookedAt: new Date(bookedAt),
    valueDate: valueDate === null ? null : new Date(`${valueDate}T00:00:00Z`),
  };
}
