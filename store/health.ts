/** Readiness for `/readyz` (DESIGN §13): the database answers and every migration is applied. */
import type { Queryable } from './db.js';
import { migrationStatus } from './migrate.js';
import type { MigrationOptions } from './migrate.js';

/** What `/readyz` reports. Reasons are fixed phrases: probes may be reachable from outside. */
export interface Readiness {
  ok: boolean;
  database: 'up' | 'down';
  pendingMigrations: string[];
  /** Applied migration files whose content changed since (a broken deployment). */
  changedMigrations: string[];
  reason?: string;
}

export interface ReadinessOptions extends MigrationOptions {
  /** How long the database may take to answer (default 2000 ms). */
  timeoutMs?: number;
}

/** Checks the database and the migrations. Never throws: a failure is a `ok: false` answer. */
export async function checkReadiness(db: Queryable, options: ReadinessOptions = {}): Promise<Readiness> {
  let database: Readiness['database'] = 'down';
  const failed = (reason: string): Readiness => ({
    ok: false,
    database,
    pendingMigrations: [],
    changedMigrations: [],
    reason,
  });
  let timer: NodeJS.Timeout | undefined;
  const timeout = new Promise<'timeout'>((resolve) => {
    timer = setTimeout(() => resolve('timeout'), options.timeoutMs ?? 2000);
    timer.unref();
  });
  try {
    const answered = await Promise.race([db.query('SELECT 1 AS ok').then(() => 'up' as const), timeout]);
    if (answered === 'timeout') return failed('database did not answer in time');
    database = 'up';
    const status = await Promise.race([migrationStatus(db, options), timeout]);
    if (status === 'timeout') return failed('database did not answer in time');
    const ok = status.pending.length === 0 && status.changed.length === 0;
    return {
      ok,
      database: 'up',
      pendingMigrations: status.pending,
      changedMigrations: status.changed,
      ...(ok ? {} : { reason: status.changed.length > 0 ? 'migration files changed' : 'migrations pending' }),
    };
  } catch {
    return failed(database === 'up' ? 'migration status unavailable' : 'database unreachable');
  } finally {
    clearTimeout(timer);
  }
}
