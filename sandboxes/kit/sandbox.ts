/**
 * Shared plumbing of every partner sandbox: a node:http server around a Router, a request ledger,
 * run-time fault injection and the `/__sandbox/*` control routes. A partner sandbox supplies its
 * routes and, for faults, how its own errors look and how to break its own payloads.
 *
 * Control routes (never counted, never faulted):
 *   POST   /__sandbox/faults  list of FaultRule (replaces the current list)
 *   DELETE /__sandbox/faults  clears the rules
 *   GET    /__sandbox/ledger  request counts per route and money movements
 *   POST   /__sandbox/reset   clears ledger and faults
 * Partner-specific control routes (e.g. /__sandbox/authorise) are registered on the partner router.
 */
import {
  createServer,
  type IncomingMessage,
  type RequestListener,
  type Server,
  type ServerResponse,
} from 'node:http';
import type { AddressInfo } from 'node:net';
import { setTimeout as sleep } from 'node:timers/promises';
import { faultRulesSchema, Faults, type FaultRule } from './faults.js';
import { Ledger, type LedgerSnapshot } from './ledger.js';
import {
  BodyError,
  json,
  readJson,
  replyBody,
  type Reply,
  type Router,
  type SandboxRequest,
} from './router.js';

export * from './faults.js';
export * from './ledger.js';
export * from './router.js';
export * from './webhooks.js';

/** What a partner sandbox plugs into the kit. */
export interface SandboxOptions {
  /** For messages only, e.g. "openbanking". */
  name: string;
  router: Router;
  /** 0 (default) picks a free port. */
  port?: number;
  host?: string;
  /** Shared with the partner's handlers so they can record money movements. */
  ledger?: Ledger;
  /** Breaks a valid JSON payload the partner's way, for the `contract` fault. */
  corrupt?: (body: unknown, req: SandboxRequest) => unknown;
  /**
   * Signs an answer: the headers to add (e.g. a detached JWS over the exact body bytes), or null to
   * leave this answer unsigned. Runs last, on the body as it is sent (after a `contract` fault).
   */
  sign?: (req: SandboxRequest, reply: Reply, body: Buffer) => Promise<Record<string, string> | null>;
  /** Changes a signed JSON payload the partner's way, for the `tamper` fault (default: one byte added). */
  tamper?: (body: unknown, req: SandboxRequest) => unknown;
  /** The partner's error answer for an injected status (429 included). */
  errorReply?: (status: number, req: SandboxRequest) => Reply;
  /**
   * The header the partner asks on every call (e.g. x-fapi-interaction-id); the ledger counts the
   * requests that come without it.
   */
  correlationHeader?: string;
  /** Headers added to every answer of a partner route (e.g. x-fapi-interaction-id). */
  responseHeaders?: (req: SandboxRequest) => Record<string, string>;
  /** The answer for an unknown route; methodAllowed false means another method exists (405). */
  notFound?: (req: SandboxRequest, methodAllowed: boolean) => Reply;
  /** The answer when a handler throws. */
  onError?: (error: unknown, req: SandboxRequest) => Reply;
  /** Called by POST /__sandbox/reset after ledger and faults are cleared. */
  onReset?: () => void;
  /** The one place a server is created; mutual TLS will swap in an https server here. */
  createServer?: (listener: RequestListener) => Server;
  protocol?: 'http' | 'https';
  /** Request body cap. Default 1 MiB. */
  maxBodyBytes?: number;
}

/** A started sandbox, usable in-process by tests. */
export interface SandboxHandle {
  url: string;
  port: number;
  close(): Promise<void>;
  /**
   * Takes the partner off the network, keeping its state: open connections are cut and new ones are
   * refused (ECONNREFUSED) until `up`, which listens on the same port again.
   */
  down(): Promise<void>;
  up(): Promise<void>;
  ledger(): LedgerSnapshot;
  resetLedger(): void;
  setFaults(rules: readonly FaultRule[]): void;
  /**
   * Resolves once no request is being answered (a delayed or slow one included), so a test can wait for
   * the partner to finish instead of sleeping; rejects after `timeoutMs`.
   */
  idle(timeoutMs?: number): Promise<void>;
}

