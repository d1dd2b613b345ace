import { afterEach, describe, expect, it } from 'vitest';
import type { Db, Queryable } from '../../store/db.js';
import { checkReadiness } from '../../store/health.js';
import { loadMigrations, migrate } from '../../store/migrate.js';
import { testBackends } from '../helpers/db.js';

describe.each(testBackends())('readiness on $kind', (backend) => {
  const opened: Db[] = [];
  afterEach(async () => {
    await Promise.all(opened.splice(0).map((db) => db.close()));
  });
  const open = async () => {
    const db = await backend.open({ migrate: false });
    opened.push(db);
    return db;
  };

  it('is not ready while migrations are pending, and names them', async () => {
    const db = await open();
    expect(await checkReadiness(db)).toEqual({
      ok: false,
      database: 'up',
      pendingMigrations: (await loadMigrations()).map((migration) => migration.file),
      changedMigrations: [],
      reason: 'migrations pending',
    });
  });

  it('is ready once every migration is applied', async () => {
    const db = await open();
    await migrate(db);
    expect(await checkReadiness(db)).toEqual({
      ok: true,
      database: 'up',
      pendingMigrations: [],
      changedMigrations: [],
    });
  });

  it('reports the database down instead of throwing when it is closed', async () => {
    const db = await backend.open({ migrate: false });
    await db.close();
    expect(await checkReadiness(db)).toMatchObject({
      ok: false,
      database: 'down',
      reason: 'database unreachable',
    });
  });
});

describe('readiness against a database that hangs', () => {
  it('answers down after the timeout', async () => {
    const hanging: Queryable = {
      query: () => new Promise(() => undefined),
      exec: () => new Promise(() => undefined),
    };
    expect(await checkReadiness(hanging, { timeoutMs: 20 })).toMatchObject({
      ok: false,
      database: 'down',
      reason: 'database did not answer in time',
    });
  });
});
