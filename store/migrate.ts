/**
 * Forward-only SQL migrations from `store/migrations/NNN_name.sql` and from the folders partner modules
 * name for their own tables (`datasources/<partner>/migrations/`), applied together in version order,
 * each in its own transaction, and recorded with a SHA-256 checksum in `schema_migrations`. Versions are
 * one sequence across every folder; two files with one version stop everything.
 *
 * Several replicas may start at once against one PostgreSQL: every step takes a transaction-scoped
 * advisory lock keyed by the schema, re-reads what is applied under that lock, and skips what another
 * process finished meanwhile. A file whose content changed after it was applied stops everything,
 * because the database no longer matches what the code believes it ran.
 */
import { createHash } from 'node:crypto';
import { readdir, readFile } from 'node:fs/promises';
import { join } from 'node:path';
import { fromRoot } from './paths.js';
import type { Db, Queryable } from './db.js';

/** Where the shipped migrations live, from the sources and from a compiled dist/ alike. */
export const MIGRATIONS_DIR = fromRoot('store', 'migrations');

/** One migration file. */
export interface Migration {
  version: number;
  /** The file name, e.g. `001_init.sql`; what reports and errors show. */
  file: string;
  sql: string;
  /** SHA-256 (hex) of the file with line endings normalised to LF. */
  checksum: string;
}

/** An applied migration's file no longer matches the checksum recorded when it ran. */
export class MigrationChecksumError extends Error {
  override readonly name = 'MigrationChecksumError';
  constructor(readonly file: string) {
    super(
      `Migration ${file} was changed after it was applied (checksum differs). ` +
        'Applied migrations are immutable: restore the file and add a new migration instead.',
    );
  }
}

/** Options shared by the functions below. */
export interface MigrationOptions {
  /** The folders to read, in addition to nothing else. Default: `[MIGRATIONS_DIR]`. */
  dirs?: readonly string[];
  /** One folder alone (tests). */
  dir?: string;
}

function dirsOf(options: MigrationOptions): readonly string[] {
  return options.dirs ?? [options.dir ?? MIGRATIONS_DIR];
}

/** Reads every folder's migrations as one sequence in version order; a shared version is an error. */
export async function loadAllMigrations(dirs: readonly string[]): Promise<Migration[]> {
  const all = (await Promise.all(dirs.map((dir) => loadMigrations(dir)))).flat();
  const byVersion = new Map<number, string>();
  for (const migration of all) {
    const clash = byVersion.get(migration.version);
    if (clash)
      throw new Error(`Migrations ${clash} and ${migration.file} share version ${migration.version}.`);
    byVersion.set(migration.version, migration.file);
  }
  return all.sort((a, b) => a.version - b.version);
}

const FILE_NAME = /^(\d{3})_([a-z0-9_]+)\.sql$/;
const LOCK = `SELECT pg_advisory_xact_lock(hashtextextended('tributary.migrate.' || coalesce(current_schema(), ''), 0))`;
const loaded = new Map<string, Promise<Migration[]>>();

/** Reads and validates the migration files of `dir` (cached: files ship with the code). */
export function loadMigrations(dir: string = MIGRATIONS_DIR): Promise<Migration[]> {
  let migrations = loaded.get(dir);
  if (!migrations) {
    migrations = readMigrations(dir);
    loaded.set(dir, migrations);
    migrations.catch(() => loaded.delete(dir));
  }
  return migrations;
}

async function readMigrations(dir: string): Promise<Migration[]> {
  const files = (await readdir(dir)).filter((file) => file.endsWith('.sql')).sort();
  const byVersion = new Map<number, string>();
  const migrations: Migration[] = [];
  for (const file of files) {
    const match = FILE_NAME.exec(file);
    if (!match) throw new Error(`Migration file ${file} is not named NNN_lower_snake_name.sql.`);
    const version = Number(match[1]);
    const clash = byVersion.get(version);
    if (clash) throw new Error(`Migrations ${clash} and ${file} share version ${version}.`);
    byVersion.set(version, file);
    const sql = (await readFile(join(dir, file), 'utf8')).replace(/\r\n/g, '\n');
    const checksum = createHash('sha256').update(sql).digest('hex');
    migrations.push({ version, file, sql, checksum });
  }
  return migrations;
}

interface AppliedRow {
  version: number;
  checksum: string;
}

async function appliedMigrations(db: Queryable): Promise<Map<number, string> | null> {
  const [table] = await db.query<{ name: string | null }>(
    `SELECT to_regclass('schema_migrations')::text AS name`,
  );
  if (!table?.name) return null;
  const rows = await db.query<AppliedRow>('SELECT version, checksum FROM schema_migrations');
  return new Map(rows.map((row) => [row.version, row.checksum]));
}

function checkUnchanged(migrations: readonly Migration[], applied: Map<number, string>): void {
  for (const migration of migrations) {
    const checksum = applied.get(migration.version);
    if (checksum !== undefined && checksum !== migration.checksum)
      throw new MigrationChecksumError(migration.file);
  }
}

/**
 * Applies every pending migration in order and returns the files it applied (none when up to date).
 * Throws MigrationChecksumError before applying anything if an applied file changed.
 */
export async function migrate(db: Db, options: MigrationOptions = {}): Promise<{ applied: string[] }> {
  const migrations = await loadAllMigrations(dirsOf(options));
  await db.transaction(async (tx) => {
    await tx.query(LOCK);
    await tx.exec(`CREATE TABLE IF NOT EXISTS schema_migrations (
      version    integer PRIMARY KEY,
      name       text NOT NULL,
      checksum   text NOT NULL,
      applied_at timestamptz NOT NULL DEFAULT now()
    )`);
    checkUnchanged(migrations, (await appliedMigrations(tx)) ?? new Map());
  });

  const applied: string[] = [];
  for (const migration of migrations) {
    const ran = await db.transaction(async (tx) => {
      await tx.query(LOCK);
      const [row] = await tx.query<AppliedRow>(
        'SELECT version, checksum FROM schema_migrations WHERE version = $1',
        [migration.version],
      );
      if (row) {
        if (row.checksum !== migration.checksum) throw new MigrationChecksumError(migration.file);
        return false;
      }
      try {
        await tx.exec(migration.sql);
      } catch (error) {
        throw new Error(`Migration ${migration.file} failed: ${(error as Error).message}`, { cause: error });
      }
      await tx.query('INSERT INTO schema_migrations (version, name, checksum) VALUES ($1, $2, $3)', [
        migration.version,
        migration.file,
        migration.checksum,
      ]);
      return true;
    });
    if (ran) applied.push(migration.file);
  }
  return { applied };
}

/** What the database holds compared with the files. */
export interface MigrationStatus {
  /** Files not applied yet, in order. */
  pending: string[];
  /** Applied files whose content changed since. */
  changed: string[];
}

/** Compares the files with `schema_migrations` without changing anything. */
export async function migrationStatus(
  db: Queryable,
  options: MigrationOptions = {},
): Promise<MigrationStatus> {
  const migrations = await loadAllMigrations(dirsOf(options));
  const applied = (await appliedMigrations(db)) ?? new Map<number, string>();
  const status: MigrationStatus = { pending: [], changed: [] };
  for (const migration of migrations) {
    const checksum = applied.get(migration.version);
    if (checksum === undefined) status.pending.push(migration.file);
    else if (checksum !== migration.checksum) status.changed.push(migration.file);
  }
  return status;
}

/** The migration files not applied yet, in order. */
export async function pendingMigrations(db: Queryable, options: MigrationOptions = {}): Promise<string[]> {
  return (await migrationStatus(db, options)).pending;
}
