/**
 * `tributary operations publish FILE` and `tributary operations list`: the persisted operations manifest
 * (Apollo's persisted query list) in the database every replica reads, so a publish reaches every
 * running replica without a restart (server/persisted-operations.ts). A manifest is checked whole
 * first (server/operation-manifest.ts) and published in one transaction, or not at all; publishing it
 * again is harmless. Every publish that adds operations is written to the audit log.
 */
import { readFile } from 'node:fs/promises';
import { userInfo } from 'node:os';
import { checkManifest } from '../server/operation-manifest.js';
import { buildSchema } from '../server/schema.js';
import { openConfiguredDatabase } from '../server/wiring.js';
import type { Config } from '../server/config.js';
import { AuditLog } from '../store/audit.js';
import type { Db } from '../store/db.js';
import {
  OperationConflictError,
  PersistedOperationRepository,
  type PersistedOperation,
} from '../store/persisted-operations.js';
import { configOrExit } from './common.js';

/** A publish's outcome: what was new and what was there already, or why nothing was published. */
export type PublishOutcome =
  | { ok: true; published: PersistedOperation[]; alreadyPublished: PersistedOperation[] }
  | { ok: false; problems: string[] };

/** Checks a manifest's text and publishes it on `db`, audited under `actor`. */
export async function publishManifest(
  db: Db,
  text: string,
  options: { limits: Config['limits']; actor: string },
): Promise<PublishOutcome> {
  const checked = checkManifest(text, buildSchema(), options.limits);
  if (!checked.ok) return checked;
  // Sealed below, before the command exits: no timers of its own.
  const audit = new AuditLog(db, { sealIntervalMs: 0 });
  try {
    const result = await new PersistedOperationRepository(db).publish(checked.operations, {
      log: audit,
      actor: options.actor,
    });
    await audit.seal();
    const byId = new Map(checked.operations.map((operation) => [operation.id, operation]));
    return {
      ok: true,
      published: result.published.map((id) => byId.get(id)!),
      alreadyPublished: result.alreadyPublished.map((id) => byId.get(id)!),
    };
  } catch (error) {
    if (error instanceof OperationConflictError) return { ok: false, problems: [error.message] };
    throw error;
  } finally {
    audit.close();
  }
}

function fail(message: string, code: number): never {
  process.stderr.write(`${message}\n`);
  process.exit(code);
}

/** The database lacks the table: migrations were not applied to it yet. */
function notMigrated(error: unknown): boolean {
  return (error as { code?: unknown } | null)?.code === '42P01';
}

async function withDatabase<T>(config: Config, work: (db: Db) => Promise<T>): Promise<T> {
  const db = await openConfiguredDatabase(config);
  try {
    return await work(db);
  } catch (error) {
    if (!notMigrated(error)) throw error;
  } finally {
    await db.close();
  }
  fail('the database has no persisted_operations table: run `tributary migrate` first', 2);
}

const line = (operation: PersistedOperation) =>
  `${operation.id}  ${operation.type.padEnd(8)} ${operation.name}`;

export async function runOperationsPublish(file: string): Promise<void> {
  const text = await readFile(file, 'utf8').catch((error: unknown) =>
    fail(`cannot read ${file}: ${(error as Error).message}`, 2),
  );
  const config = configOrExit();
  const outcome = await withDatabase(config, (db) =>
    publishManifest(db, text, { limits: config.limits, actor: `operator:${userInfo().username}` }),
  );
  if (!outcome.ok) {
    process.stderr.write(
      `${file} refused, nothing published:\n${outcome.problems.map((problem) => `  - ${problem}\n`).join('')}`,
    );
    process.exitCode = 1;
    return;
  }
  for (const operation of outcome.published) process.stdout.write(`  new  ${line(operation)}\n`);
  process.stdout.write(
    `${file}: ${outcome.published.length} new, ${outcome.alreadyPublished.length} already published\n`,
  );
}

export async function runOperationsList(options: { json?: boolean }): Promise<void> {
  const config = configOrExit();
  const operations = await withDatabase(config, (db) => new PersistedOperationRepository(db).list());
  if (options.json) {
    process.stdout.write(`${JSON.stringify(operations, null, 2)}\n`);
    return;
  }
  for (const operation of operations)
    process.stdout.write(`${line(operation)}  ${operation.publishedAt.toISOString()}\n`);
  process.stdout.write(`${operations.length} published operation(s)\n`);
}
