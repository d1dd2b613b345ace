/**
 * One database adapter over two backends: PostgreSQL through a `pg` pool (production, replicas) and
 * embedded PGlite (local runs, tests). Repositories write one SQL dialect with `$1` placeholders and
 * see the same JavaScript types from both:
 *
 * | PostgreSQL type         | JavaScript value                                          |
 * | ----------------------- | --------------------------------------------------------- |
 * | int8 / bigint (+ arrays)| decimal `string` — repositories convert with `BigInt()`   |
 * | int2, int4, float4/8    | `number`                                                  |
 * | numeric                 | decimal `string`                                          |
 * | timestamptz             | `Date` (ms precision)                                     |
 * | timestamp (no zone)     | the raw `'YYYY-MM-DD HH:MM:SS'` string — use timestamptz  |
 * | date                    | `'YYYY-MM-DD'` string (no time-zone shift)                |
 * | json / jsonb            | parsed value                                              |
 * | bytea                   | `Buffer`                                                  |
 * | text[] and other arrays | JS arrays of the element type above (not date[],          |
 * | node-postgres parses    | timestamp[] or numeric[], which the backends parse        |
 * |                         | differently: avoid); any other array is its text          |
 *
 * Parameters: pass bigint or string for int8, Date for timestamptz, Buffer for bytea, JS arrays for
 * SQL arrays, and JSON as a string cast with `$n::jsonb` (pg would turn a JS array into a SQL array).
 */
import { AsyncLocalStorage } from 'node:async_hooks';
import { mkdirSync } from 'node:fs';
import { PGlite, types as pgliteTypes } from '@electric-sql/pglite';
import type { Transaction as PGliteTransaction } from '@electric-sql/pglite';
import { SpanKind, SpanStatusCode, trace } from '@opentelemetry/api';
import pg from 'pg';
import type { PoolClient } from 'pg';

/** One data-modifying SQL statement ending in RETURNING, with its parameters ($1..$n). */
export interface GuardedStatement {
  sql: string;
  params: readonly unknown[];
}

/** Something SQL can be sent to: the database itself or an open transaction. */
export interface Queryable {
  /** Runs one statement with `$1`-style parameters and returns its rows. */
  query<R extends object = Record<string, unknown>>(sql: string, params?: readonly unknown[]): Promise<R[]>;
  /** Runs a script of several statements without parameters (migrations). */
  exec(sql: string): Promise<void>;
}

/** A database handle. Close it once; every repository shares it. */
export interface Db extends Queryable {
  readonly kind: 'pg' | 'pglite';
  /**
   * Runs `fn` inside BEGIN/COMMIT; a throw rolls back and rethrows. Use only the `tx` handle inside
   * `fn`: calling the Db itself from inside is refused, because on PGlite it would wait for the
   * transaction that is waiting for it.
   */
  transaction<T>(fn: (tx: Queryable) => Promise<T>): Promise<T>;
  close(): Promise<void>;
}

export interface OpenDatabaseOptions {
  /** PostgreSQL connection string. When absent, PGlite is used. */
  url?: string;
  /** PGlite data directory (created when missing), or `'memory://'`. Ignored with `url`. */
  dataDir?: string;
  /** pg only: a schema to create if missing and to use as the only `search_path` entry. */
  schema?: string;
  /** pg only: pool size (default 10). */
  max?: number;
  /** pg only: told about errors of idle pooled connections, which the pool then discards. */
  onIdleError?: (error: Error) => void;
  /**
   * Refuse use of the Db inside its own transaction (on PGlite it would wait forever for itself).
   * Default true. It tracks transactions with an AsyncLocalStorage, whose hooks every promise of the
   * process pays on Node 20, so production (which runs PostgreSQL) turns it off.
   */
  reentryGuard?: boolean;
}

const SCHEMA_NAME = /^[a-z_][a-z0-9_]{0,62}$/;

/** Opens PostgreSQL when `url` is set, PGlite otherwise. */
export async function openDatabase(options: OpenDatabaseOptions): Promise<Db> {
  const guard = guardFor(options.reentryGuard ?? true);
  if (options.url) return openPg(options.url, options, guard);
  const dataDir = options.dataDir ?? 'memory://';
  if (!dataDir.startsWith('memory://')) mkdirSync(dataDir, { recursive: true });
  return openPglite(dataDir, guard);
}

/** How a Db marks its transactions and refuses re-entry; both free when the guard is off. */
interface Guard {
  refuse(owner: object): void;
  within<T>(scope: TxScope, fn: () => Promise<T>): Promise<T>;
}

