/**
 * docs/replicas.md as a test: two `tributary start` replicas on one PostgreSQL database, the second
 * attached to the first one's sandboxes (`--attach-sandboxes`), behave the same: one token works on
 * both, both see the same accounts and payments, and a bank payment or a card payment made on either
 * reaches the same state. Needs PostgreSQL (DATABASE_URL); skipped without it.
 */
import { randomBytes, randomUUID } from 'node:crypto';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import pg from 'pg';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startTributary, stopAll, type Started } from '../helpers/cli.js';

const baseUrl = process.env.DATABASE_URL;

const INITIATE = `mutation($input: InitiatePaymentInput!, $key: String!) {
  initiatePayment(input: $input, idempotencyKey: $key) { payment { id status provider } userErrors { code } }
}`;

interface Answer {
  data?: Record<string, unknown> | null;
  errors?: { message: string }[];
}

async function ask(replica: Started, token: string, query: string, variables = {}): Promise<Answer> {
  const response = await fetch(`${replica.url}/graphql`, {
    method: 'POST',
    headers: { 'content-type': 'application/json', authorization: `Bearer ${token}` },
    body: JSON.stringify({ query, variables }),
  });
  return (await response.json()) as Answer;
}

describe.skipIf(!baseUrl)(
  'two replicas on one PostgreSQL with shared sandboxes',
  { timeout: 120_000 },
  () => {
    const database = `tributary_replicas_${randomBytes(6).toString('hex')}`;
    let dataDir: string;
    let first: Started;
    let second: Started;

    beforeAll(async () => {
      const admin = new pg.Client({ connectionString: baseUrl });
      await admin.connect();
      await admin.query(`CREATE DATABASE ${database}`);
      await admin.end();
      const url = new URL(baseUrl!);
      url.pathname = `/${database}`;
      dataDir = await mkdtemp(join(tmpdir(), 'tributary-replicas-'));
      const env = { DATABASE_URL: url.toString() };
      first = await startTributary(dataDir, env);
      second = await startTributary(dataDir, env, ['--attach-sandboxes', join(dataDir, 'sandboxes.json')]);
    }, 300_000);

    afterAll(async () => {
      await stopAll();
      if (dataDir) await rm(dataDir, { recursive: true, force: true });
      const admin = new pg.Client({ connectionString: baseUrl });
      await admin.connect();
      await admin.query(`DROP DATABASE IF EXISTS ${database} WITH (FORCE)`);
      await admin.end();
    }, 60_000);

    it("uses the first replica's sandboxes, and one token works on both", async () => {
      expect(second.sandboxes).toEqual(first.sandboxes);
      const query =
        '{ accounts(first: 100) { edges { node { id provider } } } payments(first: 100) { edges { node { id } } } }';
      const [a, b] = [await ask(first, first.token, query), await ask(second, first.token, query)];
      expect(a.errors).toBeUndefined();
      expect(b).toEqual(a);
      expect((a.data?.payments as { edges: unknown[] }).edges.length).toBeGreaterThan(0);
    });

    it('takes a bank payment and a card payment the same way on either replica', async () => {
      const accounts = await ask(
        first,
        first.token,
        '{ accounts(provider: OPENBANKING, first: 1) { edges { node { id } } } }',
      );
      const debtorAccountId = (accounts.data?.accounts as { edges: { node: { id: string } }[] }).edges[0]!
        .node.id;
      const bank = {
        debtorAccountId,
        amount: { amount: '3.00', currency: 'GBP' },
        creditor: { name: 'Replica Test', sortCode: '040004', accountNumber: '12345678' },
        reference: 'replicas',
      };
      const card = {
        paymentMethodId: 'pm_card_visa',
        amount: { amount: '4.00', currency: 'GBP' },
        reference: 'replicas',
      };
      const outcomes = [];
      for (const replica of [first, second]) {
        for (const input of [bank, card]) {
          const answer = await ask(replica, first.token, INITIATE, {
            input,
            key: `replicas-${randomUUID()}`,
          });
          expect(answer.errors).toBeUndefined();
          const payload = answer.data?.initiatePayment as {
            payment: { status: string; provider: string };
            userErrors: unknown[];
          };
          outcomes.push({
            provider: payload.payment.provider,
            status: payload.payment.status,
            userErrors: payload.userErrors,
          });
        }
      }
      expect(outcomes.slice(2)).toEqual(outcomes.slice(0, 2));
      expect(outcomes.slice(0, 2).map((outcome) => outcome.provider)).toEqual(['OPENBANKING', 'STRIPE']);
    });
  },
);
