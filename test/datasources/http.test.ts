import { getEventListeners } from 'node:events';
import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import { createServer as createHttpsServer } from 'node:https';
import type { AddressInfo, Socket } from 'node:net';
import type { TLSSocket } from 'node:tls';
import { pino, type Logger } from 'pino';
import { afterEach, describe, expect, it } from 'vitest';
import { z, type ZodType } from 'zod';
import {
  PartnerHttp,
  retryAfterSeconds,
  type CallPolicy,
  type PartnerHttpOptions,
  type PartnerRequest,
} from '../../datasources/http.js';
import { PartnerError } from '../../domain/errors.js';
import { generateTlsMaterial } from '../../sandboxes/certs.js';

type Handler = (req: IncomingMessage, res: ServerResponse, body: string) => void;
const cleanups: Array<() => Promise<void>> = [];
afterEach(async () => {
  while (cleanups.length > 0) await cleanups.pop()?.();
});

async function loopback(handler: Handler) {
  const sockets = new Set<Socket>();
  const server: Server = createServer((req, res) => {
    const chunks: Buffer[] = [];
    req.on('data', (chunk: Buffer) => chunks.push(chunk));
    req.on('end', () => handler(req, res, Buffer.concat(chunks).toString('utf8')));
  });
  server.on('connection', (socket) => sockets.add(socket));
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const { port } = server.address() as AddressInfo;
  const close = async () => {
    server.closeAllConnections();
    await new Promise<void>((resolve) => server.close(() => resolve()));
  };
  cleanups.push(close);
  return { url: `http://127.0.0.1:${port}`, sockets, close };
}

function capture(): { logger: Logger; lines: Array<Record<string, unknown>> } {
  const lines: Array<Record<string, unknown>> = [];
  const logger = pino({ level: 'debug' }, { write: (line: string) => lines.push(JSON.parse(line)) });
  return { logger, lines };
}

function client(url: string, extra: Partial<PartnerHttpOptions> = {}): PartnerHttp {
  const http = new PartnerHttp({
    partner: 'openbanking',
    baseUrl: `${url}/api`,
    logger: capture().logger,
    correlationHeader: 'x-fapi-interaction-id',
    errorFromResponse: (status) => new Error(`HTTP ${status}`),
    ...extra,
  });
  cleanups.push(() => http.close());
  return http;
}

const echoSchema = z.object({ url: z.string(), body: z.string(), headers: z.record(z.string(), z.any()) });
const echo: Handler = (req, res, body) => {
  res.writeHead(200, { 'content-type': 'application/json' });
  res.end(JSON.stringify({ method: req.method, url: req.url, headers: req.headers, body }));
};

const failure = (p: Promise<unknown>) =>
  p.then(
    () => Promise.reject(new Error('no failure')),
    (e: unknown) => e,
  );

function get<T = unknown>(http: PartnerHttp, extra: Partial<PartnerRequest<T>> = {}) {
  return http.request<T>({
    method: 'GET',
    path: '/thing',
    endpoint: 'GET /thing',
    correlationId: 'corr-1',
    schema: z.unknown() as ZodType<T>,
    ...extra,
  });
}

