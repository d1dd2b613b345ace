import { afterEach, beforeEach, describe, expect, it, vi } from 'vitest';
import { json, Ledger, Router, startSandbox, type SandboxHandle } from '../../sandboxes/kit/sandbox.js';

let sandbox: SandboxHandle;
const ledger = new Ledger();

beforeEach(async () => {
  const router = new Router()
    .on('GET', '/v1/items/{id}', (req) => json(200, { id: req.params.id, name: 'widget', price: '1.00' }))
    .on('POST', '/v1/payments', () => {
      ledger.recordMovement({
        id: 'pay_1',
        kind: 'payment',
        amount: '12.30',
        currency: 'GBP',
        at: '2025-03-14T12:00:00Z',
      });
      return json(201, { id: 'pay_1' });
    })
    .on('POST', '/__sandbox/approve', () => json(200, { approved: true }));
  sandbox = await startSandbox({
    name: 'toy',
    router,
    ledger,
    errorReply: (status) => json(status, { error: { type: 'toy_error', status } }),
    corrupt: (body) => ({ ...(body as object), id: 42 }),
    responseHeaders: () => ({ 'x-toy': 'yes' }),
  });
});

afterEach(async () => {
  ledger.reset();
  await sandbox.close();
});

const get = (path: string, init?: RequestInit) => fetch(`${sandbox.url}${path}`, init);
const control = (method: string, path: string, body?: unknown) =>
  fetch(`${sandbox.url}/__sandbox/${path}`, {
    method,
    headers: { 'content-type': 'application/json' },
    ...(body === undefined ? {} : { body: JSON.stringify(body) }),
  });

