/**
 * `tributary audit verify`: checks the audit log's hash chain. On the embedded database held by a
 * running server it asks that server (GET /ops/api/audit) instead of opening the database.
 */
import { AuditLog } from '../store/audit.js';
import { openConfiguredDatabase } from '../server/wiring.js';
import { configOrExit } from './common.js';
import { announceRemote, opsRequest, orFail, runningServer } from './server-owner.js';

/** What the ops API answers for the audit log. */
interface RemoteVerification {
  ok: boolean;
  entries: number;
  head?: unknown;
  brokenAt?: string | number | null;
  reason?: string;
}

/** The one output of a verification, local or through the server. */
function printVerification(result: {
  ok: boolean;
  checked: number;
  brokenAt?: string | number | bigint | null;
  reason?: string;
}): void {
  if (result.ok) {
    process.stdout.write(`audit log intact: ${result.checked} entries verified\n`);
  } else {
    process.stdout.write(
      `audit log BROKEN at entry ${String(result.brokenAt ?? '?')}: ${result.reason ?? 'the hash chain does not hold'}\n`,
    );
    process.exitCode = 1;
  }
}

export async function runAuditVerify(): Promise<void> {
  const config = configOrExit();
  const owner = await runningServer(config);
  if (owner) {
    announceRemote(owner);
    const remote = await orFail(() => opsRequest<RemoteVerification>(config, owner, 'GET', '/ops/api/audit'));
    printVerification({
      ok: remote.ok,
      checked: remote.entries,
      ...(remote.brokenAt != null ? { brokenAt: remote.brokenAt } : {}),
      ...(remote.reason ? { reason: remote.reason } : {}),
    });
    return;
  }
  const db = await openConfiguredDatabase(config);
  try {
    printVerification(await new AuditLog(db).verify());
  } finally {
    await db.close();
  }
}
