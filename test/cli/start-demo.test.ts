/**
 * The README promise, end to end: `tributary start` (what `npm start` runs after building) starts the
 * sandboxes, seeds the demo customers and prints a token, and with that token the graph serves
 * cust_alice accounts from both Open Banking and Plaid and payments from both Stripe and Open Banking.
 * The real command runs as a child process on a free port and a fresh data directory; a second start
 * on the same data directory must not pay the demo payments again.
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { fromRoot } from '../../store/paths.js';

interface Started {
  child: ChildProcess;
  url: string;
  token: string;
  output: () => string;
}

const running = new Set<ChildProcess>();

/** Runs `tributary start` from source and resolves once it printed its URL and token. */
function start(dataDir: string): Promise<Started> {
  const child = spawn(process.execPath, ['--import', 'tsx', fromRoot('cli', 'main.ts'), 'start'], {
    cwd: fromRoot(),
    env: {
      PATH: process.env.PATH ?? '',
      HOME: process.env.HOME ?? tmpdir(),
      NODE_ENV: 'development',
      HOST: '127.0.0.1',
      PORT: '0',
      LOG_LEVEL: 'warn',
      TRIBUTARY_DATA_DIR: dataDir,
    },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  running.add(child);
  let stdout = '';
  let stderr = '';
  const output = () => `stdout:\n${stdout}\nstderr:\n${stderr}`;
  return new Promise((resolve, reject) => {
    const timer = setTimeout(() => reject(new Error(`no token within 150 s\n${output()}`)), 150_000);
    child.stderr!.on('data', (chunk: Buffer) => (stderr += chunk.toString()));
    child.stdout!.on('data', (chunk: Buffer) => {
      stdout += chunk.toString();
      const url = /Tributary is serving on (http:\/\/\S+)\/graphql/.exec(stdout)?.[1];
      const token = /export TOKEN=(\S+)/.exec(stdout)?.[1];
      if (url && token) {
        clearTimeout(timer);
        resolve({ child, url, token, output });
      }
    });
    child.on('exit', (code, signal) => {
      clearTimeout(timer);
      reject(new Error(`tributary start exited (${code ?? signal}) before printing a token\n${output()}`));
    });
  });
}

/** Stops a started process: SIGTERM (graceful close), SIGKILL if it lingers. */
async function stop(child: ChildProcess): Promise<void> {
  if (child.exitCode === null && child.signalCode === null) {
    const exited = new Promise<void>((resolve) => child.once('exit', () => resolve()));
    child.kill('SIGTERM');
    const timer = setTimeout(() => child.kill('SIGKILL'), 10_000);
    await exited;
    clearTimeout(timer);
  }
  running.delete(child);
}

interface Demo {
  accounts: { edges: { node: { id: string; provider: string } }[] };
  payments: {
    edges: { node: { id: string; provider: string; reference: string; amount: { amount: string } } }[];
  };
}

const DEMO = `{
  accounts(first: 100) { edges { node { id provider } } }
  payments(first: 100) { edges { node { id provider reference amount { amount } } } }
}`;

async function demo(started: Started): Promise<Demo> {
  const response = await fetch(`${started.url}/graphql`, {
    method: 'POST',
    headers: { 'content-type': 'application/json', authorization: `Bearer ${started.token}` },
    body: JSON.stringify({ query: DEMO }),
  });
  const body = (await response.json()) as { data?: Demo; errors?: unknown[] };
  expect(body.errors, `${JSON.stringify(body.errors)}\n${started.output()}`).toBeUndefined();
  return body.data!;
}

const providers = (edges: { node: { provider: string } }[]) =>
  new Set(edges.map((edge) => edge.node.provider));

describe('npm start (tributary start) for cust_alice', () => {
  let dataDir: string;
  let first: Demo;

  beforeAll(async () => {
    dataDir = await mkdtemp(join(tmpdir(), 'tributary-start-'));
    const started = await start(dataDir);
    try {
      first = await demo(started);
    } finally {
      await stop(started.child);
    }
  }, 200_000);

  afterAll(async () => {
    for (const child of running) await stop(child);
    if (dataDir) await rm(dataDir, { recursive: true, force: true });
  }, 30_000);

  it('serves her accounts from both Open Banking and Plaid', () => {
    expect(providers(first.accounts.edges)).toEqual(new Set(['OPENBANKING', 'PLAID']));
  });

  it('serves her payments from both Stripe and Open Banking', () => {
    expect([...providers(first.payments.edges)].sort()).toEqual(['OPENBANKING', 'STRIPE']);
  });

  it('does not make the demo payments again when started again on the same data', async () => {
    const again = await start(dataDir);
    try {
      const second = await demo(again);
      const ids = (d: Demo) => d.payments.edges.map((edge) => edge.node.id).sort();
      expect(ids(second)).toEqual(ids(first));
      expect(providers(second.accounts.edges)).toEqual(new Set(['OPENBANKING', 'PLAID']));
    } finally {
      await stop(again.child);
    }
  }, 200_000);
});