function guardFor(on: boolean): Guard {
  return on
    ? { refuse: refuseReentry, within: (scope, fn) => txScope.run(scope, fn) }
    : { refuse: () => undefined, within: (_scope, fn) => fn() };
}

/** Marks the async context of a running transaction, so re-entrant use of the Db is caught. */
interface TxScope {
  owner: object;
  open: boolean;
}
const txScope = new AsyncLocalStorage<TxScope>();

function refuseReentry(owner: object): void {
  const scope = txScope.getStore();
  if (scope?.open && scope.owner === owner) {
    throw new Error(
      'The database handle was used inside its own transaction; use the transaction handle (tx) there.',
    );
  }
}

function guardedTx(inner: Queryable, scope: TxScope): Queryable {
  const check = (): void => {
    if (!scope.open) throw new Error('This transaction has already finished.');
  };
  return {
    async query<R extends object = Record<string, unknown>>(sql: string, params?: readonly unknown[]) {
      check();
      return inner.query<R>(sql, params);
    },
    async exec(sql: string) {
      check();
      await inner.exec(sql);
    },
  };
}

const PG_INT8 = 20;
const PG_DATE = 1082;
const PG_TIMESTAMP = 1114;
const rawText = (value: string): string => value;

/** Keeps int8, date and timestamp as text; pg's defaults already match the table above otherwise. */
const pgTypes = {
  getTypeParser(oid: number, format?: 'text' | 'binary') {
    if (oid === PG_INT8 || oid === PG_DATE || oid === PG_TIMESTAMP) return rawText;
    return pg.types.getTypeParser(oid, format);
  },
} as pg.CustomTypesConfig;

async function openPg(url: string, options: OpenDatabaseOptions, guard: Guard): Promise<Db> {
  const schema = options.schema;
  if (schema !== undefined && !SCHEMA_NAME.test(schema)) {
    throw new Error(`Invalid schema name "${schema}": use lower-case letters, digits and underscores.`);
  }
  const pool = new pg.Pool({
    connectionString: url,
    max: options.max ?? 10,
    application_name: 'tributary',
    types: pgTypes,
    // Set at connection start, so every pooled connection sees only this schema.
    ...(schema ? { options: `-c search_path=${schema}` } : {}),
  });
  pool.on('error', (error) => options.onIdleError?.(error));

  const clientQueryable = (client: pg.Pool | PoolClient): Queryable =>
    traced('postgresql', {
      async query<R extends object = Record<string, unknown>>(sql: string, params?: readonly unknown[]) {
        const result = await client.query<R>(sql, params ? [...params] : []);
        return result.rows;
      },
      async exec(sql: string) {
        // No parameters: the simple query protocol, which accepts several statements.
        await client.query(sql);
      },
    });
  const direct = clientQueryable(pool);

  const db: Db = {
    kind: 'pg',
    async query<R extends object = Record<string, unknown>>(sql: string, params?: readonly unknown[]) {
      guard.refuse(db);
      return direct.query<R>(sql, params);
    },
    async exec(sql: string) {
      guard.refuse(db);
      await direct.exec(sql);
    },
    async transaction<T>(fn: (tx: Queryable) => Promise<T>): Promise<T> {
      guard.refuse(db);
      const client = await pool.connect();
      const scope: TxScope = { owner: db, open: true };
      let broken: Error | undefined;
      try {
        await client.query('BEGIN');
        const result = await guard.within(scope, () => fn(guardedTx(clientQueryable(client), scope)));
        await client.query('COMMIT');
        return result;
      } catch (error) {
        try {
          await client.query('ROLLBACK');
        } catch (rollbackError) {
          // A connection that cannot roll back is destroyed rather than returned to the pool.
          broken = rollbackError instanceof Error ? rollbackError : new Error(String(rollbackError));
        }
        throw error;
      } finally {
        scope.open = false;
        client.release(broken);
      }
    },
    async close() {
      await pool.end();
    },
  };

  try {
    if (schema) await pool.query(`CREATE SCHEMA IF NOT EXISTS ${schema}`);
  } catch (error) {
    // Two processes creating the same schema at once: the loser sees a unique violation.
    const code = (error as { code?: string }).code;
    if (code !== '23505' && code !== '42P06') {
      await pool.end();
      throw error;
    }
  }
  return db;
}

/**
 * The array types node-postgres parses (its text parsers in `pg-types`, by type OID): on PostgreSQL
 * any other array comes back as its text, so no repository can rely on one.
 */