/** Starts a sandbox on loopback and resolves once it listens. */
export async function startSandbox(options: SandboxOptions): Promise<SandboxHandle> {
  const ledger = options.ledger ?? new Ledger();
  const faults = new Faults();
  const protocol = options.protocol ?? 'http';
  let inFlight = 0;
  let onIdle: (() => void)[] = [];
  const listener: RequestListener = (req, res) => {
    inFlight += 1;
    handle(options, ledger, faults, protocol, req, res)
      .catch((error: unknown) => {
        if (!res.headersSent) res.writeHead(500, { 'content-type': 'application/json' });
        res.end(JSON.stringify({ error: 'sandbox failure', message: String(error) }));
      })
      .finally(() => {
        inFlight -= 1;
        if (inFlight === 0) for (const resolve of onIdle.splice(0)) resolve();
      });
  };
  const server = (options.createServer ?? createServer)(listener);
  const listen = (at: number) =>
    new Promise<void>((resolve, reject) => {
      server.once('error', reject);
      server.listen(at, options.host ?? '127.0.0.1', () => {
        server.off('error', reject);
        resolve();
      });
    });
  const stop = async () => {
    if (!server.listening) return;
    // Hung requests would otherwise keep close() waiting forever.
    server.closeAllConnections();
    await new Promise<void>((resolve) => server.close(() => resolve()));
  };
  await listen(options.port ?? 0);
  const { port } = server.address() as AddressInfo;
  return {
    url: `${protocol}://${options.host ?? '127.0.0.1'}:${port}`,
    port,
    close: stop,
    down: stop,
    up: () => (server.listening ? Promise.resolve() : listen(port)),
    ledger: () => ledger.snapshot(),
    resetLedger: () => ledger.reset(),
    setFaults: (rules) => faults.set(rules),
    idle: (timeoutMs = 30_000) =>
      inFlight === 0
        ? Promise.resolve()
        : new Promise<void>((resolve, reject) => {
            const timer = setTimeout(() => {
              onIdle = onIdle.filter((waiter) => waiter !== done);
              reject(new Error(`sandbox still answering ${inFlight} request(s) after ${timeoutMs} ms`));
            }, timeoutMs);
            const done = () => {
              clearTimeout(timer);
              resolve();
            };
            onIdle.push(done);
          }),
  };
}

async function handle(
  options: SandboxOptions,
  ledger: Ledger,
  faults: Faults,
  protocol: string,
  req: IncomingMessage,
  res: ServerResponse,
): Promise<void> {
  const method = (req.method ?? 'GET').toUpperCase();
  const origin = `${protocol}://${req.headers.host ?? '127.0.0.1'}`;
  const url = new URL(req.url ?? '/', origin);
  const sreq: SandboxRequest = {
    method,
    path: url.pathname,
    url,
    origin,
    route: null,
    params: {},
    query: url.searchParams,
    headers: req.headers,
    rawBody: Buffer.alloc(0),
    header: (name) => {
      const value = req.headers[name.toLowerCase()];
      return Array.isArray(value) ? value.join(', ') : value;
    },
  };
  try {
    sreq.rawBody = await readBody(req, options.maxBodyBytes ?? 1024 * 1024);
  } catch {
    send(res, json(413, { error: 'request body too large' }));
    return;
  }
  const control = url.pathname.startsWith('/__sandbox/');
  if (control && (await handleControl(options, ledger, faults, sreq, res))) return;

  const found = options.router.match(method, url.pathname);
  if (!found.route) {
    const reply = options.notFound?.(sreq, found.methodAllowed) ?? json(found.methodAllowed ? 404 : 405, {});
    send(res, withHeaders(options, sreq, reply));
    return;
  }
  sreq.route = found.route.template;
  sreq.params = found.params;
  if (control) {
    send(res, await run(options, sreq, found.route.handler));
    return;
  }

  const traceparent = req.headers.traceparent;
  const correlated = !options.correlationHeader || req.headers[options.correlationHeader] !== undefined;
  const key = `${method} ${found.route.template}`;
  ledger.count(key, typeof traceparent === 'string' ? traceparent : undefined, correlated);
  faults.arrive(method, found.route.template, url.pathname);
  const { latencyMs, released, fault } = faults.take(method, found.route.template, url.pathname);
  if (latencyMs > 0) await delay(latencyMs, released);
  if (fault?.kind === 'hang') return;
  if (fault?.kind === 'reset') {
    req.socket.destroy();
    return;
  }
  let reply: Reply;
  if (fault?.kind === 'status' || fault?.kind === 'rate_limit') {
    const status = fault.kind === 'rate_limit' ? 429 : (fault.status ?? 500);
    reply = options.errorReply?.(status, sreq) ?? json(status, { error: 'injected fault' });
    if (fault.kind === 'rate_limit')
      reply.headers = { ...reply.headers, 'retry-after': String(fault.retryAfter ?? 1) };
  } else {
    reply = await run(options, sreq, found.route.handler);
  }
  if (fault?.kind === 'contract' && reply.json !== undefined) {
    const copy: unknown = structuredClone(reply.json);
    reply = { ...reply, json: options.corrupt ? options.corrupt(copy, sreq) : {} };
  }
  reply = withHeaders(options, sreq, reply);
  const body = Buffer.from(replyBody(reply), 'utf8');
  const signature = fault?.kind === 'unsigned' ? null : await options.sign?.(sreq, reply, body);
  if (signature) reply = { ...reply, headers: { ...reply.headers, ...signature } };
  send(res, reply, fault?.kind, fault?.kind === 'tamper' ? tampered(options, sreq, reply, body) : body);
  ledger.answered(key);
}

