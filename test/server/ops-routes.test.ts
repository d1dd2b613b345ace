/**
 * The ops JSON API (/ops/api/*) without a browser: ops tokens only (401 without a valid one, 403
 * without the scope), the same services and audit log as the graph's ops fields, the error shape.
 */
import pino from 'pino';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { MinuteSeries } from '../../datasources/partner-health.js';
import { buildApp, type App } from '../../server/app.js';
import { generateDevKey, signDevToken, type DevSigningKey } from '../../server/auth.js';
import { DEV_AUDIENCE, DEV_ISSUER, loadConfig } from '../../server/config.js';
import { closeServices, createServices, type Services } from '../../server/wiring.js';
import { openDatabase } from '../../store/db.js';
import { deliverStripeEvents } from '../helpers/stripe-events.js';

let services: Services;
let app: App;
let key: DevSigningKey;

const token = (subject: string, scopes: string[]) =>
  signDevToken(key, { subject, scopes, issuer: DEV_ISSUER, audience: DEV_AUDIENCE });

// The answers are read loosely: each test states the shape it expects.
// eslint-disable-next-line @typescript-eslint/no-explicit-any
type Json = Record<string, any>;

async function call(method: 'GET' | 'POST', url: string, bearer: string | null, body?: unknown) {
  const response = await app.fastify.inject({
    method,
    url,
    headers: {
      ...(bearer ? { authorization: `Bearer ${bearer}` } : {}),
      ...(body === undefined ? {} : { 'content-type': 'application/json' }),
    },
    ...(body === undefined ? {} : { payload: JSON.stringify(body) }),
  });
  return { status: response.statusCode, headers: response.headers, body: response.json() as Json };
}

beforeAll(async () => {
  key = await generateDevKey();
  services = await createServices(
    // A router secret: /ops must still answer operators (and only them) without it.
    loadConfig({ NODE_ENV: 'test', LOG_LEVEL: 'silent', ROUTER_SECRET: 'r'.repeat(32) }),
    pino({ level: 'silent' }),
    { db: await openDatabase({ dataDir: 'memory://' }), devKey: key },
  );
  app = await buildApp(services);
  await deliverStripeEvents(app, ['evt_a', 'evt_b']);
  await services.webhooks.worker.drain();
  // evt_a dead-lettered, as the worker leaves an event that failed every attempt.
  await services.db.query(
    `UPDATE webhook_events SET status = 'dead', attempts = 8, last_error = 'PARTNER_UNAVAILABLE'
     WHERE partner_event_id = 'evt_a'`,
  );
}, 120_000);

afterAll(async () => {
  await app?.fastify.close();
  if (services) await closeServices(services);
});

