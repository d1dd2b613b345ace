/**
 * The embedded database has one owner (store/owner-lock.ts, cli/server-owner.ts). With `tributary start`
 * holding a data directory, the operator commands run through the server's ops API instead of opening
 * PGlite beside it, and no write of the server is lost: payments made before and after them are still
 * there after a clean stop and a fresh start. A second start on the directory is refused; a lock left by
 * a dead process is taken over. Real processes throughout.
 */
import { spawn } from 'node:child_process';
import { existsSync } from 'node:fs';
import { mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { OWNER_LOCK_FILE } from '../../store/owner-lock.js';
import {
  cliEnv,
  runCli,
  startTributary,
  stopAll,
  stopProcess,
  type CliResult,
  type Started,
} from '../helpers/cli.js';

interface Payment {
  id: string;
  status: string;
  reference: string;
}

async function graphql<T>(started: Started, query: string): Promise<T> {
  const response = await fetch(`${started.url}/graphql`, {
    method: 'POST',
    headers: { 'content-type': 'application/json', authorization: `Bearer ${started.token}` },
    body: JSON.stringify({ query }),
  });
  const body = (await response.json()) as { data?: T; errors?: unknown[] };
  expect(body.errors, `${JSON.stringify(body.errors)}\n${started.output()}`).toBeUndefined();
  return body.data!;
}

async function pay(started: Started, reference: string): Promise<Payment> {
  const data = await graphql<{ initiatePayment: { payment: Payment | null; userErrors: unknown[] } }>(
    started,
    `mutation {
      initiatePayment(
        input: { paymentMethodId: "pm_card_visa", amount: { amount: "3.25", currency: "GBP" }, reference: "${reference}" }
        idempotencyKey: "${reference}-key-0001"
      ) { payment { id status reference } userErrors { code message } }
    }`,
  );
  expect(data.initiatePayment.userErrors).toEqual([]);
  expect(data.initiatePayment.payment).toMatchObject({ status: 'SETTLED', reference });
  return data.initiatePayment.payment!;
}

async function payments(started: Started): Promise<Payment[]> {
  const data = await graphql<{ payments: { edges: { node: Payment }[] } }>(
    started,
    '{ payments(first: 100) { edges { node { id status reference } } } }',
  );
  return data.payments.edges.map((edge) => edge.node);
}

/** A pid no process has: a child that already exited. */
async function deadPid(): Promise<number> {
  const child = spawn(process.execPath, ['-e', '']);
  await new Promise((resolve) => child.once('exit', resolve));
  return child.pid!;
}

const ok = (result: CliResult) => `exit ${result.code}\nstdout:\n${result.stdout}\nstderr:\n${result.stderr}`;

describe('the embedded database has one owner', { timeout: 300_000 }, () => {
  let dataDir: string;
  let server: Started | undefined;
  const env = () => cliEnv(dataDir);
  const lockFile = () => join(dataDir, OWNER_LOCK_FILE);

  beforeAll(async () => {
    dataDir = await mkdtemp(join(tmpdir(), 'tributary-owner-'));
    server = await startTributary(dataDir);
  }, 200_000);

  afterAll(async () => {
    await stopAll();
    if (dataDir) await rm(dataDir, { recursive: true, force: true });
  }, 30_000);

  it('the running server holds the lock with its pid and address', async () => {
    const lock = JSON.parse(await readFile(lockFile(), 'utf8')) as Record<string, unknown>;
    expect(lock).toMatchObject({ pid: server!.child.pid, url: server!.url });
    expect(typeof lock.startedAt).toBe('string');
  });

  it('runs audit, webhooks and reconcile through the server, and loses no write', async () => {
    const first = await pay(server!, 'owner-before');

    const audit = await runCli(['audit', 'verify'], env());
    expect(audit.code, ok(audit)).toBe(0);
    expect(audit.stdout).toMatch(/^audit log intact: \d+ entries verified\n$/);
    expect(audit.stderr).toContain(`through the running server at ${server!.url}`);
    const entriesBefore = Number(/intact: (\d+)/.exec(audit.stdout)![1]);

    const listed = await runCli(['webhooks', 'list', '--json'], env());
    expect(listed.code, ok(listed)).toBe(0);
    const events = JSON.parse(listed.stdout) as { id: string; status: string }[];
    expect(Array.isArray(events)).toBe(true);
    const text = await runCli(['webhooks', 'list', '--limit', '5'], env());
    expect(text.code, ok(text)).toBe(0);
    expect(text.stdout).toMatch(/\d+ event\(s\)/);
    const settled = events.find((event) => event.status === 'processed');
    if (settled) {
      const replayed = await runCli(['webhooks', 'replay', settled.id], env());
      expect(replayed.code, ok(replayed)).toBe(0);
      expect(replayed.stdout).toContain(`replayed ${settled.id}`);
    }

    const reconciled = await runCli(['reconcile'], env());
    expect(reconciled.code, ok(reconciled)).toBe(0);
    expect(reconciled.stdout).toMatch(/\d+ payments compared, \d+ matched, 0 discrepancies\n$/);
    const json = await runCli(['reconcile', '--json'], env());
    expect(json.code, ok(json)).toBe(0);
    expect(JSON.parse(json.stdout)).toMatchObject({ discrepancies: [] });

    // No API reseals credentials: refused, naming the server, without touching the database.
    const rotate = await runCli(['secrets', 'rotate'], env());
    expect(rotate.code, ok(rotate)).toBe(2);
    expect(rotate.stderr).toContain(`the server at ${server!.url} (pid ${server!.child.pid}) holds`);
    expect(rotate.stderr).toContain('stop it first');

    const second = await pay(server!, 'owner-after');
    await stopProcess(server!.child);
    expect(existsSync(lockFile())).toBe(false);

    server = await startTributary(dataDir);
    const ids = new Map((await payments(server)).map((payment) => [payment.id, payment]));
    expect(ids.get(first.id)).toMatchObject({ status: 'SETTLED', reference: 'owner-before' });
    expect(ids.get(second.id)).toMatchObject({ status: 'SETTLED', reference: 'owner-after' });
    // The reconcile runs and the payments were audited in the server's chain, which still verifies.
    const again = await runCli(['audit', 'verify'], env());
    expect(again.code, ok(again)).toBe(0);
    expect(Number(/intact: (\d+)/.exec(again.stdout)![1])).toBeGreaterThan(entriesBefore);
  });

  it('refuses a second tributary start on the same directory, naming the pid and address', async () => {
    const second = await runCli(['start', '--no-seed'], env());
    expect(second.code, ok(second)).toBe(1);
    expect(second.stderr).toContain(`pid ${server!.child.pid}`);
    expect(second.stderr).toContain(server!.url);
    // The first one is unharmed and still holds the lock.
    expect((await fetch(`${server!.url}/healthz`)).status).toBe(200);
    const lock = JSON.parse(await readFile(lockFile(), 'utf8')) as { pid: number };
    expect(lock.pid).toBe(server!.child.pid);
  });

  it('takes over a stale lock left by a dead process', async () => {
    await stopProcess(server!.child);
    server = undefined;
    const pid = await deadPid();
    await writeFile(
      lockFile(),
      JSON.stringify({ pid, url: 'http://127.0.0.1:9', startedAt: '2026-01-01T00:00:00.000Z' }),
    );
    // With no live owner the CLI opens the database itself.
    const local = await runCli(['audit', 'verify'], env());
    expect(local.code, ok(local)).toBe(0);
    expect(local.stderr).not.toContain('through the running server');

    server = await startTributary(dataDir);
    const lock = JSON.parse(await readFile(lockFile(), 'utf8')) as { pid: number; url: string };
    expect(lock).toMatchObject({ pid: server.child.pid, url: server.url });
    expect((await payments(server)).map((payment) => payment.reference)).toEqual(
      expect.arrayContaining(['owner-before', 'owner-after']),
    );
  });
});