/** The body of a `tamper` fault: the partner's change to the payload, or the same bytes plus a space. */
function tampered(options: SandboxOptions, req: SandboxRequest, reply: Reply, body: Buffer): Buffer {
  if (options.tamper && reply.json !== undefined) {
    const changed = Buffer.from(JSON.stringify(options.tamper(structuredClone(reply.json), req)), 'utf8');
    if (!changed.equals(body)) return changed;
  }
  return Buffer.concat([body, Buffer.from(' ')]);
}

/** Waits `ms`, or less when `released` settles first (the timer is then cancelled). */
async function delay(ms: number, released: Promise<void> | null): Promise<void> {
  if (released === null) return sleep(ms);
  const timer = new AbortController();
  const elapsed = sleep(ms, undefined, { signal: timer.signal }).catch(() => undefined);
  await Promise.race([elapsed, released]);
  timer.abort();
}

/** Answers the kit's own control routes; false when the route is a partner control route. */
async function handleControl(
  options: SandboxOptions,
  ledger: Ledger,
  faults: Faults,
  req: SandboxRequest,
  res: ServerResponse,
): Promise<boolean> {
  const key = `${req.method} ${req.path}`;
  if (key === 'POST /__sandbox/faults') {
    let parsed;
    try {
      parsed = faultRulesSchema.safeParse(readJson(req));
    } catch {
      send(res, json(400, { error: 'body is not JSON' }));
      return true;
    }
    if (!parsed.success) {
      send(res, json(400, { error: 'invalid fault rules', issues: parsed.error.issues }));
      return true;
    }
    faults.set(parsed.data);
    send(res, json(200, { faults: faults.list() }));
  } else if (key === 'DELETE /__sandbox/faults') {
    faults.clear();
    send(res, json(200, { faults: [] }));
  } else if (key === 'GET /__sandbox/ledger') {
    send(res, json(200, ledger.snapshot()));
  } else if (key === 'POST /__sandbox/reset') {
    ledger.reset();
    faults.clear();
    options.onReset?.();
    send(res, { status: 204 });
  } else {
    return false;
  }
  return true;
}

async function run(
  options: SandboxOptions,
  req: SandboxRequest,
  handler: (req: SandboxRequest) => Reply | Promise<Reply>,
): Promise<Reply> {
  try {
    return await handler(req);
  } catch (error) {
    if (options.onError) return options.onError(error, req);
    const status = error instanceof BodyError ? 400 : 500;
    return json(status, { error: error instanceof Error ? error.message : String(error) });
  }
}

function withHeaders(options: SandboxOptions, req: SandboxRequest, reply: Reply): Reply {
  const extra = options.responseHeaders?.(req) ?? {};
  return { ...reply, headers: { ...extra, ...reply.headers } };
}

function send(
  res: ServerResponse,
  reply: Reply,
  fault?: FaultRule['kind'],
  body: Buffer = Buffer.from(replyBody(reply), 'utf8'),
): void {
  const headers: Record<string, string> = { ...reply.headers };
  if (reply.json !== undefined) headers['content-type'] ??= 'application/json; charset=utf-8';
  const bytes =
    fault === 'malformed'
      ? Buffer.concat([body.subarray(0, Math.floor(body.length / 2)), Buffer.from('<html>')])
      : body;
  headers['content-length'] = String(bytes.length);
  res.writeHead(reply.status, headers);
  if (fault === 'truncate') {
    // Promise the whole body, deliver half, then drop the connection.
    res.write(bytes.subarray(0, Math.floor(bytes.length / 2)), () => res.socket?.destroy());
    return;
  }
  res.end(bytes);
}

async function readBody(req: IncomingMessage, max: number): Promise<Buffer> {
  const chunks: Buffer[] = [];
  let total = 0;
  for await (const chunk of req) {
    const buffer = chunk as Buffer;
    total += buffer.length;
    if (total > max) throw new BodyError('request body too large');
    chunks.push(buffer);
  }
  return Buffer.concat(chunks);
}
