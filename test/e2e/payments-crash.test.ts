/**
 * A replica process is killed with SIGKILL after the partner created the payment and before the
 * replica recorded it; a restarted replica, asked again with the same key, returns that payment and
 * the partner still holds exactly one. Likewise for a partner timeout whose request succeeded.
 */
import { randomBytes } from 'node:crypto';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { decodeId } from '../../domain/ids.js';
import type { SandboxHandle } from '../../sandboxes/kit/sandbox.js';
import { startStripeSandbox } from '../../sandboxes/stripe/index.js';
import { loadOrCreateDevKey } from '../../server/auth.js';
import { openDatabase, type Db } from '../../store/db.js';
import { migrate } from '../../store/migrate.js';
import { INITIATE, post, startReplica, tokenFor, type Answer } from '../services/payments/replicas.js';

const PG_URL = process.env.DATABASE_URL;
const BACKENDS = [{ kind: 'pglite' as const }, ...(PG_URL ? [{ kind: 'pg' as const }] : [])];

describe.each(BACKENDS)(
  'payments survive a SIGKILLed replica on $kind',
  ({ kind }) => {
    let dataDir: string;
    let sandbox: SandboxHandle;
    let env: Record<string, string>;
    let token: string;
    let pg: Db | null = null;
    let schema = '';

    beforeAll(async () => {
      dataDir = await mkdtemp(join(tmpdir(), 'tributary-crash-'));
      await loadOrCreateDevKey(dataDir);
      token = await tokenFor(dataDir, 'cust_alice');
      sandbox = await startStripeSandbox({ empty: true });
      env = { TRIBUTARY_DATA_DIR: dataDir, TEST_STRIPE_URL: sandbox.url, TEST_LEASE_MS: '1500' };
      if (kind === 'pg') {
        schema = `e2e_${randomBytes(6).toString('hex')}`;
        pg = await openDatabase({ url: PG_URL!, schema });
        await migrate(pg);
        Object.assign(env, { TEST_PG_URL: PG_URL!, TEST_PG_SCHEMA: schema });
      }
    });
    afterAll(async () => {
      await sandbox?.close();
      if (pg) {
        await pg.exec(`DROP SCHEMA IF EXISTS ${schema} CASCADE`);
        await pg.close();
      }
      await rm(dataDir, { recursive: true, force: true });
    });

    const payments = () =>
      sandbox.ledger().movements.filter((movement) => movement.kind === 'payment-intent');
    const input = (amount: string) => ({
      paymentMethodId: 'pm_card_visa',
      amount: { amount, currency: 'GBP' },
      reference: 'Crash test',
    });

    /** Retries while the key is in use (the dead replica's lease has to lapse first). */
    async function settle(url: string, variables: Record<string, unknown>): Promise<Answer> {
      for (let i = 0; i < 40; i += 1) {
        const answer = await post(url, token, INITIATE, variables);
        if (answer.body.errors?.[0]?.extensions?.code !== 'IDEMPOTENCY_KEY_IN_USE') return answer;
        await new Promise((resolve) => setTimeout(resolve, 250));
      }
      throw new Error('the key stayed in use');
    }

    it('SIGKILL between the partner call and the local commit: the retry returns the same payment', async () => {
      const key = `crash-e2e-${randomBytes(8).toString('hex')}`;
      const before = payments().length;
      const doomed = await startReplica({ ...env, TEST_CRASH_AT: 'partner_called:initiatePayment' });
      const lost = await post(doomed.url, token, INITIATE, { input: input('61.50'), key }).catch(
        (error: unknown) => error,
      );
      expect(lost).toBeInstanceOf(Error);
      expect((await doomed.exited).signal).toBe('SIGKILL');
      expect(payments().length - before).toBe(1);

      const restarted = await startReplica(env);
      try {
        const answer = await settle(restarted.url, { input: input('61.50'), key });
        const payment = (answer.body.data?.initiatePayment as { payment: { id: string; status: string } })
          .payment;
        expect(payment.status).toBe('SETTLED');
        const created = payments().slice(before);
        expect(created).toHaveLength(1);
        expect(decodeId(payment.id, 'Payment')?.partnerId).toBe(created[0]!.id);
        const again = await post(restarted.url, token, INITIATE, { input: input('61.50'), key });
        expect((again.body.data?.initiatePayment as { payment: { id: string } }).payment.id).toBe(payment.id);
        expect(payments().length - before).toBe(1);
      } finally {
        await restarted.stop();
      }
    });

    it('a partner timeout whose request succeeded at the partner: the retry returns that payment', async () => {
      const key = `timeout-e2e-${randomBytes(8).toString('hex')}`;
      const before = payments().length;
      const replica = await startReplica({ ...env, TEST_STRIPE_TIMEOUT_MS: '1500' });
      try {
        sandbox.setFaults([{ match: 'POST /v1/payment_intents', kind: 'latency', ms: 3_500, times: 1 }]);
        const first = await post(replica.url, token, INITIATE, { input: input('62.00'), key });
        expect(first.body.errors?.[0]?.extensions).toMatchObject({
          code: 'PARTNER_TIMEOUT',
          retryable: true,
        });
        for (let i = 0; i < 80 && payments().length === before; i += 1)
          await new Promise((r) => setTimeout(r, 100));
        expect(payments().length - before).toBe(1);

        const answer = await settle(replica.url, { input: input('62.00'), key });
        const payment = (answer.body.data?.initiatePayment as { payment: { id: string } }).payment;
        expect(decodeId(payment.id, 'Payment')?.partnerId).toBe(payments()[before]!.id);
        expect(payments().length - before).toBe(1);
      } finally {
        await replica.stop();
      }
    });
  },
  400_000,
);
