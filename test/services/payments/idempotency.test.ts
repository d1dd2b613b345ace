import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { IdempotencyError } from '../../../domain/errors.js';
import { SimulatedCrash } from '../../../services/payments/runner.js';
import { testBackends } from '../../helpers/db.js';
import { cardPayment, comparable, startPaymentsHarness, type PaymentsHarness } from './harness.js';

let counter = 0;
const newKey = () => `idem-test-key-${Date.now()}-${(counter += 1)}`;

describe.each(testBackends())('idempotent initiatePayment on $kind', (backend) => {
  let h: PaymentsHarness;
  beforeAll(async () => {
    h = await startPaymentsHarness(backend);
  });
  afterAll(async () => {
    await h.close();
  });

  it('creates one partner payment for ten identical requests and returns ten identical payloads', async () => {
    const outcomes: string[] = [];
    const service = h.service({ observe: (outcome) => outcomes.push(outcome) });
    const key = newKey();
    const before = h.partnerPayments().length;
    const results = [];
    for (let i = 0; i < 10; i += 1) results.push(await service.initiate(h.call(), cardPayment(), key));
    expect(h.partnerPayments().length - before).toBe(1);
    expect(results.map((result) => result.replayed)).toEqual([false, ...Array(9).fill(true)]);
    expect(outcomes).toEqual(['executed', ...Array(9).fill('replayed')]);
    const first = comparable(results[0]!.payload.payment);
    for (const result of results) {
      expect(comparable(result.payload.payment)).toEqual(first);
      expect(result.payload.userErrors).toEqual([]);
    }
    expect(results[0]!.payload.payment).toMatchObject({
      status: 'SETTLED',
      amount: { minor: 1234n, currency: 'GBP' },
    });
  });

  it('refuses the same key with the amount changed by one minor unit, without calling the partner', async () => {
    const service = h.service();
    const key = newKey();
    await service.initiate(h.call(), cardPayment('12.34'), key);
    const requests = h.sandbox.ledger().requests;
    const error = await service.initiate(h.call(), cardPayment('12.35'), key).catch((e: unknown) => e);
    expect(error).toBeInstanceOf(IdempotencyError);
    expect((error as IdempotencyError).code).toBe('IDEMPOTENCY_KEY_REUSED');
    expect(h.sandbox.ledger().requests).toEqual(requests);
  });

  it('treats another spelling of the same amount as the same request', async () => {
    const service = h.service();
    const key = newKey();
    const first = await service.initiate(h.call(), cardPayment('10.5'), key);
    const again = await service.initiate(h.call(), cardPayment('10.50'), key);
    expect(again.replayed).toBe(true);
    expect(again.payload.payment?.id).toBe(first.payload.payment?.id);
  });

  it('keeps keys apart per subject', async () => {
    const service = h.service();
    const key = newKey();
    const alice = await service.initiate(h.call('cust_alice'), cardPayment(), key);
    const bob = await service.initiate(h.call('cust_bob'), cardPayment(), key);
    expect(bob.replayed).toBe(false);
    expect(bob.payload.payment?.id).not.toBe(alice.payload.payment?.id);
    expect(bob.payload.payment?.ownerId).toBe('cust_bob');
  });

  it('does not store validation failures: the key works once the input is fixed', async () => {
    const service = h.service();
    const key = newKey();
    for (const amount of ['12.345', '0.00']) {
      const refused = await service.initiate(h.call(), cardPayment(amount), key);
      expect(refused).toMatchObject({ replayed: false, payload: { payment: null } });
      expect(refused.payload.userErrors.map((error) => error.code)).toEqual(['INVALID_AMOUNT']);
    }
    expect(await h.service().keys.get('cust_alice', 'initiatePayment', key)).toBeNull();
    const fixed = await service.initiate(h.call(), cardPayment('12.00'), key);
    expect(fixed.payload.payment?.amount.minor).toBe(1200n);
  });

  it('rejects malformed keys as IDEMPOTENCY_KEY_REQUIRED', async () => {
    for (const key of ['', 'short', 'x'.repeat(256), 'has spaces in the key!']) {
      const error = await h
        .service()
        .initiate(h.call(), cardPayment(), key)
        .catch((e: unknown) => e);
      expect((error as IdempotencyError).code).toBe('IDEMPOTENCY_KEY_REQUIRED');
    }
  });

  it('stores a decline as the failed payment with its reason and no user error, and replays it', async () => {
    const service = h.service();
    const key = newKey();
    const before = h.partnerPayments().length;
    const first = await service.initiate(
      h.call(),
      cardPayment('5.00', 'pm_card_chargeDeclinedInsufficientFunds'),
      key,
    );
    expect(first.payload.userErrors).toEqual([]);
    expect(first.payload.payment).toMatchObject({ status: 'FAILED', failureReason: 'INSUFFICIENT_FUNDS' });
    const again = await service.initiate(
      h.call(),
      cardPayment('5.00', 'pm_card_chargeDeclinedInsufficientFunds'),
      key,
    );
    expect(again.replayed).toBe(true);
    expect(again.payload.userErrors).toEqual([]);
    expect(again.payload.payment).toMatchObject({ id: first.payload.payment?.id, status: 'FAILED' });
    expect(h.partnerPayments().length - before).toBe(1);
  });

  it('answers IN_USE while the first attempt is running, then replays its result', async () => {
    let release!: () => void;
    const gate = new Promise<void>((resolve) => (release = resolve));
    let reached!: () => void;
    const atGate = new Promise<void>((resolve) => (reached = resolve));
    const slow = h.service({
      checkpoint: async (point) => {
        if (point !== 'partner_requested') return;
        reached();
        await gate;
      },
    });
    const key = newKey();
    const running = slow.initiate(h.call(), cardPayment(), key);
    await atGate;
    const error = await h
      .service()
      .initiate(h.call(), cardPayment(), key)
      .catch((e: unknown) => e);
    expect((error as IdempotencyError).code).toBe('IDEMPOTENCY_KEY_IN_USE');
    expect((error as IdempotencyError).retryable).toBe(true);
    release();
    const done = await running;
    const replay = await h.service().initiate(h.call(), cardPayment(), key);
    expect(replay).toMatchObject({ replayed: true });
    expect(replay.payload.payment?.id).toBe(done.payload.payment?.id);
  });

  it('takes over a lease abandoned by a crashed attempt once it lapses', async () => {
    const key = newKey();
    const crashing = h.service({
      leaseMs: 60_000,
      checkpoint: (point) => {
        if (point === 'started') throw new SimulatedCrash(point);
      },
    });
    await expect(crashing.initiate(h.call(), cardPayment(), key)).rejects.toBeInstanceOf(SimulatedCrash);
    const error = await h
      .service()
      .initiate(h.call(), cardPayment(), key)
      .catch((e: unknown) => e);
    expect((error as IdempotencyError).code).toBe('IDEMPOTENCY_KEY_IN_USE');
    const later = h.service({ now: () => new Date(Date.now() + 61_000) });
    const result = await later.initiate(h.call(), cardPayment(), key);
    expect(result.replayed).toBe(false);
    expect(result.payload.payment?.status).toBe('SETTLED');
    expect((await later.keys.get('cust_alice', 'initiatePayment', key))?.attempts).toBe(2);
  });

  it('records every payment with its status history and an audit entry', async () => {
    const service = h.service();
    const result = await service.initiate(h.call(), cardPayment('7.00'), newKey());
    const stored = await service.ledger.get('cust_alice', result.payload.payment!.id);
    expect(stored?.events.map((event) => event.status)).toEqual(['SETTLED']);
    expect(stored?.events[0]?.source).toBe('API');
    expect(await service.ledger.get('cust_bob', result.payload.payment!.id)).toBeNull();
    expect((await h.audit.verify()).ok).toBe(true);
  });
});