const PG_PARSED_ARRAYS = new Set([
  199, 651, 791, 1000, 1001, 1005, 1007, 1008, 1009, 1014, 1015, 1016, 1017, 1021, 1022, 1028, 1040, 1041,
  1115, 1182, 1183, 1185, 1187, 1231, 1270, 2951, 3807, 3907,
]);

/**
 * PGlite registers a parser for each of the catalogue's ~290 array types and copies its whole parser
 * map for every statement it answers (~100 µs of a ~350 µs `SELECT 1` on this machine): keeping the
 * array parsers of the types node-postgres parses too (the same values on both backends) and dropping
 * the rest makes every embedded statement ~30 % cheaper. The element parsers stay.
 */
async function keepArrayParsersOfPg(pglite: PGlite): Promise<void> {
  const { rows } = await pglite.query<{ oid: number }>(
    'SELECT typarray AS oid FROM pg_catalog.pg_type WHERE typarray <> 0',
  );
  const arrays = new Set(rows.map((row) => row.oid));
  pglite.parsers = Object.fromEntries(
    Object.entries(pglite.parsers).filter(
      ([oid]) => !arrays.has(Number(oid)) || PG_PARSED_ARRAYS.has(Number(oid)),
    ),
  );
}

async function openPglite(dataDir: string, guard: Guard): Promise<Db> {
  const hexToBuffer = (text: string): Buffer => Buffer.from(text.slice(2), 'hex');
  const pglite = await PGlite.create(dataDir, {
    parsers: {
      [pgliteTypes.INT8]: rawText,
      [pgliteTypes.DATE]: rawText,
      [pgliteTypes.TIMESTAMP]: rawText,
      [pgliteTypes.BYTEA]: hexToBuffer,
    },
  });
  await keepArrayParsersOfPg(pglite);

  const wrap = (target: PGlite | PGliteTransaction): Queryable =>
    traced('pglite', {
      async query<R extends object = Record<string, unknown>>(sql: string, params?: readonly unknown[]) {
        const result = await target.query<R>(sql, params ? [...params] : []);
        return result.rows;
      },
      async exec(sql: string) {
        await target.exec(sql);
      },
    });
  const direct = wrap(pglite);

  // PGlite runs one statement at a time and queues plain queries behind an open transaction
  // (its own transaction mutex), so other async code never interleaves inside ours.
  const db: Db = {
    kind: 'pglite',
    async query<R extends object = Record<string, unknown>>(sql: string, params?: readonly unknown[]) {
      guard.refuse(db);
      return direct.query<R>(sql, params);
    },
    async exec(sql: string) {
      guard.refuse(db);
      await direct.exec(sql);
    },
    async transaction<T>(fn: (tx: Queryable) => Promise<T>): Promise<T> {
      guard.refuse(db);
      const scope: TxScope = { owner: db, open: true };
      try {
        return await pglite.transaction((tx) => guard.within(scope, () => fn(guardedTx(wrap(tx), scope))));
      } finally {
        scope.open = false;
      }
    },
    async close() {
      if (!pglite.closed) await pglite.close();
    },
  };
  return db;
}

const tracer = trace.getTracer('tributary.store');

/**
 * One span per statement when tracing is on (OpenTelemetry's SDK registered; otherwise the spans are
 * non-recording and nothing is computed). The statement's text is recorded without its parameters.
 */
function traced(system: 'postgresql' | 'pglite', inner: Queryable): Queryable {
  const span = (sql: string) => {
    const current = tracer.startSpan('db', { kind: SpanKind.CLIENT });
    if (current.isRecording()) {
      const operation = /^\s*(\w+)/.exec(sql)?.[1]?.toUpperCase() ?? 'SQL';
      current.updateName(`db ${operation}`);
      current.setAttributes({
        'db.system': system === 'pglite' ? 'postgresql' : system,
        'db.operation.name': operation,
        'db.query.text': sql.length > 1000 ? `${sql.slice(0, 1000)}...` : sql,
        'tributary.db.backend': system,
      });
    }
    return current;
  };
  const finish = async <T>(current: ReturnType<typeof span>, work: Promise<T>): Promise<T> => {
    try {
      return await work;
    } catch (error) {
      current.setStatus({
        code: SpanStatusCode.ERROR,
        message: (error as { code?: string }).code ?? 'ERROR',
      });
      throw error;
    } finally {
      current.end();
    }
  };
  return {
    query: <R extends object = Record<string, unknown>>(sql: string, params?: readonly unknown[]) =>
      finish(span(sql), inner.query<R>(sql, params)),
    exec: (sql: string) => finish(span(sql), inner.exec(sql)),
  };
}
