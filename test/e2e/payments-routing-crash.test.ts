/**
 * Routed card payments and a replica process killed for real: rounds in seeded order, each a replica
 * whose crash switch SIGKILLs it at a recovery point of initiatePayment (before the send, after the
 * processor answered, after the local commit), with Stripe up or off the network (connection refused,
 * so the payment fails over to Adyen); then the processor it sent to goes off the network. A clean replica then retries the same key until it has an answer, with the processors in
 * another state. Across both sandboxes' ledgers every round adds exactly one payment, the one the graph
 * returns, at the processor its route names: a payment is never created at two processors, and never
 * twice at one.
 */
import { randomBytes } from 'node:crypto';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { decodeId } from '../../domain/ids.js';
import { startAdyenSandbox, type AdyenSandboxHandle } from '../../sandboxes/adyen/index.js';
import type { SandboxHandle } from '../../sandboxes/kit/sandbox.js';
import { startStripeSandbox } from '../../sandboxes/stripe/index.js';
import { loadOrCreateDevKey } from '../../server/auth.js';
import { mulberry32 } from '../helpers/random.js';
import { post, startReplica, tokenFor, type Answer, type Replica } from '../services/payments/replicas.js';

const SEED = Number(process.env.ROUTING_KILL_SEED ?? 20261207);
const POINTS = ['partner_requested', 'partner_called', 'partner_confirmed'] as const;
const ROUNDS = POINTS.length * 2; // every crash point, with Stripe up and with Stripe down
const ROUTES = JSON.stringify([{ name: 'cards', processors: ['stripe', 'adyen'] }]);
const INITIATE = `mutation($input: InitiatePaymentInput!, $key: String!) {
  initiatePayment(input: $input, idempotencyKey: $key) {
    payment { id status provider route { rule attempts { processor outcome reason } } }
    userErrors { code message }
  } }`;

type Processor = 'stripe' | 'adyen';
interface Round {
  point: (typeof POINTS)[number];
  /** Which processors are off the network while the doomed replica runs, and while the retry starts. */
  downBefore: Processor[];
  downAfter: Processor[];
}

interface Routed {
  id: string;
  status: string;
  provider: string;
  route: { rule: string; attempts: { processor: string; outcome: string; reason: string | null }[] };
}

