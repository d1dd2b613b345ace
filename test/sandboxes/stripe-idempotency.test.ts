import { afterAll, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import type { SandboxHandle } from '../../sandboxes/kit/sandbox.js';
import {
  SEEDED_CUSTOMERS,
  startStripeSandbox,
  STRIPE_SANDBOX_SECRET_KEY,
} from '../../sandboxes/stripe/index.js';

let now = Date.parse('2025-06-01T10:00:00Z');
let sandbox: SandboxHandle;

const auth = { authorization: `Bearer ${STRIPE_SANDBOX_SECRET_KEY}` };

/** Raw form POST, so the test sees exactly what Stripe's wire carries. */
async function post(path: string, form: Record<string, string>, key?: string) {
  const res = await fetch(`${sandbox.url}${path}`, {
    method: 'POST',
    headers: {
      ...auth,
      'content-type': 'application/x-www-form-urlencoded',
      ...(key ? { 'idempotency-key': key } : {}),
    },
    body: new URLSearchParams(form).toString(),
  });
  return { status: res.status, headers: res.headers, body: await res.text() };
}

const payment = {
  amount: '2500',
  currency: 'gbp',
  customer: SEEDED_CUSTOMERS.cust_alice,
  payment_method: 'pm_card_visa',
  confirm: 'true',
  'metadata[tributary_subject]': 'cust_alice',
  'payment_method_types[0]': 'card',
};

const intents = () => sandbox.ledger().movements.filter((movement) => movement.kind === 'payment-intent');

beforeAll(async () => {
  sandbox = await startStripeSandbox({ now: () => now, writeDelayMs: 50 });
});
afterAll(() => sandbox.close());
beforeEach(async () => {
  await fetch(`${sandbox.url}/__sandbox/reset`, { method: 'POST' });
});

describe('Stripe sandbox idempotency', () => {
  it('answers the same key and parameters ten times with one PaymentIntent and the first body', async () => {
    const first = await post('/v1/payment_intents', payment, 'order-1001-attempt');
    expect(first.status).toBe(200);
    expect(first.headers.get('idempotent-replayed')).toBeNull();
    const replays = [];
    for (let i = 0; i < 9; i++)
      replays.push(await post('/v1/payment_intents', payment, 'order-1001-attempt'));
    for (const replay of replays) {
      expect(replay.status).toBe(200);
      expect(replay.body).toBe(first.body);
      expect(replay.headers.get('idempotent-replayed')).toBe('true');
      expect(replay.headers.get('original-request')).toBe(first.headers.get('request-id'));
    }
    expect(intents()).toHaveLength(1);
    expect(intents()[0]).toMatchObject({
      idempotencyKey: 'order-1001-attempt',
      amount: '2500',
      currency: 'GBP',
    });
  });

  it('replays a decline too: the 402 is saved like any executed outcome', async () => {
    const declined = { ...payment, payment_method: 'pm_card_chargeDeclined' };
    const first = await post('/v1/payment_intents', declined, 'declined-key-0001');
    const second = await post('/v1/payment_intents', declined, 'declined-key-0001');
    expect([first.status, second.status]).toEqual([402, 402]);
    expect(second.body).toBe(first.body);
    expect(second.headers.get('idempotent-replayed')).toBe('true');
    expect(intents()).toHaveLength(1);
  });

  it('refuses the same key with another amount: 400 idempotency_error, nothing created', async () => {
    await post('/v1/payment_intents', payment, 'order-1002-attempt');
    const changed = await post('/v1/payment_intents', { ...payment, amount: '2600' }, 'order-1002-attempt');
    expect(changed.status).toBe(400);
    expect(JSON.parse(changed.body).error).toMatchObject({ type: 'idempotency_error' });
    expect(JSON.parse(changed.body).error.message).toContain('same parameters');
    expect(intents()).toHaveLength(1);
  });

  it('refuses the same key on another endpoint', async () => {
    await post('/v1/payment_intents', payment, 'order-1003-attempt');
    const other = await post('/v1/customers', { email: 'x@example.com' }, 'order-1003-attempt');
    expect(other.status).toBe(400);
    expect(JSON.parse(other.body).error.type).toBe('idempotency_error');
  });

  it('answers a concurrent request with a key still in progress with 409 idempotency_key_in_use', async () => {
    const [a, b] = await Promise.all([
      post('/v1/payment_intents', payment, 'order-1004-attempt'),
      post('/v1/payment_intents', payment, 'order-1004-attempt'),
    ]);
    expect([a.status, b.status].sort()).toEqual([200, 409]);
    const conflict = a.status === 409 ? a : b;
    expect(JSON.parse(conflict.body).error).toMatchObject({
      type: 'invalid_request_error',
      code: 'idempotency_key_in_use',
    });
    expect(intents()).toHaveLength(1);
    const later = await post('/v1/payment_intents', payment, 'order-1004-attempt');
    expect(later.headers.get('idempotent-replayed')).toBe('true');
  });

  it('does not save a request that failed validation, so it can be corrected under the same key', async () => {
    const invalid = await post('/v1/payment_intents', { ...payment, amount: 'lots' }, 'order-1005-attempt');
    expect(invalid.status).toBe(400);
    const fixed = await post('/v1/payment_intents', payment, 'order-1005-attempt');
    expect(fixed.status).toBe(200);
    expect(fixed.headers.get('idempotent-replayed')).toBeNull();
  });

  it('forgets keys after 24 hours of sandbox time', async () => {
    const first = await post('/v1/payment_intents', payment, 'order-1006-attempt');
    now += 23 * 3_600_000;
    const within = await post('/v1/payment_intents', payment, 'order-1006-attempt');
    expect(within.body).toBe(first.body);
    now += 2 * 3_600_000;
    const after = await post('/v1/payment_intents', payment, 'order-1006-attempt');
    expect(after.headers.get('idempotent-replayed')).toBeNull();
    expect(JSON.parse(after.body).id).not.toBe(JSON.parse(first.body).id);
    expect(intents()).toHaveLength(2);
  });

  it('keys refunds the same way: one refund for a retried request', async () => {
    const created = JSON.parse((await post('/v1/payment_intents', payment, 'order-1007-attempt')).body) as {
      id: string;
    };
    const refund = { payment_intent: created.id, amount: '500' };
    const a = await post('/v1/refunds', refund, 'refund-1007-attempt');
    const b = await post('/v1/refunds', refund, 'refund-1007-attempt');
    expect(b.body).toBe(a.body);
    expect(sandbox.ledger().movements.filter((movement) => movement.kind === 'refund')).toHaveLength(1);
  });
});
