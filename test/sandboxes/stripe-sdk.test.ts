import Stripe from 'stripe';
import { afterAll, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import type { SandboxHandle } from '../../sandboxes/kit/sandbox.js';
import {
  SEED_PAYMENTS,
  SEEDED_CUSTOMERS,
  startStripeSandbox,
  STRIPE_SANDBOX_SECRET_KEY,
} from '../../sandboxes/stripe/index.js';

let sandbox: SandboxHandle;
let stripe: Stripe;
const alice = SEEDED_CUSTOMERS.cust_alice;

function sdk(key: string): Stripe {
  const url = new URL(sandbox.url);
  return new Stripe(key, { host: url.hostname, port: url.port, protocol: 'http', maxNetworkRetries: 0 });
}

async function control(path: string, body: unknown): Promise<Response> {
  return fetch(`${sandbox.url}/__sandbox/stripe/${path}`, {
    method: 'POST',
    headers: { 'content-type': 'application/json' },
    body: JSON.stringify(body),
    redirect: 'manual',
  });
}

async function rejection(promise: Promise<unknown>): Promise<Stripe.errors.StripeError> {
  try {
    await promise;
  } catch (error) {
    return error as Stripe.errors.StripeError;
  }
  throw new Error('expected the call to fail');
}

beforeAll(async () => {
  sandbox = await startStripeSandbox();
  stripe = sdk(STRIPE_SANDBOX_SECRET_KEY);
});
afterAll(() => sandbox.close());
beforeEach(async () => {
  await fetch(`${sandbox.url}/__sandbox/reset`, { method: 'POST' });
});

describe('Stripe sandbox with the official SDK', () => {
  it('creates and confirms a card payment, with Request-Id and nested metadata', async () => {
    const intent = await stripe.paymentIntents.create({
      amount: 1099,
      currency: 'gbp',
      customer: alice,
      payment_method: 'pm_card_visa',
      payment_method_types: ['card'],
      confirm: true,
      metadata: { tributary_subject: 'cust_alice', 'order id': 'A&B=1' },
      description: 'Order 42',
    });
    expect(intent).toMatchObject({
      object: 'payment_intent',
      status: 'succeeded',
      amount: 1099,
      amount_received: 1099,
      currency: 'gbp',
      customer: alice,
      description: 'Order 42',
      metadata: { tributary_subject: 'cust_alice', 'order id': 'A&B=1' },
      payment_method_types: ['card'],
    });
    expect(intent.id).toMatch(/^pi_[A-Za-z0-9]{24}$/);
    expect(intent.lastResponse.requestId).toMatch(/^req_/);
    expect(intent.latest_charge).toMatch(/^ch_/);
  });

  it('creates without confirming, then confirms, retrieves with the charge expanded and refunds', async () => {
    const created = await stripe.paymentIntents.create({ amount: 5000, currency: 'eur', customer: alice });
    expect(created.status).toBe('requires_payment_method');
    const confirmed = await stripe.paymentIntents.confirm(created.id, {
      payment_method: 'pm_card_mastercard',
    });
    expect(confirmed.status).toBe('succeeded');
    const retrieved = await stripe.paymentIntents.retrieve(created.id, { expand: ['latest_charge'] });
    const charge = retrieved.latest_charge as Stripe.Charge;
    expect(charge).toMatchObject({
      object: 'charge',
      status: 'succeeded',
      amount: 5000,
      amount_refunded: 0,
      payment_intent: created.id,
    });

    const partial = await stripe.refunds.create({ payment_intent: created.id, amount: 2000 });
    expect(partial).toMatchObject({
      object: 'refund',
      status: 'succeeded',
      amount: 2000,
      payment_intent: created.id,
    });
    const tooMuch = await rejection(stripe.refunds.create({ payment_intent: created.id, amount: 3001 }));
    expect(tooMuch).toMatchObject({
      type: 'StripeInvalidRequestError',
      statusCode: 400,
      code: 'amount_too_large',
      param: 'amount',
    });
    const rest = await stripe.refunds.create({ payment_intent: created.id });
    expect(rest.amount).toBe(3000);
    expect(await stripe.refunds.retrieve(rest.id)).toMatchObject({ id: rest.id, amount: 3000 });
    const again = await rejection(stripe.refunds.create({ payment_intent: created.id }));
    expect(again.code).toBe('charge_already_refunded');
    const after = await stripe.paymentIntents.retrieve(created.id, { expand: ['latest_charge'] });
    expect(after.latest_charge).toMatchObject({ amount_refunded: 5000, refunded: true });
    const refunds = await stripe.refunds.list({ payment_intent: created.id });
    expect(refunds.data.map((refund) => refund.id)).toEqual([rest.id, partial.id]);
  });

  it('cancels a PaymentIntent, and refuses to cancel a succeeded one', async () => {
    const open = await stripe.paymentIntents.create({
      amount: 700,
      currency: 'gbp',
      payment_method: 'pm_card_visa',
    });
    expect(open.status).toBe('requires_confirmation');
    const canceled = await stripe.paymentIntents.cancel(open.id, {
      cancellation_reason: 'requested_by_customer',
    });
    expect(canceled).toMatchObject({ status: 'canceled', cancellation_reason: 'requested_by_customer' });
    expect(canceled.canceled_at).toEqual(expect.any(Number));
    const settled = SEED_PAYMENTS.find((payment) => payment.id === 'pi_SeedAliceSucceeded0001');
    const refused = await rejection(stripe.paymentIntents.cancel(settled?.id ?? ''));
    expect(refused).toMatchObject({ statusCode: 400, code: 'payment_intent_unexpected_state' });
  });

  it('declines with a 402 card_error carrying the PaymentIntent left in requires_payment_method', async () => {
    const error = await rejection(
      stripe.paymentIntents.create({
        amount: 990,
        currency: 'gbp',
        payment_method: 'pm_card_chargeDeclined',
        confirm: true,
      }),
    );
    expect(error).toMatchObject({
      type: 'StripeCardError',
      statusCode: 402,
      code: 'card_declined',
      decline_code: 'generic_decline',
    });
    const intent = error.payment_intent as Stripe.PaymentIntent;
    expect(intent.status).toBe('requires_payment_method');
    expect(intent.last_payment_error).toMatchObject({ type: 'card_error', decline_code: 'generic_decline' });
    expect((await stripe.paymentIntents.retrieve(intent.id)).status).toBe('requires_payment_method');
    const funds = await rejection(
      stripe.paymentIntents.create({
        amount: 990,
        currency: 'gbp',
        payment_method: 'pm_card_chargeDeclinedInsufficientFunds',
        confirm: true,
      }),
    );
    expect(funds.decline_code).toBe('insufficient_funds');
  });

  it('asks for 3-D Secure with a redirect, completed through the control route', async () => {
    const intent = await stripe.paymentIntents.create({
      amount: 2000,
      currency: 'gbp',
      payment_method: 'pm_card_authenticationRequired',
      confirm: true,
      return_url: 'https://app.example/return',
    });
    expect(intent.status).toBe('requires_action');
    expect(intent.next_action?.type).toBe('redirect_to_url');
    const redirect = intent.next_action?.redirect_to_url?.url ?? '';
    const page = await fetch(redirect, { redirect: 'manual' });
    expect(page.status).toBe(302);
    expect(page.headers.get('location')).toContain('https://app.example/return?payment_intent=');
    expect((await stripe.paymentIntents.retrieve(intent.id)).status).toBe('succeeded');
  });

  it('settles a processing payment through the control route', async () => {
    const intent = await stripe.paymentIntents.create({
      amount: 2100,
      currency: 'gbp',
      payment_method: 'pm_sandbox_processing',
      confirm: true,
    });
    expect(intent.status).toBe('processing');
    expect((await control(`payment_intents/${intent.id}/status`, { status: 'succeeded' })).status).toBe(200);
    expect((await stripe.paymentIntents.retrieve(intent.id)).status).toBe('succeeded');
  });

  it("lists a customer's PaymentIntents newest first, paging with starting_after", async () => {
    const first = await stripe.paymentIntents.list({ customer: alice, limit: 4 });
    expect(first).toMatchObject({ object: 'list', url: '/v1/payment_intents', has_more: true });
    expect(first.data).toHaveLength(4);
    const last = first.data.at(-1)?.id ?? '';
    const second = await stripe.paymentIntents.list({ customer: alice, limit: 4, starting_after: last });
    expect(second.has_more).toBe(false);
    const seen = [...first.data, ...second.data].map((intent) => intent.id);
    const seeded = SEED_PAYMENTS.filter((payment) => payment.subject === 'cust_alice')
      .sort((a, b) => a.daysAgo - b.daysAgo)
      .map((payment) => payment.id);
    expect(seen).toEqual(seeded);
    const missing = await rejection(
      stripe.paymentIntents.list({ customer: alice, starting_after: 'pi_unknown' }),
    );
    expect(missing).toMatchObject({ statusCode: 404, code: 'resource_missing', param: 'starting_after' });
  });

  it('opens a chargeback through the control route and serves it as a dispute', async () => {
    const response = await control('disputes', { payment_intent: 'pi_SeedAliceSucceeded0001' });
    const opened = (await response.json()) as { id: string };
    const dispute = await stripe.disputes.retrieve(opened.id);
    expect(dispute).toMatchObject({
      object: 'dispute',
      status: 'needs_response',
      payment_intent: 'pi_SeedAliceSucceeded0001',
      amount: 2500,
    });
    await control(`disputes/${opened.id}/status`, { status: 'lost' });
    const listed = await stripe.disputes.list({ payment_intent: 'pi_SeedAliceSucceeded0001' });
    expect(listed.data.map((item) => [item.id, item.status])).toEqual([[opened.id, 'lost']]);
    const refund = await rejection(stripe.refunds.create({ payment_intent: 'pi_SeedAliceSucceeded0001' }));
    expect(refund.code).toBe('charge_disputed');
  });

  it('creates, retrieves and searches customers by metadata', async () => {
    const created = await stripe.customers.create({
      email: 'carol@example.com',
      metadata: { tributary_subject: 'cust_carol' },
    });
    expect(created.id).toMatch(/^cus_/);
    expect(await stripe.customers.retrieve(created.id)).toMatchObject({ email: 'carol@example.com' });
    const found = await stripe.customers.search({ query: "metadata['tributary_subject']:'cust_carol'" });
    expect(found.data.map((customer) => customer.id)).toEqual([created.id]);
  });

  it('answers Stripe errors: bad key 401, unknown object 404, unknown parameter 400, unknown route 404', async () => {
    const bad = await rejection(sdk('sk_test_nope').paymentIntents.list());
    expect(bad).toMatchObject({ type: 'StripeAuthenticationError', statusCode: 401 });
    const missing = await rejection(stripe.paymentIntents.retrieve('pi_doesNotExist'));
    expect(missing).toMatchObject({
      statusCode: 404,
      code: 'resource_missing',
      message: "No such payment_intent: 'pi_doesNotExist'",
    });
    const unknown = await rejection(
      stripe.paymentIntents.create({ amount: 100, currency: 'gbp', colour: 'blue' } as never),
    );
    expect(unknown).toMatchObject({ statusCode: 400, code: 'parameter_unknown', param: 'colour' });
    const route = await fetch(`${sandbox.url}/v1/nothing`, {
      headers: { authorization: `Bearer ${STRIPE_SANDBOX_SECRET_KEY}` },
    });
    expect(route.status).toBe(404);
    expect(((await route.json()) as { error: { type: string } }).error.type).toBe('invalid_request_error');
    const basic = await fetch(`${sandbox.url}/v1/customers/${alice}`, {
      headers: { authorization: `Basic ${Buffer.from(`${STRIPE_SANDBOX_SECRET_KEY}:`).toString('base64')}` },
    });
    expect(basic.status).toBe(200);
  });

  it('answers an injected 429 as Stripe does, with Retry-After', async () => {
    sandbox.setFaults([{ kind: 'rate_limit', retryAfter: 3, times: 1 }]);
    const limited = await rejection(stripe.paymentIntents.list());
    expect(limited).toMatchObject({ type: 'StripeRateLimitError', statusCode: 429, code: 'rate_limit' });
    expect(limited.headers?.['retry-after']).toBe('3');
  });
});
