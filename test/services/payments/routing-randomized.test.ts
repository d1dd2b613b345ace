/**
 * A seeded storm of routed card payments against the real Stripe and Adyen sandboxes: processors taken
 * off the network and brought back (connection refused), 503s before acceptance, connections reset and
 * answers cut short after the request left, 500s, the process "killed" at every recovery point (a
 * SimulatedCrash leaves the key leased, as SIGKILL would), and two services retrying the same keys.
 * Afterwards every client retries to completion, and the two processors' ledgers together must hold
 * exactly one payment per idempotency key, the one our ledger records, with its route.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { IdempotencyError, PartnerError } from '../../../domain/errors.js';
import type { Payment } from '../../../domain/model.js';
import type { FaultRule, MoneyMovement, SandboxHandle } from '../../../sandboxes/kit/sandbox.js';
import { PaymentService, type PaymentResult } from '../../../services/payments/index.js';
import { derivePartnerKey } from '../../../services/payments/keys.js';
import { CardRouter } from '../../../services/payments/routing.js';
import { SimulatedCrash, type CrashPoint } from '../../../services/payments/runner.js';
import { startTestApp, type TestApp } from '../../helpers/app.js';
import { mulberry32 } from '../../helpers/random.js';

const SEED = Number(process.env.ROUTING_FUZZ_SEED ?? 20261206);
const OPERATIONS = 60;
const ATTEMPTS = 360;
const CONCURRENCY = 4;
const LEASE_MS = 30_000;
const SECRET = 'routing-fuzz-secret';
const SUBJECT = 'cust_alice';
const CREATE_ROUTE = { stripe: 'POST /v1/payment_intents', adyen: 'POST /v71/payments' } as const;

interface Operation {
  key: string;
  amount: string;
  method: string;
  paymentIds: string[];
}

describe('routed card payments under processor and process failures', { timeout: 400_000 }, () => {
  let app: TestApp;
  beforeAll(async () => {
    app = await startTestApp({
      customers: [SUBJECT],
      // Breakers open and heal within the storm, so failover meets open breakers too.
      env: {
        PARTNER_BREAKER_MIN_REQUESTS: '4',
        PARTNER_BREAKER_HALF_OPEN_MS: '300',
        PARTNER_RETRY_ATTEMPTS: '1',
      },
    });
  }, 240_000);
  afterAll(async () => app?.close());

  it(`${ATTEMPTS} attempts over ${OPERATIONS} payments: one payment per key across both processors (seed ${SEED})`, async () => {
    const random = mulberry32(SEED);
    const pick = <T>(items: readonly T[]): T => items[Math.floor(random() * items.length)]!;
    const stats = new Map<string, number>();
    const count = (what: string) => void stats.set(what, (stats.get(what) ?? 0) + 1);
    const sandboxes: Record<'stripe' | 'adyen', SandboxHandle> = {
      stripe: app.sandboxes.stripe!.handle,
      adyen: app.sandboxes.adyen!.handle,
    };
    const down = new Set<'stripe' | 'adyen'>();
    let clock = Date.now();
    let chaos = true;

    const { db, audit, registry, logger } = app.server.services;
    const service = () =>
      new PaymentService(
        { db, audit, providers: (name) => registry.payments(name), logger },
        {
          partnerKeySecret: SECRET,
          // Half the payments start at each processor, so failover runs both ways.
          cardRouter: new CardRouter(
            [
              {
                name: 'split',
                currencies: null,
                minAmount: null,
                maxAmount: null,
                schemes: null,
                countries: null,
                processors: ['stripe', 'adyen'],
                weights: { stripe: 1, adyen: 1 },
              },
            ],
            ['stripe', 'adyen'],
          ),
          leaseMs: LEASE_MS,
          partnerCallTimeoutMs: 5_000,
          now: () => new Date(clock),
          checkpoint: (point: CrashPoint) => {
            if (chaos && random() < 0.04) {
              count(`crash at ${point}`);
              throw new SimulatedCrash(point);
            }
          },
        },
      );
    const replicas = [service(), service()];

    const operations: Operation[] = Array.from({ length: OPERATIONS }, (_, i) => ({
      key: `route-fuzz-${SEED}-${i}`,
      amount: `${1 + Math.floor(random() * 300)}.${String(Math.floor(random() * 100)).padStart(2, '0')}`,
      method: random() < 0.1 ? 'pm_card_chargeDeclined' : 'pm_card_visa',
      paymentIds: [],
    }));

    const attempt = async (op: Operation): Promise<void> => {
      let result: PaymentResult;
      try {
        result = await pick(replicas).initiate(
          { subject: SUBJECT, correlationId: 'route-fuzz', logger },
          { paymentMethodId: op.method, amount: { amount: op.amount, currency: 'GBP' }, reference: 'Fuzz' },
          op.key,
        );
      } catch (error) {
        if (error instanceof SimulatedCrash) return;
        if (error instanceof IdempotencyError) return count(error.code);
        if (error instanceof PartnerError) return count(`partner ${error.code}`);
        throw error;
      }
      count(result.replayed ? 'replayed' : 'executed');
      if (result.payload.payment) op.paymentIds.push(result.payload.payment.id);
    };

    const chaosStep = async () => {
      const processor = pick(['stripe', 'adyen'] as const);
      const roll = random();
      if (roll < 0.1 && !down.has(processor)) {
        down.add(processor);
        count(`${processor} down`);
        await sandboxes[processor].down();
      } else if (roll < 0.2 && down.has(processor)) {
        down.delete(processor);
        await sandboxes[processor].up();
      } else if (roll < 0.35) {
        const kind = pick<FaultRule['kind']>(['status', 'status', 'reset', 'truncate']);
        const status = kind === 'status' ? pick([500, 503, 503]) : undefined;
        sandboxes[processor].setFaults([
          // Twice: the policy's one retry under the same key meets it again.
          { match: CREATE_ROUTE[processor], kind, times: 2, ...(status ? { status } : {}) },
        ]);
        count(`${processor} ${kind}${status ? ` ${status}` : ''}`);
      }
    };

    let done = 0;
    let frontier = 0;
    while (done < ATTEMPTS) {
      await chaosStep();
      const batch: Promise<void>[] = [];
      for (let i = 0; i < CONCURRENCY && done < ATTEMPTS; i += 1, done += 1) {
        frontier = Math.min(OPERATIONS, frontier + (random() < (1.2 * OPERATIONS) / ATTEMPTS ? 1 : 0));
        const recent = Math.max(0, frontier - 8);
        batch.push(attempt(operations[recent + Math.floor(random() * Math.max(1, frontier - recent))]!));
      }
      await Promise.all(batch);
      clock += Math.floor(random() * 20_000);
    }

    // The storm is over: processors come back, and every client retries until it has its answer.
    chaos = false;
    for (const processor of down) await sandboxes[processor].up();
    for (const handle of Object.values(sandboxes)) handle.setFaults([]);
    for (let round = 0; round < 20 && operations.some((op) => op.paymentIds.length === 0); round += 1) {
      clock += LEASE_MS + 1;
      for (const op of operations) if (op.paymentIds.length === 0) await attempt(op);
    }

    // What each processor really created, by the client key its partner keys derive from.
    const created = new Map<string, { processor: string; movement: MoneyMovement }[]>();
    const collect = (processor: 'stripe' | 'adyen', kind: string) => {
      for (const movement of sandboxes[processor].ledger().movements) {
        if (movement.kind !== kind) continue;
        const op = operations.find((candidate) =>
          movement.idempotencyKey?.startsWith(
            derivePartnerKey(SECRET, SUBJECT, 'initiatePayment', candidate.key),
          ),
        );
        if (!op) continue;
        created.set(op.key, [...(created.get(op.key) ?? []), { processor, movement }]);
      }
    };
    collect('stripe', 'payment-intent');
    collect('adyen', 'payment');

    const ledger = await db.query<{ id: string; provider: string; route: Payment['route'] }>(
      `SELECT id, provider, route FROM payments WHERE subject = $1 AND route IS NOT NULL`,
      [SUBJECT],
    );
    const failovers = ledger.reduce(
      (sum, row) =>
        sum +
        (row.route as unknown as { attempts: { outcome: string }[] }).attempts.filter(
          (a) => a.outcome === 'FAILED_OVER',
        ).length,
      0,
    );
    const duplicates = [...created.values()].filter((entries) => entries.length > 1).length;
    console.info(
      `routed payments (seed ${SEED}): attempts ${ATTEMPTS}, failovers ${failovers}, duplicates ${duplicates}`,
      Object.fromEntries(stats),
    );

    const twice = [...created.entries()]
      .filter(([, entries]) => entries.length > 1)
      .map(([key, entries]) => ({
        key,
        made: entries.map(
          ({ processor, movement }) => `${processor} ${movement.id} ${movement.idempotencyKey}`,
        ),
      }));
    expect(twice, 'a key created payments at two processors (or twice at one)').toEqual([]);
    for (const op of operations) {
      expect(op.paymentIds.length, `operation ${op.key} never completed`).toBeGreaterThan(0);
      expect(new Set(op.paymentIds).size, `operation ${op.key} answered two payments`).toBe(1);
      const [made] = created.get(op.key) ?? [];
      expect(made, `no processor holds ${op.key}`).toBeDefined();
      const ours = ledger.find((row) => row.id === op.paymentIds[0]);
      expect(ours?.provider).toBe(made!.processor);
    }
    expect(failovers, 'the storm never failed over: it proves nothing').toBeGreaterThan(0);
    expect((await audit.verify()).ok).toBe(true);
  });
});