describe('ops API', () => {
  it('refuses a request without a token, with a bad token, and without the scope', async () => {
    const none = await call('GET', '/ops/api/partners', null);
    expect(none.status).toBe(401);
    expect(none.body.error.code).toBe('UNAUTHENTICATED');
    const bad = await call('GET', '/ops/api/partners', 'not-a-jwt');
    expect(bad.status).toBe(401);
    expect(bad.body.error.code).toBe('UNAUTHENTICATED');
    const customer = await token('cust_alice', ['payments:read', 'payments:write']);
    const refused = await call('GET', '/ops/api/partners', customer);
    expect(refused.status).toBe(403);
    expect(refused.body.error).toEqual({ code: 'FORBIDDEN', message: 'Refused: this needs ops:read.' });
    const reader = await token('ops_reader', ['ops:read']);
    const write = await call('POST', '/ops/api/reconcile', reader, {});
    expect(write.status).toBe(403);
    expect(write.body.error.message).toContain('ops:write');
  });

  it('shows partner health with an hour of per-minute buckets', async () => {
    const ops = await token('ops_oncall', ['ops:read']);
    const answer = await call('GET', '/ops/api/partners', ops);
    expect(answer.status).toBe(200);
    // No partner is configured here (the browser suite sees the sandboxes'); the shape is the contract.
    expect(answer.body).toEqual({ partners: expect.any(Array) });
  });

  it('keeps sixty minutes of calls in fixed memory', () => {
    let now = Date.parse('2026-01-15T12:00:30Z');
    const series = new MinuteSeries(() => now);
    series.record(10, false);
    series.record(30, true);
    now += 60_000;
    for (let i = 1; i <= 1000; i++) series.record(i, false);
    const buckets = series.buckets();
    expect(buckets).toHaveLength(60);
    expect(buckets.at(-2)).toEqual({
      minute: new Date('2026-01-15T12:00:00Z'),
      calls: 2,
      errors: 1,
      p50Ms: 10,
      p99Ms: 30,
    });
    expect(buckets.at(-1)).toMatchObject({ calls: 1000, errors: 0 });
    expect(buckets.at(-3)).toMatchObject({ calls: 0, p50Ms: null });
    now += 60 * 60_000;
    expect(series.buckets().every((bucket) => bucket.calls === 0)).toBe(true);
  });

  it('lists webhooks dead letters first, filters, opens one with its payload', async () => {
    const ops = await token('ops_oncall', ['ops:read']);
    const all = await call('GET', '/ops/api/webhooks', ops);
    expect(all.status).toBe(200);
    expect(all.body.events.map((event: { partnerEventId: string; status: string }) => event.status)).toEqual([
      'DEAD_LETTER',
      'IGNORED',
    ]);
    const ignored = await call('GET', '/ops/api/webhooks?status=IGNORED&partner=stripe&limit=5', ops);
    expect(ignored.body.events.map((event: { partnerEventId: string }) => event.partnerEventId)).toEqual([
      'evt_b',
    ]);
    expect((await call('GET', '/ops/api/webhooks?status=nope', ops)).status).toBe(400);
    expect((await call('GET', '/ops/api/webhooks?partner=nobody', ops)).body.error.code).toBe(
      'BAD_USER_INPUT',
    );
    const dead = all.body.events[0];
    const one = await call('GET', `/ops/api/webhooks/${dead.id}`, ops);
    expect(one.body.event).toMatchObject({
      id: dead.id,
      status: 'DEAD_LETTER',
      lastError: 'PARTNER_UNAVAILABLE',
      payload: { id: 'evt_a', type: 'customer.created' },
    });
    const missing = await call('GET', '/ops/api/webhooks/00000000-0000-4000-8000-000000000000', ops);
    expect(missing.status).toBe(404);
  });

  it('replays a dead letter through the inbox operations, audited with the operator', async () => {
    const ops = await token('ops_oncall', ['ops:read', 'ops:write']);
    const [dead] = (await call('GET', '/ops/api/webhooks?status=DEAD_LETTER', ops)).body.events;
    const replayed = await call('POST', `/ops/api/webhooks/${dead.id}/replay`, ops);
    expect(replayed.status).toBe(200);
    expect(replayed.body).toMatchObject({ replayed: true, status: 'RECEIVED', event: { id: dead.id } });
    const audit = await services.db.query<{ actor: string; target: string }>(
      "SELECT actor, target FROM audit_log WHERE action = 'webhook.replayed'",
    );
    expect(audit).toEqual([{ actor: 'operator:ops_oncall', target: dead.id }]);
    await services.webhooks.worker.drain();
    const after = await call('GET', `/ops/api/webhooks/${dead.id}`, ops);
    expect(after.body.event.status).toBe('IGNORED');
  });

  it('reconciles, shows the latest run, the payments needing attention and the audit chain', async () => {
    const ops = await token('ops_oncall', ['ops:read', 'ops:write']);
    expect((await call('GET', '/ops/api/reconciliation', ops)).body).toEqual({ run: null });
    const run = await call('POST', '/ops/api/reconcile', ops, { apply: false });
    expect(run.status).toBe(200);
    expect(run.body.run).toMatchObject({ actor: 'operator:ops_oncall', apply: false });
    const latest = await call('GET', '/ops/api/reconciliation', ops);
    expect(latest.body.run.id).toBe(run.body.run.id);
    expect((await call('POST', '/ops/api/reconcile', ops, { providers: ['nobody'] })).status).toBe(400);
    const attention = await call('GET', '/ops/api/payments/attention', ops);
    expect(attention.status).toBe(200);
    expect(attention.body).toEqual({ payments: [], reconciliationRunId: run.body.run.id });
    const audit = await call('GET', '/ops/api/audit', ops);
    expect(audit.body).toMatchObject({ ok: true, entries: expect.any(Number) });
    expect(audit.body.entries).toBeGreaterThanOrEqual(2);
    expect(audit.body.head).toEqual({ seq: String(audit.body.entries), hash: expect.any(String) });
  });

  it('erases a customer through the erasure service', async () => {
    const ops = await token('ops_oncall', ['ops:read', 'ops:write']);
    expect((await call('POST', '/ops/api/erase', ops, {})).status).toBe(400);
    const erased = await call('POST', '/ops/api/erase', ops, {
      customerId: 'cust_nobody',
      reason: 'TICKET-1',
    });
    expect(erased.status).toBe(200);
    expect(erased.body.erasure.pseudonym).toMatch(/^erased-/);
  });

  it('serves the console and Chart.js from this origin with a strict CSP', async () => {
    const page = await app.fastify.inject({ method: 'GET', url: '/ops/' });
    expect(page.statusCode).toBe(200);
    expect(page.body).toContain('data-testid="login"');
    expect(page.headers['content-security-policy']).toContain("script-src 'self'");
    const chart = await app.fastify.inject({ method: 'GET', url: '/ops/vendor/chart.umd.js' });
    expect(chart.statusCode).toBe(200);
    expect((await app.fastify.inject({ method: 'GET', url: '/ops/vendor/../package.json' })).statusCode).toBe(
      404,
    );
  });
});
