import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { Payment } from '../../../domain/model.js';
import { PartnerError } from '../../../domain/errors.js';
import { SimulatedCrash, type CrashPoint } from '../../../services/payments/runner.js';
import { testBackends } from '../../helpers/db.js';
import { cardPayment, startPaymentsHarness, type PaymentsHarness } from './harness.js';

let counter = 0;
const newKey = () => `recovery-key-${Date.now()}-${(counter += 1)}`;
const POINTS: CrashPoint[] = ['started', 'partner_requested', 'partner_called', 'partner_confirmed'];
/** A restarted process: the crashed attempt's lease has lapsed by the time it retries. */
const afterLease = () => new Date(Date.now() + 120_000);

describe.each(testBackends())('crash and timeout recovery on $kind', (backend) => {
  let h: PaymentsHarness;
  beforeAll(async () => {
    h = await startPaymentsHarness(backend, {}, { timeoutMs: 1_500 });
  });
  afterAll(async () => {
    await h.close();
  });

  it.each(POINTS)('a crash at %s, then a retry with the same key: one partner payment', async (point) => {
    const key = newKey();
    const crashing = h.service({
      checkpoint: (at) => {
        if (at === point) throw new SimulatedCrash(at);
      },
    });
    const before = h.partnerPayments().length;
    await expect(crashing.initiate(h.call(), cardPayment('21.00'), key)).rejects.toBeInstanceOf(
      SimulatedCrash,
    );
    const createdBeforeCrash = h.partnerPayments().length - before;
    expect(createdBeforeCrash).toBe(point === 'started' || point === 'partner_requested' ? 0 : 1);

    const restarted = h.service({ now: afterLease });
    const result = await restarted.initiate(h.call(), cardPayment('21.00'), key);
    const replay = await restarted.initiate(h.call(), cardPayment('21.00'), key);
    const created = h.partnerPayments().slice(before);
    expect(created).toHaveLength(1);
    expect(result.payload.payment?.partnerId).toBe(created[0]!.id);
    expect(replay).toMatchObject({ replayed: true });
    expect(replay.payload.payment?.id).toBe(result.payload.payment?.id);
    const ledger = await h.ledger();
    expect(ledger.filter((entry) => entry.partnerId === created[0]!.id)).toHaveLength(1);
  });

  it('a partner timeout whose request succeeded at the partner: the retry gets the same payment', async () => {
    const key = newKey();
    const before = h.partnerPayments().length;
    h.sandbox.setFaults([{ match: 'POST /v1/payment_intents', kind: 'latency', ms: 4_000, times: 1 }]);
    const error = await h
      .service()
      .initiate(h.call(), cardPayment('33.00'), key)
      .catch((e: unknown) => e);
    expect(error).toBeInstanceOf(PartnerError);
    expect((error as PartnerError).code).toBe('PARTNER_TIMEOUT');
    expect((error as PartnerError).retryable).toBe(true);
    // Let the partner finish the first request, which it does although we stopped waiting.
    await waitFor(() => h.partnerPayments().length > before);
    const record = await h.service().keys.get('cust_alice', 'initiatePayment', key);
    expect(record).toMatchObject({ state: 'running', recoveryPoint: 'partner_requested' });

    const result = await h.service().initiate(h.call(), cardPayment('33.00'), key);
    const created = h.partnerPayments().slice(before);
    expect(created).toHaveLength(1);
    expect(result.payload.payment?.partnerId).toBe(created[0]!.id);
  });

  it('a partner timeout, retried while the partner is still working: still one payment', async () => {
    const key = newKey();
    const before = h.partnerPayments().length;
    h.sandbox.setFaults([{ match: 'POST /v1/payment_intents', kind: 'latency', ms: 4_000, times: 1 }]);
    await expect(h.service().initiate(h.call(), cardPayment('34.00'), key)).rejects.toBeInstanceOf(
      PartnerError,
    );
    const result = await h.service().initiate(h.call(), cardPayment('34.00'), key);
    await waitFor(() => h.partnerPayments().length > before);
    // The delayed first request reaches the partner too, and is answered from the same key.
    await h.sandbox.idle();
    const created = h.partnerPayments().slice(before);
    expect(created).toHaveLength(1);
    expect(result.payload.payment?.partnerId).toBe(created[0]!.id);
  });

  it('lost answers (reset, truncated or broken bodies) resolve on retry with the same partner key', async () => {
    for (const kind of ['reset', 'truncate', 'contract', 'malformed'] as const) {
      const key = newKey();
      const before = h.partnerPayments().length;
      h.sandbox.setFaults([{ match: 'POST /v1/payment_intents', kind, times: 1 }]);
      await expect(h.service().initiate(h.call(), cardPayment('8.00'), key)).rejects.toBeInstanceOf(
        PartnerError,
      );
      const result = await h.service().initiate(h.call(), cardPayment('8.00'), key);
      const created = h.partnerPayments().slice(before);
      expect(created, kind).toHaveLength(1);
      expect(result.payload.payment?.partnerId).toBe(created[0]!.id);
    }
  });

  it('never re-sends a partner key the partner may have forgotten: the operation waits for reconciliation', async () => {
    const key = newKey();
    const crashing = h.service({
      checkpoint: (at) => {
        if (at === 'partner_requested') throw new SimulatedCrash(at);
      },
    });
    await expect(crashing.initiate(h.call(), cardPayment('9.00'), key)).rejects.toBeInstanceOf(
      SimulatedCrash,
    );
    const requests = h.sandbox.ledger().requests;
    const dayLater = h.service({ now: () => new Date(Date.now() + 25 * 3_600_000) });
    const error = await dayLater.initiate(h.call(), cardPayment('9.00'), key).catch((e: unknown) => e);
    expect((error as PartnerError).code).toBe('PARTNER_UNAVAILABLE');
    expect((error as PartnerError).retryable).toBe(false);
    expect(h.sandbox.ledger().requests).toEqual(requests);
  });

  it('a partner answering another amount is a contract violation, never a success', async () => {
    const key = newKey();
    const lying = h.service({}, (payments) => ({
      ...payments,
      name: payments.name,
      createPayment: async (ctx, request) => {
        const payment: Payment = await payments.createPayment(ctx, request);
        return { ...payment, amount: { ...payment.amount, minor: payment.amount.minor + 1n } };
      },
    }));
    const error = await lying.initiate(h.call(), cardPayment('10.00'), key).catch((e: unknown) => e);
    expect((error as PartnerError).code).toBe('PARTNER_CONTRACT_VIOLATION');
    const record = await lying.keys.get('cust_alice', 'initiatePayment', key);
    expect(record?.state).toBe('running');
    const replayedTruth = await h.service().initiate(h.call(), cardPayment('10.00'), key);
    expect(replayedTruth.payload.payment?.amount.minor).toBe(1000n);
  });
});

async function waitFor(condition: () => boolean, timeoutMs = 15_000): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!condition()) {
    if (Date.now() > deadline) throw new Error('condition not met in time');
    await new Promise((resolve) => setTimeout(resolve, 20));
  }
}
