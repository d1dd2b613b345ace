/**
 * Two replicas on one database under PERSISTED_OPERATIONS=require: each started (and read the manifest)
 * before the publish, and each serves the new operation by id on its first request for it. On PGlite
 * the replicas are two servers in this process on one embedded database; with DATABASE_URL, also two
 * servers with their own connection pools on one PostgreSQL schema, as separate replicas would be.
 */
import { createHash } from 'node:crypto';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { publishManifest } from '../../cli/operations.js';
import { MANIFEST_FORMAT } from '../../server/operation-manifest.js';
import type { Db } from '../../store/db.js';
import { startTestApp, type TestApp } from '../helpers/app.js';
import { testBackends } from '../helpers/db.js';

const CONSENTS = 'query MyConsents { consents { provider status } }';
const id = createHash('sha256').update(CONSENTS).digest('hex');
const manifest = JSON.stringify({
  format: MANIFEST_FORMAT,
  version: 1,
  operations: [{ id, name: 'MyConsents', type: 'query', body: CONSENTS }],
});

/** The same embedded database for a second server, which must not close it under the first. */
function sharedHandle(db: Db): Db {
  return {
    kind: db.kind,
    query: (sql, params) => db.query(sql, params),
    exec: (sql) => db.exec(sql),
    transaction: (fn) => db.transaction(fn),
    close: async () => undefined,
  };
}

async function byId(app: TestApp) {
  const response = await fetch(`${app.url}/graphql`, {
    method: 'POST',
    headers: {
      'content-type': 'application/json',
      authorization: `Bearer ${await app.token('cust_alice')}`,
    },
    body: JSON.stringify({ extensions: { persistedQuery: { version: 1, sha256Hash: id } } }),
  });
  return (await response.json()) as {
    data?: { consents: { provider: string; status: string }[] };
    errors?: { extensions?: { code?: string } }[];
  };
}

describe.each(testBackends())(
  'a manifest operation served on both replicas ($kind)',
  { timeout: 60_000 },
  (backend) => {
    let first: TestApp;
    let second: TestApp;
    beforeAll(async () => {
      const db = await backend.open();
      const env = { PERSISTED_OPERATIONS: 'require' };
      first = await startTestApp({ env, db });
      // Seeded once: both replicas read cust_alice's consents from the one database.
      second = await startTestApp({
        env,
        db: backend.openPeer ? await backend.openPeer(db) : sharedHandle(db),
        seed: false,
      });
    }, 240_000);
    afterAll(async () => {
      // The second first: closing the first one's database drops a PostgreSQL test schema.
      await second?.close();
      await first?.close();
    });

    it('serves an operation published after both started, on each, with the same answer', async () => {
      for (const replica of [first, second])
        expect((await byId(replica)).errors?.[0]?.extensions?.code).toBe('PERSISTED_QUERY_NOT_FOUND');

      const outcome = await publishManifest(first.server.services.db, manifest, {
        limits: first.config.limits,
        actor: 'operator:test',
      });
      expect(outcome).toMatchObject({ ok: true, published: [{ id }] });

      const [onSecond, onFirst] = [await byId(second), await byId(first)];
      expect(onSecond.errors).toBeUndefined();
      expect(onFirst.errors).toBeUndefined();
      expect(onSecond.data?.consents.length).toBeGreaterThan(0);
      expect(onSecond.data).toEqual(onFirst.data);
    });
  },
);
