/**
 * What every /v1 route shares: secret-key authentication (Bearer or HTTP Basic with the key as user
 * name), the Request-Id of the exchange, parameter decoding (form body on POST, query string on GET),
 * idempotency on POST, and Stripe error replies.
 */
import { setTimeout as sleep } from 'node:timers/promises';
import { json, readForm, type Reply, type Router, type SandboxRequest } from '../kit/sandbox.js';
import { failureReply, invalidRequest, StripeFailure, unauthorised } from './errors.js';
import { decodeForm, fingerprint, type FormParams } from './form.js';
import { MAX_KEY_LENGTH, type IdempotencyStore } from './idempotency.js';
import { randomToken, type StripeState } from './state.js';

/** What a Stripe handler gets: the decoded parameters and the request id. */
export interface ApiCall {
  req: SandboxRequest;
  params: FormParams;
  requestId: string;
  /** `https://host:port`, for URLs the sandbox hands out (authentication redirects). */
  origin: string;
  /** The Idempotency-Key the write runs under, recorded with the money movements it makes. */
  idempotencyKey: string | null;
}

/** A Stripe route handler: returns the object to serve, or throws StripeFailure. */
export type ApiHandler = (call: ApiCall) => unknown;

/** What the routes share: the account state, the idempotency store, the keys and the write delay. */
export interface ApiContext {
  state: StripeState;
  idempotency: IdempotencyStore;
  secretKeys: readonly string[];
  /** Time a write spends executing, so concurrent requests with one key can overlap in tests. */
  writeDelayMs: number;
}

const requestIds = new WeakMap<SandboxRequest, string>();

/** The exchange's Request-Id (`req_...`), the same in the header and in error log links. */
export function requestIdOf(req: SandboxRequest): string {
  let id = requestIds.get(req);
  if (!id) {
    id = `req_${randomToken(14)}`;
    requestIds.set(req, id);
  }
  return id;
}

/** Registers a Stripe route: the handler returns the object to serve (200) or throws StripeFailure. */
export function route(
  router: Router,
  ctx: ApiContext,
  method: 'GET' | 'POST',
  template: string,
  handler: ApiHandler,
): void {
  router.on(method, template, (req) => serve(ctx, method, handler, req));
}

async function serve(
  ctx: ApiContext,
  method: string,
  handler: ApiHandler,
  req: SandboxRequest,
): Promise<Reply> {
  const requestId = requestIdOf(req);
  const key = req.header('idempotency-key') ?? null;
  let replayed = false;
  try {
    const apiKey = authenticate(req, ctx.secretKeys);
    const params = decodeForm(method === 'POST' ? readForm(req) : req.query);
    const call: ApiCall = { req, params, requestId, origin: req.origin, idempotencyKey: key };
    if (method !== 'POST' || key === null) return ok(handler(call));
    if (key.length === 0 || key.length > MAX_KEY_LENGTH) {
      throw invalidRequest(`Invalid idempotency key: must be 1 to ${MAX_KEY_LENGTH} characters long.`);
    }
    const claim = ctx.idempotency.claim(apiKey, key, `${method} ${req.path}`, fingerprint(params), requestId);
    if (claim.kind === 'replay') {
      replayed = true;
      return claim.reply;
    }
    let reply: Reply | null = null;
    try {
      if (ctx.writeDelayMs > 0) await sleep(ctx.writeDelayMs);
      const executed = answer(() => ok(handler(call)), requestId);
      reply = { ...executed, headers: { ...executed.headers, 'idempotency-key': key } };
      return reply;
    } finally {
      claim.finish(reply);
    }
  } catch (error) {
    if (error instanceof StripeFailure) return failureReply(error, requestId);
    throw error;
  } finally {
    ctx.state.remember({
      method,
      path: req.path,
      requestId,
      idempotencyKey: key,
      correlationId: req.header('x-request-id') ?? null,
      replayed,
    });
  }
}

function ok(body: unknown): Reply {
  return json(200, body);
}

function answer(run: () => Reply, requestId: string): Reply {
  try {
    return run();
  } catch (error) {
    if (error instanceof StripeFailure) return failureReply(error, requestId);
    throw error;
  }
}

/** The secret key of the request; 401 as Stripe answers it otherwise. */
function authenticate(req: SandboxRequest, keys: readonly string[]): string {
  const header = req.header('authorization');
  if (!header) {
    throw unauthorised(
      "You did not provide an API key. You need to provide your API key in the Authorization header, using Bearer auth (e.g. 'Authorization: Bearer YOUR_SECRET_KEY'). See https://stripe.com/docs/api#authentication for details, or we can help at https://support.stripe.com/.",
    );
  }
  let key: string | undefined;
  const bearer = /^Bearer\s+(\S+)$/i.exec(header);
  const basic = /^Basic\s+(\S+)$/i.exec(header);
  if (bearer) key = bearer[1];
  else if (basic?.[1]) key = Buffer.from(basic[1], 'base64').toString('utf8').split(':')[0];
  if (key?.startsWith('pk_')) {
    throw unauthorised(
      'This API call cannot be made with a publishable API key. Please use a secret API key.',
    );
  }
  if (!key || !keys.includes(key)) {
    const masked = key ? `${key.slice(0, 8)}${'*'.repeat(Math.max(0, key.length - 12))}${key.slice(-4)}` : '';
    throw unauthorised(`Invalid API Key provided: ${masked}`);
  }
  return key;
}
