import { cp, mkdtemp, rm, writeFile, appendFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import type { Db } from '../../store/db.js';
import {
  MIGRATIONS_DIR,
  MigrationChecksumError,
  loadMigrations,
  migrate,
  migrationStatus,
  pendingMigrations,
} from '../../store/migrate.js';
import { testBackends } from '../helpers/db.js';

// Later work ships its own migrations; these tests hold for whatever store/migrations contains, and
// their extra files use versions from 9xx so they sort after every shipped one.
let shipped: string[];
let scratch: string;
beforeAll(async () => {
  shipped = (await loadMigrations()).map((migration) => migration.file);
  scratch = await mkdtemp(join(tmpdir(), 'tributary-migrations-'));
});
afterAll(async () => {
  await rm(scratch, { recursive: true, force: true });
});

/** A copy of the shipped migrations plus `extra` files, in a directory of its own. */
async function migrationsDir(extra: Record<string, string> = {}): Promise<string> {
  const dir = await mkdtemp(join(scratch, 'set-'));
  await cp(MIGRATIONS_DIR, dir, { recursive: true });
  for (const [file, sql] of Object.entries(extra)) await writeFile(join(dir, file), sql);
  return dir;
}

describe.each(testBackends())('migrations on $kind', (backend) => {
  const opened: Db[] = [];
  const open = async () => {
    const db = await backend.open({ migrate: false });
    opened.push(db);
    return db;
  };
  afterEach(async () => {
    await Promise.all(opened.splice(0).map((db) => db.close()));
  });

  it('applies every migration once, in order, recording name and checksum', async () => {
    const db = await open();
    expect(shipped[0]).toBe('001_init.sql');
    expect(await pendingMigrations(db)).toEqual(shipped);
    expect(await migrate(db)).toEqual({ applied: shipped });
    const rows = await db.query<{ version: number; name: string; checksum: string; applied_at: Date }>(
      'SELECT version, name, checksum, applied_at FROM schema_migrations ORDER BY version',
    );
    expect(rows.map((row) => row.name)).toEqual(shipped);
    expect(rows[0]).toEqual({
      version: 1,
      name: '001_init.sql',
      checksum: expect.stringMatching(/^[0-9a-f]{64}$/),
      applied_at: expect.any(Date),
    });
    expect(await pendingMigrations(db)).toEqual([]);
  });

  it('does nothing when run again', async () => {
    const db = await open();
    await migrate(db);
    expect(await migrate(db)).toEqual({ applied: [] });
    expect(await db.query('SELECT count(*)::int AS n FROM schema_migrations')).toEqual([
      { n: shipped.length },
    ]);
  });

  it("applies a partner module's folder with the core migrations as one version sequence", async () => {
    const db = await open();
    const partner = await mkdtemp(join(scratch, 'partner-'));
    await writeFile(join(partner, '905_partner_table.sql'), 'CREATE TABLE partner_things (id int);');
    const dirs = [MIGRATIONS_DIR, partner];
    expect(await pendingMigrations(db, { dirs })).toEqual([...shipped, '905_partner_table.sql']);
    expect(await migrate(db, { dirs })).toEqual({ applied: [...shipped, '905_partner_table.sql'] });
    expect(await db.query('SELECT count(*)::int AS n FROM partner_things')).toEqual([{ n: 0 }]);
    expect(await migrate(db, { dirs })).toEqual({ applied: [] });
  });

  it('refuses two folders that give one version twice, before applying anything', async () => {
    const db = await open();
    const partner = await mkdtemp(join(scratch, 'clash-'));
    const [first] = shipped;
    await writeFile(join(partner, first!.replace(/_.*$/, '_clash.sql')), 'CREATE TABLE clash (id int);');
    await expect(migrate(db, { dirs: [MIGRATIONS_DIR, partner] })).rejects.toThrow(/share version/);
    expect(await pendingMigrations(db)).toEqual(shipped);
  });

  it('lists a new file as pending and applies only that file', async () => {
    const db = await open();
    await migrate(db);
    const dir = await migrationsDir({ '901_extra.sql': 'CREATE TABLE extra (id int);' });
    expect(await pendingMigrations(db, { dir })).toEqual(['901_extra.sql']);
    expect(await migrate(db, { dir })).toEqual({ applied: ['901_extra.sql'] });
    expect(await db.query('SELECT count(*)::int AS n FROM extra')).toEqual([{ n: 0 }]);
  });

  it('refuses to run when an applied file changed, naming the file', async () => {
    const db = await open();
    await migrate(db);
    const dir = await migrationsDir({ '902_never.sql': 'CREATE TABLE never (id int);' });
    await appendFile(join(dir, '001_init.sql'), '\n-- an innocent-looking edit\n');
    const failure = migrate(db, { dir });
    await expect(failure).rejects.toBeInstanceOf(MigrationChecksumError);
    await expect(failure).rejects.toThrow(/001_init\.sql/);
    expect(await migrationStatus(db, { dir })).toEqual({
      pending: ['902_never.sql'],
      changed: ['001_init.sql'],
    });
    const [row] = await db.query<{ found: string | null }>(`SELECT to_regclass('never')::text AS found`);
    expect(row?.found).toBeNull();
  });

  it('rolls back a failing migration, names it, and leaves it pending', async () => {
    const db = await open();
    const dir = await migrationsDir({
      '903_broken.sql': 'CREATE TABLE half_done (id int);\nSELEC nonsense;',
    });
    await expect(migrate(db, { dir })).rejects.toThrow(/903_broken\.sql/);
    expect(await pendingMigrations(db, { dir })).toEqual(['903_broken.sql']);
    const [row] = await db.query<{ found: string | null }>(`SELECT to_regclass('half_done')::text AS found`);
    expect(row?.found).toBeNull();
  });

  it('rejects a migration file that does not follow the naming scheme', async () => {
    const db = await open();
    const dir = await migrationsDir({ '2_oops.sql': 'SELECT 1;' });
    await expect(migrate(db, { dir })).rejects.toThrow(/2_oops\.sql/);
  });

  it.runIf(backend.openPeer)(
    'applies each file exactly once when two replicas migrate at the same time',
    async () => {
      const first = await open();
      const second = await backend.openPeer!(first);
      opened.push(second);
      const dir = await migrationsDir({
        '904_slow.sql': 'SELECT pg_sleep(0.2); CREATE TABLE slow (id int);',
        '905_after.sql': 'CREATE TABLE after_slow (id int);',
      });
      const results = await Promise.all([migrate(first, { dir }), migrate(second, { dir })]);
      const applied = results.flatMap((result) => result.applied).sort();
      const expected = [...shipped, '904_slow.sql', '905_after.sql'];
      expect(applied).toEqual([...expected].sort());
      const recorded = await first.query<{ name: string }>(
        'SELECT name FROM schema_migrations ORDER BY version',
      );
      expect(recorded.map((row) => row.name)).toEqual(expected);
    },
  );
});
