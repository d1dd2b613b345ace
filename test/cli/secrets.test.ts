/**
 * `tributary secrets rotate` as an operator runs it: a child process on a data directory whose
 * credentials were sealed under an older key, with the new key put first in SECRETS_KEY.
 */
import { spawn } from 'node:child_process';
import { randomUUID } from 'node:crypto';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { migrationDirs } from '../../datasources/modules.js';
import { loadConfig } from '../../server/config.js';
import { openConfiguredDatabase } from '../../server/wiring.js';
import { ConsentRepository } from '../../store/consents.js';
import { migrate } from '../../store/migrate.js';
import { fromRoot } from '../../store/paths.js';
import { generateKeyRingEntry, parseKeyRing, SecretBox } from '../../store/secrets.js';

const OLD = generateKeyRingEntry('k2025');
const NEW = generateKeyRingEntry('k2026');
let dataDir: string;

async function withConsents<T>(ring: string, work: (consents: ConsentRepository) => Promise<T>): Promise<T> {
  const config = loadConfig({ NODE_ENV: 'test', TRIBUTARY_DATA_DIR: dataDir, SECRETS_KEY: ring });
  const db = await openConfiguredDatabase(config);
  try {
    await migrate(db, { dirs: migrationDirs() });
    return await work(new ConsentRepository(db, new SecretBox(parseKeyRing(ring))));
  } finally {
    await db.close();
  }
}

function rotate(ring: string): Promise<{ code: number | null; stdout: string; stderr: string }> {
  return new Promise((resolve, reject) => {
    const child = spawn(
      process.execPath,
      ['--import', 'tsx', fromRoot('cli', 'main.ts'), 'secrets', 'rotate', '--batch-size', '2'],
      {
        cwd: fromRoot(),
        env: {
          PATH: process.env.PATH ?? '',
          HOME: process.env.HOME ?? tmpdir(),
          NODE_ENV: 'test',
          LOG_LEVEL: 'warn',
          TRIBUTARY_DATA_DIR: dataDir,
          SECRETS_KEY: ring,
        },
        stdio: ['ignore', 'pipe', 'pipe'],
      },
    );
    let stdout = '';
    let stderr = '';
    child.stdout.on('data', (chunk: Buffer) => (stdout += chunk.toString()));
    child.stderr.on('data', (chunk: Buffer) => (stderr += chunk.toString()));
    child.on('error', reject);
    child.on('close', (code) => resolve({ code, stdout, stderr }));
  });
}

const grant = (consents: ConsentRepository, subject: string) =>
  consents.grant({
    subject,
    provider: 'plaid',
    permissions: ['accounts:read'],
    partnerRef: `item-${randomUUID()}`,
    credential: { accessToken: `access-${subject}`, refreshToken: null, expiresAt: null },
    expiresAt: null,
  });

beforeAll(async () => {
  dataDir = await mkdtemp(join(tmpdir(), 'tributary-rotate-'));
  await withConsents(OLD, async (consents) => {
    for (const subject of ['cust_r1', 'cust_r2', 'cust_r3']) await grant(consents, subject);
  });
});
afterAll(() => rm(dataDir, { recursive: true, force: true }));

describe('tributary secrets rotate', () => {
  it('reseals every credential under the new key with progress and a summary, and the old key can go', async () => {
    const run = await rotate(`${NEW},${OLD}`);
    expect(run.stdout).toContain(
      'resealed 3 credential(s) under key k2026; 0 unreadable; 0 still under older keys',
    );
    expect(run.stderr).toMatch(/resealing .*3\/3 credentials/);
    expect(run.code).toBe(0);
    // Only the new key in the ring now: every credential still opens.
    await withConsents(NEW, async (consents) => {
      for (const subject of ['cust_r1', 'cust_r2', 'cust_r3'])
        expect((await consents.credentials.get(subject, 'plaid'))?.accessToken).toBe(`access-${subject}`);
    });
    const again = await rotate(`${NEW},${OLD}`);
    expect(again.stdout).toContain('resealed 0 credential(s)');
    expect(again.code).toBe(0);
  }, 60_000);

  it('lists credentials it cannot open and exits 1', async () => {
    await withConsents(OLD, (consents) => grant(consents, 'cust_r4'));
    const run = await rotate(NEW);
    expect(run.stdout).toContain('0 credential(s) under key k2026; 1 unreadable; 1 still under older keys');
    expect(run.stdout).toMatch(/unreadable: consent [0-9a-f-]{36}/);
    expect(run.code).toBe(1);
  }, 60_000);
});
