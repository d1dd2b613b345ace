import { openConfiguredDatabase } from '../server/wiring.js';
import { migrate } from '../store/migrate.js';
import { configOrExit } from './common.js';

export async function runMigrate(): Promise<void> {
  const config = configOrExit();
  const db = await openConfiguredDatabase(config);
  try {
    const { applied } = await migrate(db);
    process.stdout.write(applied.length ? `applied: ${applied.join(', ')}\n` : 'database is up to date\n');
  } finally {
    await db.close();
  }
}
