/**
 * The persisted operations manifest (Apollo's persisted query list) in the database, so every replica
 * serves the same operations: `tributary operations publish` writes it, each replica's
 * server/persisted-operations.ts reads it. Append-only: an operation's id is the SHA-256 of its body, so
 * a published row never changes, publishing the same operation again changes nothing, and a reader may
 * keep what it read for as long as it runs.
 */
import type { AuditLog } from './audit.js';
import type { Db } from './db.js';

export const OPERATION_TYPES = ['query', 'mutation', 'subscription'] as const;
export type OperationType = (typeof OPERATION_TYPES)[number];

/** One entry of the manifest. */
export interface PersistedOperation {
  /** SHA-256 (lowercase hex) of `body`. */
  id: string;
  name: string;
  type: OperationType;
  body: string;
}

export interface PublishedOperation extends PersistedOperation {
  publishedAt: Date;
}

/** What a publish did: ids in the order given, each once. */
export interface PublishResult {
  published: string[];
  alreadyPublished: string[];
}

/** Who publishes, for the audit entry written in the publish's transaction. */
export interface PublishAudit {
  log: AuditLog;
  actor: string;
}

/** An id that is already published with another body: the whole publish is refused. */
export class OperationConflictError extends Error {
  override readonly name = 'OperationConflictError';
  constructor(readonly ids: readonly string[]) {
    super(`already published with another body: ${ids.join(', ')}`);
  }
}

interface Row {
  id: string;
  name: string;
  type: OperationType;
  body: string;
  published_at: Date;
}

const COLUMNS = 'id, name, type, body, published_at';

function fromRow(row: Row): PublishedOperation {
  return { id: row.id, name: row.name, type: row.type, body: row.body, publishedAt: row.published_at };
}

export class PersistedOperationRepository {
  constructor(private readonly db: Db) {}

  /**
   * Publishes every operation in one transaction: new ids are inserted, ids already published with the
   * same body are counted, and one id published with another body refuses the whole call (nothing is
   * written). With `audit`, an entry is staged in the same transaction when anything was new.
   */
  async publish(
    operations: readonly PersistedOperation[],
    audit?: PublishAudit,
    now: Date = new Date(),
  ): Promise<PublishResult> {
    const unique = [...new Map(operations.map((operation) => [operation.id, operation])).values()];
    return this.db.transaction(async (tx) => {
      const inserted = await tx.query<{ id: string }>(
        `INSERT INTO persisted_operations (id, name, type, body, published_at)
         SELECT id, name, type, body, $5::timestamptz
         FROM unnest($1::text[], $2::text[], $3::text[], $4::text[]) AS given (id, name, type, body)
         ON CONFLICT (id) DO NOTHING
         RETURNING id`,
        [
          unique.map((operation) => operation.id),
          unique.map((operation) => operation.name),
          unique.map((operation) => operation.type),
          unique.map((operation) => operation.body),
          now,
        ],
      );
      const isNew = new Set(inserted.map((row) => row.id));
      const existing = unique.filter((operation) => !isNew.has(operation.id));
      if (existing.length > 0) {
        const stored = await tx.query<{ id: string; body: string }>(
          'SELECT id, body FROM persisted_operations WHERE id = ANY($1::text[])',
          [existing.map((operation) => operation.id)],
        );
        const bodies = new Map(stored.map((row) => [row.id, row.body]));
        const conflicts = existing.filter((operation) => bodies.get(operation.id) !== operation.body);
        if (conflicts.length > 0)
          throw new OperationConflictError(conflicts.map((operation) => operation.id));
      }
      const result: PublishResult = {
        published: unique.filter((operation) => isNew.has(operation.id)).map((operation) => operation.id),
        alreadyPublished: existing.map((operation) => operation.id),
      };
      if (audit && result.published.length > 0)
        await audit.log.stage(
          {
            actor: audit.actor,
            action: 'operations.published',
            details: { published: result.published, alreadyPublished: result.alreadyPublished.length },
          },
          tx,
        );
      return result;
    });
  }

  /** The published operation with this id, or null. */
  async get(id: string): Promise<PublishedOperation | null> {
    const [row] = await this.db.query<Row>(`SELECT ${COLUMNS} FROM persisted_operations WHERE id = $1`, [id]);
    return row ? fromRow(row) : null;
  }

  /** Every published operation, oldest first. */
  async list(): Promise<PublishedOperation[]> {
    const rows = await this.db.query<Row>(
      `SELECT ${COLUMNS} FROM persisted_operations ORDER BY published_at, name, id`,
    );
    return rows.map(fromRow);
  }
}