describe('sandbox kit', () => {
  it("notes the trace of each request and counts requests without the partner's correlation header", async () => {
    const own = new Ledger();
    const strict = await startSandbox({
      name: 'strict',
      router: new Router().on('GET', '/v1/ping', () => json(200, { ok: true })),
      ledger: own,
      correlationHeader: 'x-toy-interaction-id',
    });
    try {
      const traceId = '4bf92f3577b34da6a3ce929d0e0e4736';
      await fetch(`${strict.url}/v1/ping`, {
        headers: { 'x-toy-interaction-id': 'i-1', traceparent: `00-${traceId}-00f067aa0ba902b7-01` },
      });
      await fetch(`${strict.url}/v1/ping`, { headers: { traceparent: 'not-a-traceparent' } });
      expect(strict.ledger()).toMatchObject({
        requests: { 'GET /v1/ping': 2 },
        traceIds: [traceId],
        uncorrelated: { 'GET /v1/ping': 1 },
      });
    } finally {
      await strict.close();
    }
  });

  it('routes templates, counts requests per route template and adds the partner headers', async () => {
    const res = await get('/v1/items/abc');
    expect(await res.json()).toEqual({ id: 'abc', name: 'widget', price: '1.00' });
    expect(res.headers.get('x-toy')).toBe('yes');
    await get('/v1/items/def');
    await get('/v1/payments', { method: 'POST' });
    expect((await get('/v1/nothing')).status).toBe(404);
    expect((await get('/v1/payments')).status).toBe(405);
    expect(sandbox.ledger()).toEqual({
      requests: { 'GET /v1/items/{id}': 2, 'POST /v1/payments': 1 },
      movements: [
        { id: 'pay_1', kind: 'payment', amount: '12.30', currency: 'GBP', at: '2025-03-14T12:00:00Z' },
      ],
      traceIds: [],
      uncorrelated: {},
      events: [
        'GET /v1/items/{id}',
        'GET /v1/items/{id} answered',
        'GET /v1/items/{id}',
        'GET /v1/items/{id} answered',
        'POST /v1/payments',
        'POST /v1/payments answered',
      ],
    });
  });

  it('serves the ledger over HTTP and never counts control routes', async () => {
    await get('/v1/items/a');
    await control('POST', 'approve');
    const res = await control('GET', 'ledger');
    expect(await res.json()).toEqual({
      requests: { 'GET /v1/items/{id}': 1 },
      movements: [],
      traceIds: [],
      uncorrelated: {},
      events: ['GET /v1/items/{id}', 'GET /v1/items/{id} answered'],
    });
  });

  it('configures faults over HTTP, rejects invalid rules, and clears them', async () => {
    expect((await control('POST', 'faults', [{ kind: 'explode' }])).status).toBe(400);
    const set = await control('POST', 'faults', [
      { match: 'GET /v1/items/{id}', kind: 'status', status: 503 },
    ]);
    expect(set.status).toBe(200);
    const failed = await get('/v1/items/a');
    expect(failed.status).toBe(503);
    expect(await failed.json()).toEqual({ error: { type: 'toy_error', status: 503 } });
    expect((await get('/v1/payments', { method: 'POST' })).status).toBe(201);
    await control('DELETE', 'faults');
    expect((await get('/v1/items/a')).status).toBe(200);
  });

  it('applies a rule only as many times as asked, and matches by template or path prefix', async () => {
    sandbox.setFaults([{ match: '/v1/items/{id}', kind: 'status', status: 500, times: 2 }]);
    const statuses = [];
    for (let i = 0; i < 3; i++) statuses.push((await get('/v1/items/a')).status);
    expect(statuses).toEqual([500, 500, 200]);
    sandbox.setFaults([{ match: '/v1/', kind: 'status', times: 1 }]);
    expect((await get('/v1/payments', { method: 'POST' })).status).toBe(500);
    sandbox.setFaults([{ match: 'POST /v1/pay', kind: 'status', status: 502 }]);
    expect((await get('/v1/items/a')).status).toBe(200);
    expect((await get('/v1/payments', { method: 'POST' })).status).toBe(502);
  });

  it('answers 429 with Retry-After for rate_limit, and delays for latency', async () => {
    sandbox.setFaults([
      { kind: 'latency', ms: 150 },
      { kind: 'rate_limit', retryAfter: 9 },
    ]);
    const started = Date.now();
    const res = await get('/v1/items/a');
    expect(Date.now() - started).toBeGreaterThanOrEqual(140);
    expect(res.status).toBe(429);
    expect(res.headers.get('retry-after')).toBe('9');
  });

  it('holds a latency rule with `until` only until the named routes have arrived', async () => {
    // The wait is far longer than the test may take: only the payment's arrival can release the item.
    sandbox.setFaults([
      { match: 'GET /v1/items/{id}', kind: 'latency', ms: 600_000, until: ['POST /v1/payments'] },
    ]);
    const held = get('/v1/items/a');
    await vi.waitFor(() => expect(sandbox.ledger().requests['GET /v1/items/{id}']).toBe(1), {
      timeout: 10_000,
    });
    expect((await get('/v1/payments', { method: 'POST' })).status).toBe(201);
    expect((await held).status).toBe(200);
    expect(sandbox.ledger().events).toEqual([
      'GET /v1/items/{id}',
      'POST /v1/payments',
      'POST /v1/payments answered',
      'GET /v1/items/{id} answered',
    ]);
    // The payment has arrived since the rule was set: a later request under it is not held.
    expect((await get('/v1/items/b')).status).toBe(200);
  });

  it('breaks payloads: malformed JSON, a partner-specific contract violation, a truncated body', async () => {
    sandbox.setFaults([{ kind: 'malformed', times: 1 }]);
    const malformed = await get('/v1/items/a');
    expect(malformed.status).toBe(200);
    await expect(malformed.json()).rejects.toThrow();
    sandbox.setFaults([{ kind: 'contract', times: 1 }]);
    expect(await (await get('/v1/items/a')).json()).toEqual({ id: 42, name: 'widget', price: '1.00' });
    sandbox.setFaults([{ kind: 'truncate', times: 1 }]);
    await expect(get('/v1/items/a').then((res) => res.text())).rejects.toThrow();
  });

  it('resets or hangs the connection on demand, and still closes cleanly', async () => {
    sandbox.setFaults([{ kind: 'reset', times: 1 }]);
    await expect(get('/v1/items/a')).rejects.toThrow();
    sandbox.setFaults([{ kind: 'hang', times: 1 }]);
    await expect(get('/v1/items/a', { signal: AbortSignal.timeout(200) })).rejects.toThrow();
    expect(sandbox.ledger().requests['GET /v1/items/{id}']).toBe(2);
  });

  it('clears ledger and faults with POST /__sandbox/reset', async () => {
    sandbox.setFaults([{ kind: 'status' }]);
    await get('/v1/payments', { method: 'POST' });
    expect((await control('POST', 'reset')).status).toBe(204);
    expect(sandbox.ledger()).toEqual({
      requests: {},
      movements: [],
      traceIds: [],
      uncorrelated: {},
      events: [],
    });
    expect((await get('/v1/items/a')).status).toBe(200);
  });
});
