/**
 * The README promise, end to end: `tributary start` (what `npm start` runs after building) starts the
 * sandboxes, seeds the demo customers and prints a token, and with that token the graph serves
 * cust_alice accounts from both Open Banking and Plaid and payments from both Stripe and Open Banking.
 * The real command runs as a child process on a free port and a fresh data directory; a second start
 * on the same data directory must not pay the demo payments again.
 */
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import {
  cliEnv,
  runCli,
  startTributary as start,
  stopAll,
  stopProcess as stop,
  type Started,
} from '../helpers/cli.js';

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
    await stopAll();
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

      // The token command it prints, run from elsewhere, mints a token this server accepts.
      const command = /^ {2}TRIBUTARY_DATA_DIR=(\S+) npx tributary token (.*)$/m.exec(again.output());
      expect(command, again.output()).not.toBeNull();
      expect(command![1]).toBe(dataDir);
      const args = [...command![2]!.matchAll(/"([^"]*)"|(\S+)/g)].map((match) => match[1] ?? match[2]!);
      const minted = await runCli(['token', ...args], cliEnv(command![1]!, { HOME: tmpdir() }));
      expect(minted.code, minted.stderr).toBe(0);
      const bob = await fetch(`${again.url}/graphql`, {
        method: 'POST',
        headers: { 'content-type': 'application/json', authorization: `Bearer ${minted.stdout.trim()}` },
        body: JSON.stringify({ query: '{ accounts(first: 5) { edges { node { id } } } }' }),
      });
      const answer = (await bob.json()) as { data?: { accounts: { edges: unknown[] } }; errors?: unknown };
      expect(answer.errors).toBeUndefined();
      expect(answer.data?.accounts.edges.length).toBeGreaterThan(0);
    } finally {
      await stop(again.child);
    }
  }, 200_000);

  it('starts no sandbox with --no-sandboxes, and says which partners are then disabled', async () => {
    const bare = await start(dataDir, { LOG_LEVEL: 'warn' }, ['--no-sandboxes', '--no-seed']);
    try {
      expect(bare.sandboxes).toEqual({});
      expect(bare.output()).toMatch(
        /no sandboxes \(--no-sandboxes\): these unconfigured partners are disabled/,
      );
      const health = await fetch(`${bare.url}/graphql`, {
        method: 'POST',
        headers: { 'content-type': 'application/json', authorization: `Bearer ${bare.token}` },
        body: JSON.stringify({ query: '{ accounts(first: 5) { edges { node { id } } } }' }),
      });
      const body = (await health.json()) as { data?: { accounts: { edges: unknown[] } | null } };
      expect(body.data?.accounts?.edges ?? []).toEqual([]);
    } finally {
      await stop(bare.child);
    }
  }, 200_000);
});
