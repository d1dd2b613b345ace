/**
 * Deadlines and refusals at the HTTP layer, over real sockets: a body trickled a byte a second, a
 * stalled webhook body, headers that never end, an unknown path, a webhook over its size limit, and
 * the persisted-query protocol's own codes.
 */
import { connect, type Socket } from 'node:net';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startTestApp, type TestApp } from '../helpers/app.js';

let app: TestApp;
let port: number;
beforeAll(async () => {
  app = await startTestApp({
    seed: false,
    env: {
      HTTP_HEADERS_TIMEOUT_MS: '1000',
      HTTP_REQUEST_TIMEOUT_MS: '2000',
      HTTP_WEBHOOK_BODY_TIMEOUT_MS: '1000',
      LIMIT_WEBHOOK_BODY_BYTES: '1024',
    },
  });
  port = Number(new URL(app.url).port);
}, 120_000);
afterAll(() => app?.close());

/** Opens a raw connection and collects what the server sends until it closes the connection. */
function rawConnection(): Promise<{ socket: Socket; closed: Promise<string> }> {
  return new Promise((resolve, reject) => {
    const socket = connect(port, '127.0.0.1', () => {
      let received = '';
      socket.on('data', (chunk: Buffer) => (received += chunk.toString('utf8')));
      const closed = new Promise<string>((done) => socket.on('close', () => done(received)));
      resolve({ socket, closed });
    });
    socket.on('error', reject);
  });
}

describe('connection deadlines', () => {
  it('answers a stalled webhook body 408 in the error shape and closes the connection', async () => {
    const { socket, closed } = await rawConnection();
    const started = Date.now();
    socket.write(
      'POST /webhooks/stripe HTTP/1.1\r\nHost: x\r\nContent-Type: application/json\r\nContent-Length: 100\r\n\r\n{',
    );
    const answer = await closed;
    expect(answer).toMatch(/^HTTP\/1\.1 408/);
    expect(answer).toContain('"code":"REQUEST_TIMEOUT"');
    expect(answer).toMatch(/"correlationId":"[^"]+"/);
    expect(Date.now() - started).toBeLessThan(10_000);
  }, 20_000);

  it('cuts a GraphQL body trickled a byte a second at the request deadline (408 in the error shape)', async () => {
    const { socket, closed } = await rawConnection();
    const body = JSON.stringify({ query: '{ consents { id } }' });
    socket.write(
      `POST /graphql HTTP/1.1\r\nHost: x\r\nContent-Type: application/json\r\nContent-Length: ${body.length}\r\n\r\n`,
    );
    let sent = 0;
    const trickle = setInterval(() => {
      if (sent < body.length && !socket.destroyed) socket.write(body[sent++]!);
    }, 1_000);
    try {
      const answer = await closed;
      expect(answer).toMatch(/^HTTP\/1\.1 408/);
      expect(answer).toContain('"code":"REQUEST_TIMEOUT"');
      expect(sent).toBeLessThan(body.length);
    } finally {
      clearInterval(trickle);
    }
  }, 20_000);

  it('closes a connection whose headers never end (slowloris)', async () => {
    const { socket, closed } = await rawConnection();
    socket.write('GET /healthz HTTP/1.1\r\nHost: x\r\nX-Slow: ');
    const keepTalking = setInterval(() => {
      if (!socket.destroyed) socket.write('a');
    }, 300);
    try {
      const answer = await closed;
      expect(answer === '' || /^HTTP\/1\.1 408/.test(answer)).toBe(true);
    } finally {
      clearInterval(keepTalking);
    }
  }, 20_000);
});

describe('HTTP refusals in the documented shape', () => {
  it('answers an unknown path 404 with a code and a correlation id', async () => {
    const response = await fetch(`${app.url}/no/such/path`);
    expect(response.status).toBe(404);
    const body = (await response.json()) as { errors: { extensions: Record<string, unknown> }[] };
    expect(body.errors[0]?.extensions).toMatchObject({
      code: 'NOT_FOUND',
      correlationId: expect.any(String),
    });
  });

  it('answers a webhook over its size limit 413 in the same shape', async () => {
    const response = await fetch(`${app.url}/webhooks/stripe`, {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: JSON.stringify({ padding: 'x'.repeat(4096) }),
    });
    expect(response.status).toBe(413);
    const body = (await response.json()) as { errors: { extensions: Record<string, unknown> }[] };
    expect(body.errors[0]?.extensions).toMatchObject({ correlationId: expect.any(String) });
    expect(typeof body.errors[0]?.extensions.code).toBe('string');
  });

  it('answers the persisted-query protocol with its own codes, never INTERNAL_SERVER_ERROR', async () => {
    const post = async (body: unknown) => {
      const response = await fetch(`${app.url}/graphql`, {
        method: 'POST',
        headers: {
          'content-type': 'application/json',
          authorization: `Bearer ${await app.token('cust_alice')}`,
        },
        body: JSON.stringify(body),
      });
      return ((await response.json()) as { errors?: { extensions?: { code?: string } }[] }).errors?.[0]
        ?.extensions?.code;
    };
    const hash = 'a'.repeat(64);
    expect(await post({ extensions: { persistedQuery: { version: 1, sha256Hash: hash } } })).toBe(
      'PERSISTED_QUERY_NOT_FOUND',
    );
    expect(
      await post({
        query: '{ consents { id } }',
        extensions: { persistedQuery: { version: 1, sha256Hash: hash } },
      }),
    ).toBe('PERSISTED_QUERY_INVALID');
    expect(
      await post({
        query: '{ consents { id } }',
        extensions: { persistedQuery: { version: 2, sha256Hash: hash } },
      }),
    ).toBe('PERSISTED_QUERY_INVALID');
  });

  it('sends the API security headers', async () => {
    const response = await fetch(`${app.url}/healthz`);
    expect(response.headers.get('x-content-type-options')).toBe('nosniff');
    expect(response.headers.get('x-frame-options')).toBe('DENY');
    expect(response.headers.get('referrer-policy')).toBe('no-referrer');
  });
});