describe('routed card payments survive a SIGKILLed replica', { timeout: 600_000 }, () => {
  let dataDir: string;
  let stripe: SandboxHandle;
  let adyen: AdyenSandboxHandle;
  let env: Record<string, string>;
  let token: string;

  beforeAll(async () => {
    dataDir = await mkdtemp(join(tmpdir(), 'tributary-route-kill-'));
    await loadOrCreateDevKey(dataDir);
    token = await tokenFor(dataDir, 'cust_alice');
    stripe = await startStripeSandbox({ empty: true });
    adyen = await startAdyenSandbox({ host: '127.0.0.1', port: 0 });
    env = {
      TRIBUTARY_DATA_DIR: dataDir,
      TEST_STRIPE_URL: stripe.url,
      TEST_ADYEN_URL: adyen.url,
      TEST_ROUTES: ROUTES,
      TEST_LEASE_MS: '5000',
    };
  }, 120_000);
  afterAll(async () => {
    await stripe?.close();
    await adyen?.close();
    if (dataDir) await rm(dataDir, { recursive: true, force: true });
  });

  const created = () => ({
    stripe: stripe.ledger().movements.filter((movement) => movement.kind === 'payment-intent'),
    adyen: adyen.ledger().movements.filter((movement) => movement.kind === 'payment'),
  });
  const handleOf = (processor: Processor) => (processor === 'stripe' ? stripe : adyen);

  async function network(down: readonly Processor[]): Promise<void> {
    for (const processor of ['stripe', 'adyen'] as const) {
      const handle = handleOf(processor);
      if (down.includes(processor)) await handle.down().catch(() => undefined);
      else await handle.up().catch(() => undefined);
    }
  }

  /** Retries until the answer is final: the key stays in use until the dead replica's lease lapses. */
  async function settle(replica: Replica, variables: Record<string, unknown>): Promise<Answer> {
    for (let i = 0; i < 240; i += 1) {
      const answer = await post(replica.url, token, INITIATE, variables);
      const error = answer.body.errors?.[0]?.extensions;
      if (!error) return answer;
      if (error.code !== 'IDEMPOTENCY_KEY_IN_USE' && error.retryable !== true) return answer;
      // Both processors back after a while, as an on-call engineer would bring them.
      if (i === 20) await network([]);
      await new Promise((resolve) => setTimeout(resolve, 250));
    }
    throw new Error('the payment never got a final answer');
  }

  /**
   * Every crash point with Stripe up and with Stripe down (so the payment fails over to Adyen), in
   * seeded order. After the kill, the processor the doomed replica sent to goes off the network: the
   * worst case, where failing the resumed payment over would create it a second time elsewhere.
   */
  function roundsOf(seed: number): Round[] {
    const random = mulberry32(seed);
    const rounds: Round[] = POINTS.flatMap((point) => [
      { point, downBefore: [], downAfter: ['stripe'] },
      { point, downBefore: ['stripe'], downAfter: ['adyen'] },
    ]);
    for (let i = rounds.length - 1; i > 0; i -= 1) {
      const j = Math.floor(random() * (i + 1));
      [rounds[i], rounds[j]] = [rounds[j]!, rounds[i]!];
    }
    return rounds;
  }

  it(`${ROUNDS} rounds: one payment per key across both processors (seed ${SEED})`, async () => {
    const figures = { killed: 0, failedOver: 0, atStripe: 0, atAdyen: 0 };
    for (const [index, round] of roundsOf(SEED).entries()) {
      const label = `round ${index} ${JSON.stringify(round)}`;
      const key = `route-kill-${randomBytes(8).toString('hex')}`;
      const variables = {
        input: {
          paymentMethodId: 'pm_card_visa',
          amount: { amount: `${70 + index}.25`, currency: 'GBP' },
          reference: `Route kill ${index}`,
        },
        key,
      };
      const before = created();
      await network(round.downBefore);

      const doomed = await startReplica({ ...env, TEST_CRASH_AT: `${round.point}:initiatePayment` });
      const first = await post(doomed.url, token, INITIATE, variables).catch((error: unknown) => error);
      if (first instanceof Error) {
        expect((await doomed.exited).signal, label).toBe('SIGKILL');
        figures.killed += 1;
      } else {
        // The switch's point was never reached (the answer came first): kill it anyway.
        doomed.child.kill('SIGKILL');
        await doomed.exited;
      }

      await network(round.downAfter);
      const retry = await startReplica(env);
      let payment: Routed;
      try {
        const answer = await settle(retry, variables);
        expect(answer.body.errors, label).toBeUndefined();
        payment = (answer.body.data?.initiatePayment as { payment: Routed }).payment;
        expect(payment.status, label).toBe('SETTLED');
        // Once more: the same payment, nothing new at either processor.
        const again = await post(retry.url, token, INITIATE, variables);
        expect((again.body.data?.initiatePayment as { payment: Routed }).payment.id, label).toBe(payment.id);
      } finally {
        await retry.stop();
        await network([]);
      }

      const after = created();
      const newAtStripe = after.stripe.slice(before.stripe.length);
      const newAtAdyen = after.adyen.slice(before.adyen.length);
      expect(newAtStripe.length + newAtAdyen.length, label).toBe(1);
      const made = newAtStripe[0] ?? newAtAdyen[0]!;
      expect(decodeId(payment.id, 'Payment')?.partnerId, label).toBe(made.id);
      expect(payment.provider, label).toBe(newAtStripe.length === 1 ? 'STRIPE' : 'ADYEN');
      const taken = payment.route.attempts.at(-1);
      expect(taken?.processor.toLowerCase(), label).toBe(payment.provider.toLowerCase());
      if (payment.route.attempts.length > 1) figures.failedOver += 1;
      figures[newAtStripe.length === 1 ? 'atStripe' : 'atAdyen'] += 1;
    }
    console.info(`routing kill test (seed ${SEED}): ${JSON.stringify(figures)}`);
    // The rounds really killed processes and really failed over; otherwise they proved little.
    expect(figures.killed).toBeGreaterThanOrEqual(ROUNDS / 2);
    expect(figures.failedOver).toBeGreaterThan(0);
    expect(figures.atAdyen).toBeGreaterThan(0);
  });
});
