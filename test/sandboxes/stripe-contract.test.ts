import { readFileSync } from 'node:fs';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import {
  chargeSchema,
  customerSchema,
  disputeSchema,
  errorResponseSchema,
  listSchema,
  paymentIntentSchema,
  paymentMethodSchema,
  refundSchema,
} from '../../datasources/stripe/types.js';
import type { SandboxHandle } from '../../sandboxes/kit/sandbox.js';
import {
  SEEDED_CUSTOMERS,
  startStripeSandbox,
  STRIPE_SANDBOX_SECRET_KEY,
} from '../../sandboxes/stripe/index.js';

/** Stripe's own example objects (partner-specs/stripe/fixtures3.json). */
const official = JSON.parse(
  readFileSync(new URL('../fixtures/stripe/official.json', import.meta.url), 'utf8'),
) as Record<string, Record<string, unknown>>;

/**
 * Objects whose keys vary with the payment method or are free-form maps; their presence and type
 * are checked, not their keys.
 */
const OPEN = new Set([
  'metadata',
  'payment_method_options',
  'payment_method_details',
  'next_action',
  'last_payment_error',
  'amount_details',
  'fraud_details',
  'refunds',
  'source',
  'shipping',
  'transfer_data',
  'processing',
  'enhanced_evidence',
  'enhanced_eligibility',
  'destination_details',
  'discount',
  'address',
  'managed_payments',
  'payment_method_configuration_details',
  'rendering_options',
  'automatic_payment_methods',
]);

function kind(value: unknown): string {
  if (value === null) return 'null';
  if (Array.isArray(value)) return 'array';
  return typeof value;
}

/** Differences in keys and JSON types between an example object and a served one (null matches any type). */
function shapeDiff(expected: unknown, actual: unknown, path: string[] = []): string[] {
  const at = path.join('.') || '(root)';
  if (expected === null || actual === null) return [];
  if (kind(expected) !== kind(actual)) return [`${at}: ${kind(actual)}, expected ${kind(expected)}`];
  if (kind(expected) !== 'object' || OPEN.has(path.at(-1) ?? '')) return [];
  const want = expected as Record<string, unknown>;
  const got = actual as Record<string, unknown>;
  const diffs: string[] = [];
  for (const key of Object.keys(want)) {
    if (!(key in got)) diffs.push(`${[...path, key].join('.')}: missing`);
    else diffs.push(...shapeDiff(want[key], got[key], [...path, key]));
  }
  for (const key of Object.keys(got))
    if (!(key in want)) diffs.push(`${[...path, key].join('.')}: not in Stripe's example`);
  return diffs;
}

let sandbox: SandboxHandle;

async function get(path: string): Promise<Record<string, unknown>> {
  const res = await fetch(`${sandbox.url}${path}`, {
    headers: { authorization: `Bearer ${STRIPE_SANDBOX_SECRET_KEY}` },
  });
  return (await res.json()) as Record<string, unknown>;
}

beforeAll(async () => {
  sandbox = await startStripeSandbox();
});
afterAll(() => sandbox.close());

describe("Stripe sandbox payloads against Stripe's example objects", () => {
  it('notices a missing key, an extra key and a wrong type', () => {
    const example = { a: 1, nested: { b: 'x', c: true } };
    expect(shapeDiff(example, { a: '1', nested: { b: 'x', d: true } })).toEqual([
      'a: string, expected number',
      'nested.c: missing',
      "nested.d: not in Stripe's example",
    ]);
  });

  it("serves PaymentIntents with the keys and types of Stripe's example", async () => {
    const intent = await get('/v1/payment_intents/pi_SeedAliceSucceeded0001');
    expect(shapeDiff(official.payment_intent, intent)).toEqual([]);
    expect(paymentIntentSchema.safeParse(intent).success).toBe(true);
  });

  it("serves an expanded charge with the keys and types of Stripe's example", async () => {
    const intent = await get('/v1/payment_intents/pi_SeedAlicePartRefund001?expand[0]=latest_charge');
    expect(shapeDiff(official.charge, intent.latest_charge)).toEqual([]);
    expect(chargeSchema.safeParse(intent.latest_charge).success).toBe(true);
  });

  it("serves refunds, disputes and customers with the keys and types of Stripe's examples", async () => {
    const refunds = await get('/v1/refunds?payment_intent=pi_SeedAlicePartRefund001');
    const disputes = await get('/v1/disputes?payment_intent=pi_SeedAliceDisputed00001');
    const customer = await get(`/v1/customers/${SEEDED_CUSTOMERS.cust_alice}`);
    const refund = (refunds.data as unknown[])[0];
    const dispute = (disputes.data as unknown[])[0];
    expect(shapeDiff(official.refund, refund)).toEqual([]);
    expect(shapeDiff(official.dispute, dispute)).toEqual([]);
    expect(shapeDiff(official.customer, customer)).toEqual([]);
    expect(listSchema(refundSchema).safeParse(refunds).success).toBe(true);
    expect(listSchema(disputeSchema).safeParse(disputes).success).toBe(true);
    expect(customerSchema.safeParse(customer).success).toBe(true);
  });

  it("serves payment methods with the keys and types of Stripe's example, and 404 for an unknown one", async () => {
    const method = await get('/v1/payment_methods/pm_card_gb');
    expect(shapeDiff(official.payment_method, method)).toEqual([]);
    expect(paymentMethodSchema.parse(method).card).toEqual({ brand: 'visa', country: 'GB' });
    const missing = await get('/v1/payment_methods/pm_nothing_here');
    expect(errorResponseSchema.parse(missing).error).toMatchObject({ code: 'resource_missing' });
  });

  it("serves list envelopes with the keys of Stripe's (charge.refunds)", async () => {
    const list = await get('/v1/payment_intents?limit=1');
    expect(Object.keys(list).sort()).toEqual(Object.keys(official.charge?.refunds as object).sort());
    expect(listSchema(paymentIntentSchema).safeParse(list).success).toBe(true);
  });

  it("answers errors with Stripe's error object", async () => {
    const body = await get('/v1/payment_intents/pi_missing');
    expect(errorResponseSchema.safeParse(body).success).toBe(true);
    expect(body.error).toMatchObject({
      type: 'invalid_request_error',
      code: 'resource_missing',
      param: 'intent',
    });
  });

  it("every seeded PaymentIntent passes the client's contract", async () => {
    const list = await get('/v1/payment_intents?limit=100&expand[0]=data.latest_charge');
    const parsed = listSchema(paymentIntentSchema).parse(list);
    expect(parsed.data).toHaveLength(10);
  });
});
