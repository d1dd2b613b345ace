/**
 * `tributary operations publish FILE` and `tributary operations list` as an operator runs them: child
 * processes on a migrated data directory (the embedded database), with manifest files beside it.
 */
import { createHash } from 'node:crypto';
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { migrationDirs } from '../../datasources/modules.js';
import { loadConfig } from '../../server/config.js';
import { openConfiguredDatabase } from '../../server/wiring.js';
import { AuditLog } from '../../store/audit.js';
import type { Db } from '../../store/db.js';
import { migrate } from '../../store/migrate.js';
import { PersistedOperationRepository } from '../../store/persisted-operations.js';
import { cliEnv, runCli } from '../helpers/cli.js';

const sha256 = (text: string) => createHash('sha256').update(text).digest('hex');
const CONSENTS = 'query MyConsents { consents { provider status } }';
const ACCOUNTS = 'query MyAccounts { accounts(first: 5) { edges { node { id name } } } }';

const entry = (name: string, body: string, overrides: Record<string, unknown> = {}) => ({
  id: sha256(body),
  name,
  type: 'query',
  body,
  ...overrides,
});
const manifest = (...operations: unknown[]) =>
  JSON.stringify({ format: 'apollo-persisted-query-manifest', version: 1, operations });

let dataDir: string;

async function file(name: string, text: string): Promise<string> {
  const path = join(dataDir, name);
  await writeFile(path, text);
  return path;
}

/** Opens the data directory's database while no command runs (the embedded database has one user). */
async function withDb<T>(work: (db: Db) => Promise<T>): Promise<T> {
  const db = await openConfiguredDatabase(loadConfig({ NODE_ENV: 'test', TRIBUTARY_DATA_DIR: dataDir }));
  try {
    return await work(db);
  } finally {
    await db.close();
  }
}
const published = () => withDb((db) => new PersistedOperationRepository(db).list());

const cli = (...args: string[]) => runCli(args, cliEnv(dataDir));

beforeAll(async () => {
  dataDir = await mkdtemp(join(tmpdir(), 'tributary-operations-'));
  const db = await openConfiguredDatabase(loadConfig({ NODE_ENV: 'test', TRIBUTARY_DATA_DIR: dataDir }));
  await migrate(db, { dirs: migrationDirs() });
  await db.close();
});
afterAll(() => rm(dataDir, { recursive: true, force: true }));

describe('tributary operations publish', { timeout: 120_000 }, () => {
  it('refuses a forged id, naming the operation and the real digest, and publishes nothing', async () => {
    const forged = entry('MyAccounts', ACCOUNTS, { id: sha256(CONSENTS) });
    const run = await cli('operations', 'publish', await file('forged.json', manifest(forged)));
    expect(run.code).toBe(1);
    expect(run.stderr).toContain('refused, nothing published');
    expect(run.stderr).toContain(
      `operations.0 (MyAccounts): id is not the SHA-256 of its body (that is ${sha256(ACCOUNTS)})`,
    );
    expect(await published()).toEqual([]);
  });

  it('refuses a body that does not validate against the schema, and every other problem with it', async () => {
    const unknownField = 'query Bad { consents { colour } }';
    const run = await cli(
      'operations',
      'publish',
      await file(
        'invalid.json',
        manifest(
          entry('MyConsents', CONSENTS),
          entry('Bad', unknownField),
          entry('Wrong', 'mutation Wrong { __typename }'),
        ),
      ),
    );
    expect(run.code).toBe(1);
    expect(run.stderr).toMatch(/operations\.1 \(Bad\): body does not validate: Cannot query field "colour"/);
    expect(run.stderr).toContain('operations.2 (Wrong): type is query but the body is a mutation');
    // All or nothing: the valid operation of a refused file is not published either.
    expect(await published()).toEqual([]);
  });

  it('refuses a file that is not a manifest, and a file it cannot read', async () => {
    const notManifest = await cli(
      'operations',
      'publish',
      await file('other.json', JSON.stringify({ format: 'relay', operations: {} })),
    );
    expect(notManifest.code).toBe(1);
    expect(notManifest.stderr).toMatch(/format: /);
    expect(notManifest.stderr).toMatch(/version: /);
    const notJson = await cli('operations', 'publish', await file('broken.json', '{"format":'));
    expect(notJson.code).toBe(1);
    expect(notJson.stderr).toContain('not JSON');
    const missing = await cli('operations', 'publish', join(dataDir, 'missing.json'));
    expect(missing.code).toBe(2);
    expect(missing.stderr).toContain('cannot read');
  });

  it('publishes a manifest, audited, and publishing it again changes nothing', async () => {
    const path = await file(
      'app.json',
      manifest(entry('MyConsents', CONSENTS), entry('MyAccounts', ACCOUNTS)),
    );
    const first = await cli('operations', 'publish', path);
    expect(first.stderr).toBe('');
    expect(first.code).toBe(0);
    expect(first.stdout).toContain(`${path}: 2 new, 0 already published`);
    expect(first.stdout).toContain(`new  ${sha256(CONSENTS)}  query    MyConsents`);

    const again = await cli('operations', 'publish', path);
    expect(again.code).toBe(0);
    expect(again.stdout).toContain(`${path}: 0 new, 2 already published`);

    const list = await cli('operations', 'list');
    expect(list.code).toBe(0);
    expect(list.stdout).toContain('2 published operation(s)');
    expect(list.stdout).toContain(sha256(ACCOUNTS));

    // One audit entry, for the publish that added something, sealed into a chain that verifies.
    const audit = await withDb(async (db) => {
      const log = new AuditLog(db, { sealIntervalMs: 0 });
      try {
        return {
          verified: (await log.verify()).ok,
          entries: await db.query<{ actor: string }>(
            "SELECT actor FROM audit_log WHERE action = 'operations.published'",
          ),
        };
      } finally {
        log.close();
      }
    });
    expect(audit.verified).toBe(true);
    expect(audit.entries).toHaveLength(1);
    expect(audit.entries[0]?.actor).toMatch(/^operator:/);
  });
});
