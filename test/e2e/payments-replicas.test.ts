/**
 * Two replica processes share one PostgreSQL; 50 parallel requests with one idempotency key, spread
 * over both, create exactly one payment at the partner. Every answer is that payment or
 * IDEMPOTENCY_KEY_IN_USE. PGlite is one process's embedded database, so this needs DATABASE_URL.
 */
import { randomBytes } from 'node:crypto';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { SandboxHandle } from '../../sandboxes/kit/sandbox.js';
import { startStripeSandbox } from '../../sandboxes/stripe/index.js';
import { loadOrCreateDevKey } from '../../server/auth.js';
import { openDatabase, type Db } from '../../store/db.js';
import { migrate } from '../../store/migrate.js';
import { INITIATE, post, startReplica, tokenFor, type Replica } from '../services/payments/replicas.js';

const PG_URL = process.env.DATABASE_URL;

describe.skipIf(!PG_URL)(
  'two replicas on one PostgreSQL (skipped: set DATABASE_URL to run)',
  () => {
    let dataDir: string;
    let sandbox: SandboxHandle;
    let db: Db;
    let schema: string;
    let replicas: Replica[] = [];
    let token: string;

    beforeAll(async () => {
      dataDir = await mkdtemp(join(tmpdir(), 'tributary-replicas-'));
      await loadOrCreateDevKey(dataDir);
      token = await tokenFor(dataDir, 'cust_alice');
      sandbox = await startStripeSandbox({ empty: true, writeDelayMs: 50 });
      schema = `e2e_${randomBytes(6).toString('hex')}`;
      db = await openDatabase({ url: PG_URL!, schema });
      await migrate(db);
      const env = {
        TRIBUTARY_DATA_DIR: dataDir,
        TEST_STRIPE_URL: sandbox.url,
        TEST_PG_URL: PG_URL!,
        TEST_PG_SCHEMA: schema,
      };
      // One at a time: both link the same Stripe customer at boot, and the first one creates it.
      replicas.push(await startReplica(env));
      replicas.push(await startReplica(env));
    }, 400_000);
    afterAll(async () => {
      await Promise.all(replicas.map((replica) => replica.stop()));
      replicas = [];
      await sandbox?.close();
      if (db) {
        await db.exec(`DROP SCHEMA IF EXISTS ${schema} CASCADE`);
        await db.close();
      }
      await rm(dataDir, { recursive: true, force: true });
    });

    const payments = () =>
      sandbox.ledger().movements.filter((movement) => movement.kind === 'payment-intent');
    const input = {
      paymentMethodId: 'pm_card_visa',
      amount: { amount: '99.99', currency: 'GBP' },
      reference: 'Replica race',
    };

    it('50 parallel requests with one key over two replicas: one partner payment', async () => {
      const key = `replicas-e2e-${randomBytes(8).toString('hex')}`;
      const before = payments().length;
      const answers = await Promise.all(
        Array.from({ length: 50 }, (_, i) => post(replicas[i % 2]!.url, token, INITIATE, { input, key })),
      );
      expect(payments().length - before).toBe(1);
      const ids = new Set<string>();
      let inUse = 0;
      for (const answer of answers) {
        const code = answer.body.errors?.[0]?.extensions?.code;
        if (code === 'IDEMPOTENCY_KEY_IN_USE') {
          inUse += 1;
          expect(answer.body.errors?.[0]?.extensions?.retryable).toBe(true);
          continue;
        }
        expect(answer.body.errors, JSON.stringify(answer.body.errors)).toBeUndefined();
        ids.add((answer.body.data?.initiatePayment as { payment: { id: string } }).payment.id);
      }
      expect(ids.size).toBe(1);
      expect(inUse).toBeLessThan(50);

      const later = await Promise.all(
        replicas.map((replica) => post(replica.url, token, INITIATE, { input, key })),
      );
      for (const answer of later) {
        expect((answer.body.data?.initiatePayment as { payment: { id: string } }).payment.id).toBe(
          [...ids][0],
        );
      }
      expect(payments().length - before).toBe(1);
      const [row] = await db.query<{ n: string }>('SELECT count(*) AS n FROM payments');
      expect(Number(row?.n)).toBe(1);
    });

    it('many keys at once over both replicas: one payment per key, none lost', async () => {
      const keys = Array.from({ length: 20 }, () => `replicas-many-${randomBytes(8).toString('hex')}`);
      const before = payments().length;
      const requests = keys.flatMap((key, k) =>
        [0, 1, 2].map((copy) => post(replicas[(k + copy) % 2]!.url, token, INITIATE, { input, key })),
      );
      await Promise.all(requests);
      for (const key of keys) {
        for (let i = 0; i < 20; i += 1) {
          const answer = await post(replicas[i % 2]!.url, token, INITIATE, { input, key });
          if (!answer.body.errors) break;
          await new Promise((resolve) => setTimeout(resolve, 200));
        }
      }
      expect(payments().length - before).toBe(keys.length);
      expect(new Set(payments().map((movement) => movement.idempotencyKey)).size).toBe(payments().length);
    });
  },
  400_000,
);
