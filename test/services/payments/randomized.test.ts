/**
 * A seeded, bounded storm of attempts: random retries, concurrent duplicates, lost requests, lost
 * answers (the partner did it, we never heard), sandbox faults, simulated crashes at every recovery
 * point, lapsing leases and two replicas. Afterwards every operation is retried to completion, and our
 * ledger must equal the partner's: no duplicate, no lost payment, one payload per key.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { PaymentsProvider } from '../../../domain/providers.js';
import type { FaultRule } from '../../../sandboxes/kit/sandbox.js';
import { IdempotencyError, PartnerError } from '../../../domain/errors.js';
import type { PaymentResult, PaymentService } from '../../../services/payments/index.js';
import { derivePartnerKey } from '../../../services/payments/keys.js';
import { SimulatedCrash, type CrashPoint } from '../../../services/payments/runner.js';
import type { Db } from '../../../store/db.js';
import { testBackends } from '../../helpers/db.js';
import { mulberry32 } from '../../helpers/random.js';
import {
  cardPayment,
  comparable,
  PARTNER_KEY_SECRET,
  startPaymentsHarness,
  type PaymentsHarness,
} from './harness.js';

const SEED = Number(process.env.PAYMENTS_FUZZ_SEED ?? 20250301);
const OPERATIONS = 250;
const ATTEMPTS = 2_000;
const CONCURRENCY = 8;
const LEASE_MS = 30_000;

interface Operation {
  subject: 'cust_alice' | 'cust_bob';
  key: string;
  amount: string;
  method: string;
  payloads: unknown[];
}

describe.each(testBackends())('randomized money movement on $kind', (backend) => {
  let h: PaymentsHarness;
  let peer: Db | null = null;
  beforeAll(async () => {
    h = await startPaymentsHarness(backend, {}, { timeoutMs: 10_000 });
    peer = backend.openPeer ? await backend.openPeer(h.db) : null;
  });
  afterAll(async () => {
    await peer?.close();
    await h.close();
  });

  it(`${ATTEMPTS} attempts over ${OPERATIONS} payments end with our ledger equal to the partner's (seed ${SEED})`, async () => {
    const started = performance.now();
    const random = mulberry32(SEED);
    const pick = <T>(items: readonly T[]): T => items[Math.floor(random() * items.length)]!;
    let clock = Date.now();
    let chaos = true;
    const stats = new Map<string, number>();
    const count = (what: string): void => {
      stats.set(what, (stats.get(what) ?? 0) + 1);
    };

    const faulty = (payments: PaymentsProvider): PaymentsProvider => ({
      ...payments,
      name: payments.name,
      createPayment: async (ctx, request) => {
        const roll = chaos ? random() : 1;
        if (roll < 0.08) {
          count('fault: request lost');
          throw new PartnerError({ partner: 'stripe', code: 'PARTNER_UNAVAILABLE', retryable: true });
        }
        const payment = await payments.createPayment(ctx, request);
        if (roll < 0.16) {
          count('fault: answer lost');
          throw new PartnerError({ partner: 'stripe', code: 'PARTNER_TIMEOUT', retryable: true });
        }
        return payment;
      },
    });
    const checkpoint = (point: CrashPoint) => {
      if (chaos && random() < 0.04) {
        count(`crash at ${point}`);
        throw new SimulatedCrash(point);
      }
    };
    const options = { now: () => new Date(clock), leaseMs: LEASE_MS, checkpoint };
    const replicas: PaymentService[] = [h.service(options, faulty), h.service(options, faulty, peer ?? h.db)];

    const operations: Operation[] = Array.from({ length: OPERATIONS }, (_, i) => ({
      subject: random() < 0.5 ? 'cust_alice' : 'cust_bob',
      key: `fuzz-${SEED}-${i}-${Math.floor(random() * 1e9)}`,
      amount: `${1 + Math.floor(random() * 500)}.${String(Math.floor(random() * 100)).padStart(2, '0')}`,
      method:
        random() < 0.1
          ? pick(['pm_card_chargeDeclined', 'pm_card_chargeDeclinedInsufficientFunds'])
          : 'pm_card_visa',
      payloads: [],
    }));

    const attempt = async (op: Operation, mutate: boolean, replica: PaymentService): Promise<void> => {
      const amount = mutate ? `${Number(op.amount.split('.')[0]) + 1}.${op.amount.split('.')[1]}` : op.amount;
      let result: PaymentResult;
      try {
        result = await replica.initiate(
          { subject: op.subject, correlationId: 'fuzz', logger: h.call().logger },
          cardPayment(amount, op.method),
          op.key,
        );
      } catch (error) {
        if (mutate && error instanceof IdempotencyError && error.code === 'IDEMPOTENCY_KEY_REUSED')
          return count('reused');
        if (error instanceof IdempotencyError && error.code === 'IDEMPOTENCY_KEY_IN_USE')
          return count('in use');
        if (error instanceof SimulatedCrash) return;
        // Unknown outcomes, including answers broken by the sandbox (contract violations).
        if (error instanceof PartnerError) return count(`partner ${error.code}`);
        throw error;
      }
      expect(mutate, 'a changed request must never succeed').toBe(false);
      count(result.replayed ? 'replayed' : 'executed');
      op.payloads.push(comparable(result.payload.payment));
    };

    let done = 0;
    let frontier = 0;
    while (done < ATTEMPTS) {
      if (random() < 0.05) {
        const kind = pick<FaultRule['kind']>(['reset', 'truncate', 'contract', 'malformed', 'status']);
        h.sandbox.setFaults([{ match: 'POST /v1/payment_intents', kind, times: 1 }]);
        count(`sandbox ${kind}`);
      }
      const batch: Promise<void>[] = [];
      for (let i = 0; i < CONCURRENCY && done < ATTEMPTS; i += 1, done += 1) {
        // New operations arrive at a pace that spreads the attempts over all of them.
        frontier = Math.min(OPERATIONS, frontier + (random() < (1.1 * OPERATIONS) / ATTEMPTS ? 1 : 0));
        const recent = Math.max(0, frontier - 12);
        const op = operations[recent + Math.floor(random() * Math.max(1, frontier - recent))]!;
        const mutate = op.payloads.length > 0 && random() < 0.03;
        batch.push(attempt(op, mutate, pick(replicas)));
        if (random() < 0.15) batch.push(attempt(op, false, pick(replicas)));
      }
      await Promise.all(batch);
      clock += Math.floor(random() * 15_000);
    }

    // The storm is over: every client retries until it has its answer.
    chaos = false;
    h.sandbox.setFaults([]);
    for (let round = 0; round < 10 && operations.some((op) => op.payloads.length === 0); round += 1) {
      clock += LEASE_MS + 1;
      for (const op of operations) if (op.payloads.length === 0) await attempt(op, false, pick(replicas));
    }

    const elapsed = performance.now() - started;
    console.info(
      `randomized payments (${backend.kind}, seed ${SEED}): ${Math.round(elapsed)} ms`,
      Object.fromEntries(stats),
    );

    for (const op of operations) {
      expect(op.payloads.length, `operation ${op.key} never completed`).toBeGreaterThan(0);
      for (const payload of op.payloads) expect(payload).toEqual(op.payloads[0]);
    }
    const partner = h.partnerPayments().filter((movement) => movement.idempotencyKey?.startsWith('trb1-'));
    const byKey = new Map(partner.map((movement) => [movement.idempotencyKey, movement]));
    expect(byKey.size, 'a partner key created two payments').toBe(partner.length);
    const ours = await h.ledger();
    expect(new Set(ours.map((entry) => `${entry.partnerId}:${entry.amountMinor}:${entry.currency}`))).toEqual(
      new Set(partner.map((movement) => `${movement.id}:${movement.amount}:${movement.currency}`)),
    );
    expect(ours).toHaveLength(OPERATIONS);
    for (const op of operations) {
      const movement = byKey.get(derivePartnerKey(PARTNER_KEY_SECRET, op.subject, 'initiatePayment', op.key));
      expect((op.payloads[0] as { partnerId: string }).partnerId).toBe(movement?.id);
    }
    expect((await h.audit.verify()).ok).toBe(true);
  }, 400_000);
});
