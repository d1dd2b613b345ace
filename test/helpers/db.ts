/**
 * The databases store tests run on: PGlite in memory always, and PostgreSQL too when DATABASE_URL is
 * set. Each `open()` gives an isolated database (a fresh PGlite, or a fresh random schema that is
 * dropped on close), so test files running in parallel never see each other's rows.
 *
 *   describe.each(testBackends())('consents on $kind', (backend) => { ... backend.open() ... })
 */
import { randomBytes } from 'node:crypto';
import { openDatabase } from '../../store/db.js';
import type { Db, Queryable } from '../../store/db.js';
import { migrate } from '../../store/migrate.js';
import { migrationDirs } from '../../datasources/modules.js';

/** One backend to run a suite on. */
export interface TestBackend {
  readonly kind: 'pg' | 'pglite';
  /** An isolated database, migrated unless `migrate: false`. Close it in afterEach/afterAll. */
  open(options?: { migrate?: boolean }): Promise<Db>;
  /**
   * pg only: another handle (its own pool) on the same schema as `db`, like a second replica.
   * Closing it leaves the schema in place.
   */
  openPeer?(db: Db): Promise<Db>;
}

const schemas = new WeakMap<Db, string>();

/** PGlite, plus PostgreSQL when `DATABASE_URL` is set. */
export function testBackends(): TestBackend[] {
  const backends: TestBackend[] = [pgliteBackend];
  // Tests read the environment directly: the server's config reader is not part of the store layer.
  const url = process.env.DATABASE_URL;
  if (url) backends.push(pgBackend(url));
  return backends;
}

const pgliteBackend: TestBackend = {
  kind: 'pglite',
  async open(options = {}) {
    const db = await openDatabase({ dataDir: 'memory://' });
    if (options.migrate ?? true) await migrate(db, { dirs: migrationDirs() });
    return db;
  },
};

function pgBackend(url: string): TestBackend {
  return {
    kind: 'pg',
    async open(options = {}) {
      const schema = `test_${randomBytes(8).toString('hex')}`;
      const inner = await openDatabase({ url, schema, max: 4 });
      const db = withClose(inner, async () => {
        try {
          await inner.exec(`DROP SCHEMA IF EXISTS ${schema} CASCADE`);
        } finally {
          await inner.close();
        }
      });
      schemas.set(db, schema);
      if (options.migrate ?? true) await migrate(db, { dirs: migrationDirs() });
      return db;
    },
    async openPeer(db) {
      const schema = schemas.get(db);
      if (!schema) throw new Error('openPeer needs a database opened by this backend.');
      return openDatabase({ url, schema, max: 4 });
    },
  };
}

function withClose(db: Db, close: () => Promise<void>): Db {
  return {
    kind: db.kind,
    query: (sql, params) => db.query(sql, params),
    exec: (sql) => db.exec(sql),
    transaction: (fn) => db.transaction(fn),
    close,
  };
}

/**
 * The Db, with every statement it (or a transaction of it) is sent recorded in `statements`. A
 * transaction is recorded as 'BEGIN' before its statements and 'COMMIT' or 'ROLLBACK' after them, the
 * round trips the adapter spends on it.
 */
export function recordingDb(db: Db): { db: Db; statements: string[] } {
  const statements: string[] = [];
  const record = (target: Queryable): Queryable => ({
    query: (sql, params) => {
      statements.push(sql);
      return target.query(sql, params);
    },
    exec: (sql) => {
      statements.push(sql);
      return target.exec(sql);
    },
  });
  return {
    statements,
    db: {
      ...record(db),
      kind: db.kind,
      transaction: async (fn) => {
        statements.push('BEGIN');
        try {
          const result = await db.transaction((tx) => fn(record(tx)));
          statements.push('COMMIT');
          return result;
        } catch (error) {
          statements.push('ROLLBACK');
          throw error;
        }
      },
      close: () => db.close(),
    },
  };
}