describe('PartnerHttp', () => {
  it('sends the correlation id in the partner header, resolves paths under the base URL and returns typed data', async () => {
    const server = await loopback(echo);
    const http = client(server.url);
    const query = { page: '2', skipped: undefined };
    const res = await get(http, { path: '/accounts', correlationId: 'abc-123', query, schema: echoSchema });
    expect(res.status).toBe(200);
    expect(res.data.url).toBe('/api/accounts?page=2');
    expect(res.data.headers['x-fapi-interaction-id']).toBe('abc-123');
    expect(res.data.headers.accept).toBe('application/json');
  });

  it('sends JSON and form-encoded bodies with their content types', async () => {
    const server = await loopback(echo);
    const http = client(server.url);
    const base = { method: 'POST', path: '/x', endpoint: 'POST /x', correlationId: 'c', schema: echoSchema };
    const asJson = await http.request({ ...base, method: 'POST', json: { a: 1 } });
    expect(asJson.data.headers['content-type']).toBe('application/json');
    expect(asJson.data.body).toBe('{"a":1}');
    const asForm = await http.request({
      ...base,
      method: 'POST',
      form: { grant_type: 'x', scope: 'a b', none: undefined },
    });
    expect(asForm.data.headers['content-type']).toBe('application/x-www-form-urlencoded');
    expect(asForm.data.body).toBe('grant_type=x&scope=a+b');
  });

  it('asks the auth hook for headers on every attempt, and a request can replace or drop it', async () => {
    const server = await loopback(echo);
    let calls = 0;
    const http = client(server.url, { auth: () => ({ authorization: `Bearer t${++calls}` }) });
    expect((await get(http, { schema: echoSchema })).data.headers.authorization).toBe('Bearer t1');
    expect((await get(http, { schema: echoSchema })).data.headers.authorization).toBe('Bearer t2');
    const custom = await get(http, { schema: echoSchema, auth: () => ({ authorization: 'Basic x' }) });
    expect(custom.data.headers.authorization).toBe('Basic x');
    expect((await get(http, { schema: echoSchema, auth: null })).data.headers.authorization).toBeUndefined();
  });

  it('logs one line per call with partner, endpoint, status, ms and correlation id, and no headers or tokens', async () => {
    const server = await loopback(echo);
    const { logger, lines } = capture();
    const http = client(server.url, { logger, auth: () => ({ authorization: 'Bearer secret-token-value' }) });
    await get(http, { correlationId: 'corr-log' });
    expect(lines).toHaveLength(1);
    expect(lines[0]).toMatchObject({ partner: 'openbanking', endpoint: 'GET /thing', status: 200 });
    expect(lines[0]?.correlationId).toBe('corr-log');
    expect(typeof lines[0]?.ms).toBe('number');
    expect(JSON.stringify(lines)).not.toContain('secret-token-value');
    expect(JSON.stringify(lines)).not.toContain('x-fapi-interaction-id');
  });

  it('maps a non-2xx answer through errorFromResponse with status, headers, body and endpoint', async () => {
    const server = await loopback((_req, res) => {
      res.setHeader('X-Also', ['short', 'stout']);
      res.writeHead(418, { 'x-why': 'teapot' });
      res.end('short and stout');
    });
    const seen: unknown[] = [];
    const http = client(server.url, {
      errorFromResponse: (status, headers, body, info) => {
        seen.push({ status, why: headers['x-why'], also: headers['x-also'], body, endpoint: info.endpoint });
        return new Error('mapped');
      },
    });
    const error = await failure(get(http));
    expect((error as Error).message).toBe('mapped');
    expect(seen).toEqual([
      { status: 418, why: 'teapot', also: 'short, stout', body: 'short and stout', endpoint: 'GET /thing' },
    ]);
  });

  it('treats malformed JSON as a contract violation', async () => {
    const server = await loopback((_req, res) => res.end('{"Data": <html>'));
    const error = await failure(get(client(server.url)));
    expect(error).toBeInstanceOf(PartnerError);
    expect(error).toMatchObject({ code: 'PARTNER_CONTRACT_VIOLATION', retryable: false });
  });

  it('reports every failing path of a schema violation and logs them', async () => {
    const body = JSON.stringify({ items: [{ id: 'a' }, { id: 7 }, {}] });
    const server = await loopback((_req, res) => res.end(body));
    const { logger, lines } = capture();
    const schema = z.object({ items: z.array(z.object({ id: z.string() })) });
    const error = (await failure(get(client(server.url, { logger }), { schema }))) as PartnerError;
    expect(error.code).toBe('PARTNER_CONTRACT_VIOLATION');
    expect(error.issues?.map((issue) => issue.split(':')[0])).toEqual(['items[1].id', 'items[2].id']);
    const logged = lines.find((line) => line.msg === 'Partner response breaks its contract.');
    expect(logged).toMatchObject({ partner: 'openbanking', endpoint: 'GET /thing' });
  });

  it('times out when the partner sends no headers, and when the body stalls after them', async () => {
    const silent = await loopback(() => undefined);
    const noHeaders = await failure(get(client(silent.url, { timeouts: { headersMs: 150 } })));
    expect(noHeaders).toMatchObject({ code: 'PARTNER_TIMEOUT', retryable: true });
    const stalling = await loopback((_req, res) => (res.writeHead(200), res.write('{"partial":')));
    const stalled = await failure(get(client(stalling.url, { timeouts: { bodyMs: 150 } })));
    expect(stalled).toMatchObject({ code: 'PARTNER_TIMEOUT', retryable: true });
  });

  it('bounds a whole attempt by the total deadline even when bytes keep trickling', async () => {
    const server = await loopback((_req, res) => {
      res.writeHead(200);
      const timer = setInterval(() => res.write(' '), 20);
      res.on('close', () => clearInterval(timer));
    });
    const started = Date.now();
    const error = await failure(get(client(server.url, { timeouts: { bodyMs: 1_000, totalMs: 300 } })));
    expect(error).toMatchObject({ code: 'PARTNER_TIMEOUT' });
    expect(Date.now() - started).toBeLessThan(3_000);
  });

  it('aborts an oversized body while it is still streaming', async () => {
    let written = 0;
    let markClosed: (early: boolean) => void = () => undefined;
    const closed = new Promise<boolean>((resolve) => (markClosed = resolve));
    const server = await loopback((_req, res) => {
      res.writeHead(200, { 'content-type': 'application/json' });
      const chunk = Buffer.alloc(64 * 1024, 'a');
      const pump = () => {
        while (written < 64 * 1024 * 1024) {
          written += chunk.length;
          if (!res.write(chunk)) return void res.once('drain', pump);
        }
        res.end();
      };
      res.on('close', () => markClosed(written < 64 * 1024 * 1024));
      pump();
    });
    const error = await failure(get(client(server.url, { maxResponseBytes: 256 * 1024 })));
    expect(error).toMatchObject({ code: 'PARTNER_CONTRACT_VIOLATION' });
    expect((error as PartnerError).issues?.[0]).toContain('exceeds 262144 bytes');
    // The server sees the connection close: early, long before the whole body was written.
    expect(await closed).toBe(true);
    expect(written).toBeLessThan(16 * 1024 * 1024);
  });

  it('refuses a declared oversized body before reading it', async () => {
    const huge = { 'content-length': String(10 * 1024 * 1024) };
    const server = await loopback((_req, res) => (res.writeHead(200, huge), res.write('x')));
    const error = await failure(get(client(server.url, { maxResponseBytes: 1024 })));
    expect(error).toMatchObject({ code: 'PARTNER_CONTRACT_VIOLATION' });
  });

  it('maps a connection reset and a refused connection to a retryable PARTNER_UNAVAILABLE', async () => {
    const resetting = await loopback((req) => req.socket.destroy());
    expect(await failure(get(client(resetting.url)))).toMatchObject({
      code: 'PARTNER_UNAVAILABLE',
      retryable: true,
    });
    const closed = await loopback(echo);
    await closed.close();
    expect(await failure(get(client(closed.url)))).toMatchObject({
      code: 'PARTNER_UNAVAILABLE',
      retryable: true,
    });
  });

  it('never follows a redirect', async () => {
    let followed = 0;
    const server = await loopback((req, res) => {
      if (req.url?.startsWith('/elsewhere')) followed++;
      res.writeHead(302, { location: '/elsewhere' });
      res.end();
    });
    const error = await failure(get(client(server.url)));
    expect(error).toMatchObject({ code: 'PARTNER_CONTRACT_VIOLATION', status: 302 });
    expect(followed).toBe(0);
  });

  it('refuses to send a request to a link on another origin', async () => {
    let calls = 0;
    const server = await loopback((_req, res) => (calls++, res.end('{}')));
    const error = await failure(get(client(server.url), { path: 'http://127.0.0.2:9/steal' }));
    expect(error).toMatchObject({ code: 'PARTNER_CONTRACT_VIOLATION' });
    expect(calls).toBe(0);
  });

  it('runs every attempt through the policy: a retry recovers from a reset, an abort is a timeout', async () => {
    let requests = 0;
    const server = await loopback((req, res) => {
      if (++requests === 1) return void req.socket.destroy();
      echo(req, res, '');
    });
    let executions = 0;
    const retryOnce: CallPolicy = {
      async execute(fn) {
        executions++;
        try {
          return await fn(new AbortController().signal);
        } catch (error) {
          if (error instanceof PartnerError && error.retryable) return fn(new AbortController().signal);
          throw error;
        }
      },
    };
    const res = await get(client(server.url, { policy: retryOnce }), { schema: echoSchema });
    expect(res.status).toBe(200);
    expect(executions).toBe(1);
    expect(requests).toBe(2);
    const deadline: CallPolicy = { execute: (fn) => fn(AbortSignal.timeout(100)) };
    const silent = await loopback(() => undefined);
    expect(await failure(get(client(silent.url, { policy: deadline })))).toMatchObject({
      code: 'PARTNER_TIMEOUT',
    });
  });

  it('does not blame the partner when the caller aborts', async () => {
    const server = await loopback(() => undefined);
    const controller = new AbortController();
    setTimeout(() => controller.abort(new Error('client went away')), 50);
    const error = await failure(get(client(server.url), { signal: controller.signal }));
    expect(error).not.toBeInstanceOf(PartnerError);
    expect((error as Error).message).toBe('client went away');
  });

  it('presents its client certificate on every new connection over mutual TLS', async () => {
    const material = await generateTlsMaterial({ label: 'PartnerHttp test' });
    const presented: string[] = [];
    const server = createHttpsServer(
      { ...material.server, ca: material.ca, requestCert: true, rejectUnauthorized: true },
      (req, res) => {
        const socket = req.socket as TLSSocket;
        presented.push(String(socket.getPeerCertificate().subject?.CN));
        // Closing after each answer makes the pool open a new connection for the next request.
        res.writeHead(200, { 'content-type': 'application/json', connection: 'close' });
        res.end('{}');
      },
    );
    await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
    cleanups.push(() => new Promise<void>((resolve) => server.close(() => resolve())));
    const { port } = server.address() as AddressInfo;
    const http = client(`https://127.0.0.1:${port}`, {
      tls: { ca: material.ca, ...material.client, servername: 'localhost' },
    });
    for (let i = 0; i < 3; i++) expect((await get(http)).status).toBe(200);
    expect(presented).toHaveLength(3);
    expect(new Set(presented)).toEqual(new Set([presented[0]]));
    expect(presented[0]).not.toBe('undefined');
  });

  it("leaves no listener on the caller's signal once an attempt settles, answered or failed", async () => {
    const server = await loopback((req, res, body) => {
      if (req.url?.includes('fail')) return void req.socket.destroy();
      echo(req, res, body);
    });
    const http = client(server.url);
    const request = new AbortController();
    for (let i = 0; i < 5; i++) await get(http, { signal: request.signal });
    await failure(get(http, { path: '/fail', signal: request.signal }));
    expect(getEventListeners(request.signal, 'abort')).toHaveLength(0);
  });

  it('keeps connections alive and never opens more than the connection cap', async () => {
    const server = await loopback((req, res, body) => setTimeout(() => echo(req, res, body), 50));
    const http = client(server.url, { connections: 2 });
    await Promise.all(Array.from({ length: 8 }, () => get(http)));
    await get(http);
    expect(server.sockets.size).toBeLessThanOrEqual(2);
  });
});

describe('retryAfterSeconds', () => {
  it('reads Retry-After as delta-seconds or as an HTTP date, and nothing else', () => {
    expect(retryAfterSeconds({ 'retry-after': '3' })).toBe(3);
    expect(retryAfterSeconds({ 'retry-after': ' 7 ' })).toBe(7);
    expect(retryAfterSeconds({ 'retry-after': new Date(10_000).toUTCString() }, 4_000)).toBe(6);
    expect(retryAfterSeconds({ 'retry-after': new Date(1_000).toUTCString() }, 4_000)).toBe(0);
    expect(retryAfterSeconds({ 'retry-after': 'soon' })).toBeUndefined();
    expect(retryAfterSeconds({ 'retry-after': ['3'] })).toBeUndefined();
    expect(retryAfterSeconds({})).toBeUndefined();
    expect(retryAfterSeconds(undefined)).toBeUndefined();
  });
});
