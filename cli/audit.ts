import { AuditLog } from '../store/audit.js';
import { openConfiguredDatabase } from '../server/wiring.js';
import { configOrExit } from './common.js';

export async function runAuditVerify(): Promise<void> {
  const config = configOrExit();
  const db = await openConfiguredDatabase(config);
  try {
    const result = await new AuditLog(db).verify();
    if (result.ok) {
      process.stdout.write(`audit log intact: ${result.checked} entries verified\n`);
    } else {
      process.stdout.write(`audit log BROKEN at entry ${result.brokenAt}: ${result.reason}\n`);
      process.exitCode = 1;
    }
  } finally {
    await db.close();
  }
}
