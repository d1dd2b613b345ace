/**
 * Two replicas on one PostgreSQL, one bank: a customer's access token has expired at the bank, and
 * both replicas read the customer's accounts at the same moment. The bank rotates refresh tokens (a
 * spent one is refused with invalid_grant), so only one of them may refresh: the other waits for the
 * link's refresh lock and uses the tokens the first one saved. Both answer, the bank saw exactly one
 * refresh, and the customer is never asked to consent again. PGlite is one process's embedded
 * database, so this needs DATABASE_URL.
 */
import { createHash } from 'node:crypto';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startDevServer } from '../../cli/dev/server.js';
import { TOKEN_GRANTS_PATH, type TokenGrantRecord } from '../../sandboxes/openbanking/index.js';
import { sharedSandboxTls } from '../../sandboxes/certs.js';
import { loadConfig } from '../../server/config.js';
import { createLogger } from '../../server/logger.js';
import type { RunningServer } from '../../server/main.js';
import { startTestApp, type GraphQLAnswer, type TestApp } from '../helpers/app.js';
import { testBackends } from '../helpers/db.js';

const PG_URL = process.env.DATABASE_URL;
const ACCOUNTS = '{ accounts(provider: OPENBANKING) { edges { node { id type } } } }';
const sha256 = (text: string) => createHash('sha256').update(text).digest('hex');

describe.skipIf(!PG_URL)(
  'Open Banking token refresh over two replicas on one PostgreSQL (skipped: set DATABASE_URL to run)',
  { timeout: 120_000 },
  () => {
    /** How far the bank's clock runs ahead of ours: moved to expire the customer's access token. */
    let bankAhead = 0;
    let first: TestApp;
    let second: RunningServer;
    let secondDir: string;

    beforeAll(async () => {
      const backend = testBackends().find((candidate) => candidate.kind === 'pg')!;
      const db = await backend.open();
      const env = { DATABASE_URL: PG_URL! };
      first = await startTestApp({
        db,
        env,
        customers: ['cust_alice'],
        sandboxes: { openbanking: { now: () => Date.now() + bankAhead } },
      });
      // The second replica: its own server, connection pool and caches, on the same schema and the
      // same partner sandboxes, accepting the same customers' tokens.
      secondDir = await mkdtemp(join(tmpdir(), 'tributary-replica-'));
      const config = loadConfig({
        NODE_ENV: 'test',
        PORT: '0',
        LOG_LEVEL: 'silent',
        TRIBUTARY_DATA_DIR: secondDir,
        ...env,
      });
      second = await startDevServer(config, createLogger({ level: 'silent' }), first.sandboxes, {
        db: await backend.openPeer!(db),
        devKey: first.devKey,
      });
    }, 240_000);
    afterAll(async () => {
      // The second first: closing the first one's database drops the test schema.
      await second?.close();
      await first?.close();
      if (secondDir) await rm(secondDir, { recursive: true, force: true });
    });

    const bankUrl = () => first.sandboxes.openbanking!.handle.url;

    /** The bank's record of its token endpoint's answers (a mutual-TLS control route). */
    async function tokenGrants(): Promise<TokenGrantRecord[]> {
      const { Agent, request } = await import('undici');
      const tls = await sharedSandboxTls();
      const agent = new Agent({ connect: { ca: tls.ca, ...tls.client } });
      try {
        const res = await request(`${bankUrl()}${TOKEN_GRANTS_PATH}`, { dispatcher: agent });
        expect(res.statusCode).toBe(200);
        return ((await res.body.json()) as { grants: TokenGrantRecord[] }).grants;
      } finally {
        await agent.close();
      }
    }

    /** Alice's accounts through one replica, live from the bank (no cached partner data). */
    async function accountsThrough(url: string): Promise<GraphQLAnswer> {
      const response = await fetch(`${url}/graphql`, {
        method: 'POST',
        headers: {
          'content-type': 'application/json',
          authorization: `Bearer ${await first.token('cust_alice')}`,
          'cache-control': 'no-cache',
        },
        body: JSON.stringify({ query: ACCOUNTS }),
      });
      return {
        status: response.status,
        headers: response.headers,
        body: (await response.json()) as GraphQLAnswer['body'],
      };
    }

    const storedCredential = () =>
      first.server.services.consents.credentials.get('cust_alice', 'openbanking');

    it('refreshes an expired customer token once when both replicas need it at the same moment', async () => {
      const linked = (await storedCredential())!;
      expect(linked.refreshToken).toBeTruthy();
      const seen = (await tokenGrants()).length;

      // The access token the link was made with is now expired at the bank.
      bankAhead = 600_000;
      const answers = await Promise.all([accountsThrough(first.url), accountsThrough(second.url)]);

      for (const answer of answers) {
        expect(answer.body.errors, JSON.stringify(answer.body.errors)).toBeUndefined();
        const edges = (answer.body.data?.accounts as { edges: { node: { id: string } }[] }).edges;
        expect(edges).toHaveLength(3);
      }
      const grants = (await tokenGrants()).slice(seen).filter((grant) => grant.grantType === 'refresh_token');
      expect(grants).toEqual([
        expect.objectContaining({ outcome: 'issued', refreshTokenSha256: sha256(linked.refreshToken!) }),
      ]);

      // The rotated tokens are stored once, for both replicas: each reads on without refreshing again.
      const rotated = (await storedCredential())!;
      expect(rotated.refreshToken).not.toBe(linked.refreshToken);
      expect(rotated.accessToken).not.toBe(linked.accessToken);
      const again = await Promise.all([accountsThrough(first.url), accountsThrough(second.url)]);
      for (const answer of again) expect(answer.body.errors).toBeUndefined();
      expect(
        (await tokenGrants()).slice(seen).filter((grant) => grant.grantType === 'refresh_token'),
      ).toHaveLength(1);
    });
  },
);
