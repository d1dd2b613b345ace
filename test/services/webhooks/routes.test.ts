/**
 * POST /webhooks/{provider} through the real fastify app (inject, nothing listening): raw-body
 * verification, durable insert before 2xx, duplicates, forged deliveries, the rejection budget, the
 * body limit and the source allow-list.
 */
import pino from 'pino';
import { DEV_WEBHOOK_SECRETS } from '../../helpers/webhook-secrets.js';
import { afterEach, describe, expect, it } from 'vitest';
import { signStandardWebhook } from '../../../datasources/openbanking/webhook.js';
import { signStripePayload } from '../../../datasources/stripe/webhook.js';
import { buildApp, type App } from '../../../server/app.js';
import { generateDevKey } from '../../../server/auth.js';
import { loadConfig } from '../../../server/config.js';
import { closeServices, createServices, type Services } from '../../../server/wiring.js';
import { openDatabase } from '../../../store/db.js';

let services: Services | undefined;
let app: App | undefined;

async function start(env: Record<string, string> = {}): Promise<App> {
  const config = loadConfig({ NODE_ENV: 'test', LOG_LEVEL: 'silent', ...env });
  services = await createServices(config, pino({ level: 'silent' }), {
    db: await openDatabase({ dataDir: 'memory://' }),
    devKey: await generateDevKey(),
  });
  app = await buildApp(services);
  return app;
}

afterEach(async () => {
  await app?.fastify.close();
  if (services) await closeServices(services);
  app = services = undefined;
});

const now = () => Math.floor(Date.now() / 1000);
const stripeBody = (id: string) =>
  JSON.stringify({
    id,
    object: 'event',
    type: 'payment_intent.succeeded',
    data: { object: { id: 'pi_1', object: 'payment_intent' } },
  });

function stripe(
  a: App,
  body: string,
  secret: string = DEV_WEBHOOK_SECRETS.stripe,
  extra: Record<string, string> = {},
) {
  return a.fastify.inject({
    method: 'POST',
    url: '/webhooks/stripe',
    headers: {
      'content-type': 'application/json; charset=utf-8',
      'stripe-signature': signStripePayload(body, [secret], now()),
      ...extra,
    },
    payload: body,
  });
}

const rows = async () => (await services!.webhooks.repository.list({ limit: 100 })).length;

describe('POST /webhooks/:provider', { timeout: 120_000 }, () => {
  it('stores a verified Stripe event once and answers duplicates with 200', async () => {
    const a = await start();
    const first = await stripe(a, stripeBody('evt_1'));
    expect(first.statusCode).toBe(200);
    expect(first.json()).toMatchObject({ received: true, duplicate: false });
    const again = await stripe(a, stripeBody('evt_1'));
    expect(again.json()).toMatchObject({ id: first.json().id, duplicate: true });
    expect(await rows()).toBe(1);
    const stored = await services!.webhooks.repository.raw(first.json().id);
    expect(stored?.body.toString()).toBe(stripeBody('evt_1'));
    expect(Object.keys(stored!.headers)).toEqual(['stripe-signature']);
  });

  it('stores a verified Open Banking (Standard Webhooks) event', async () => {
    const a = await start();
    const body = '{"iat":1,"events":{}}';
    const t = now();
    const response = await a.fastify.inject({
      method: 'POST',
      url: '/webhooks/openbanking',
      headers: {
        'content-type': 'application/json',
        'webhook-id': 'msg_1',
        'webhook-timestamp': String(t),
        'webhook-signature': signStandardWebhook('msg_1', t, body, [DEV_WEBHOOK_SECRETS.openbanking]),
      },
      payload: body,
    });
    expect(response.statusCode).toBe(200);
    expect(await rows()).toBe(1);
  });

  it('refuses forgeries with 401/400, stores nothing, and answers 429 past the budget', async () => {
    const a = await start({ WEBHOOK_REJECTIONS_PER_MINUTE: '3' });
    expect((await stripe(a, stripeBody('evt_f1'), 'whsec_forged')).statusCode).toBe(401);
    const unsigned = await a.fastify.inject({
      method: 'POST',
      url: '/webhooks/stripe',
      payload: stripeBody('evt_f2'),
      headers: { 'content-type': 'application/json' },
    });
    expect(unsigned.statusCode).toBe(400);
    const plaid = await a.fastify.inject({
      method: 'POST',
      url: '/webhooks/plaid',
      payload: '{}',
      headers: { 'content-type': 'application/json', 'plaid-verification': 'x.y.z' },
    });
    expect(plaid.statusCode).toBe(400);
    expect((await stripe(a, stripeBody('evt_f3'), 'whsec_forged')).statusCode).toBe(401);
    expect((await stripe(a, stripeBody('evt_f4'), 'whsec_forged')).statusCode).toBe(429);
    // The budget is for refusals only: a real delivery still goes through.
    expect((await stripe(a, stripeBody('evt_ok'))).statusCode).toBe(200);
    expect(await rows()).toBe(1);
    const metrics = await services!.metrics.render();
    expect(metrics.body).toMatch(
      /tributary_webhook_deliveries_total\{partner="stripe",outcome="bad_signature"\} 2/,
    );
  });

  it('answers 404 for an unknown partner and 413 past the webhook body limit', async () => {
    const a = await start({ LIMIT_WEBHOOK_BODY_BYTES: '2048' });
    expect(
      (
        await a.fastify.inject({
          method: 'POST',
          url: '/webhooks/paypal',
          payload: '{}',
          headers: { 'content-type': 'application/json' },
        })
      ).statusCode,
    ).toBe(404);
    const big = JSON.stringify({ id: 'evt_big', type: 'x', pad: 'x'.repeat(4096) });
    expect((await stripe(a, big)).statusCode).toBe(413);
    expect(await rows()).toBe(0);
  });

  it('refuses sources outside the partner allow-list', async () => {
    const a = await start({ STRIPE_WEBHOOK_ALLOW_CIDRS: '10.0.0.0/8, 192.168.1.0/24' });
    expect((await stripe(a, stripeBody('evt_1'))).statusCode).toBe(403);
    const allowed = await a.fastify.inject({
      method: 'POST',
      url: '/webhooks/stripe',
      remoteAddress: '10.1.2.3',
      headers: {
        'content-type': 'application/json',
        'stripe-signature': signStripePayload(stripeBody('evt_2'), [DEV_WEBHOOK_SECRETS.stripe], now()),
      },
      payload: stripeBody('evt_2'),
    });
    expect(allowed.statusCode).toBe(200);
  });
});
