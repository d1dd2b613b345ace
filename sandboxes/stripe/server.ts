/**
 * Starts the Stripe sandbox: the kit's server with the PaymentIntent, refund, dispute and customer
 * endpoints, Request-Id on every answer, Stripe-shaped errors for faults and unknown routes, and the
 * control routes. The official `stripe` SDK works against it given host, port and protocol.
 */
import {
  BodyError,
  json,
  Ledger,
  readJson,
  Router,
  startSandbox,
  type Reply,
  type SandboxHandle,
  type SandboxRequest,
} from '../kit/sandbox.js';
import { requestIdOf, type ApiContext } from './api.js';
import { registerControlRoutes } from './control.js';
import { failureReply, injectedFailure, invalidRequest, StripeFailure } from './errors.js';
import { IdempotencyStore } from './idempotency.js';
import { registerPaymentIntentRoutes } from './payments.js';
import { registerResourceRoutes } from './resources.js';
import { seed } from './seed.js';
import { StripeState } from './state.js';
import { StripeWebhookSender, type StripeWebhookOptions } from './webhooks.js';
import { z } from 'zod';

/** The secret key every sandbox accepts (the default of `npm start` and the tests). Test mode only. */
export const STRIPE_SANDBOX_SECRET_KEY = 'sk_test_tributarySandbox0000000000000000';

/** The API version the sandbox reports; it serves one shape whatever version is asked for. */
export const STRIPE_SANDBOX_API_VERSION = '2025-09-30.clover';

/** Options of startStripeSandbox. */
export interface StripeSandboxOptions {
  /** 0 (default) picks a free port. */
  port?: number;
  host?: string;
  /** Extra secret keys accepted besides STRIPE_SANDBOX_SECRET_KEY. */
  secretKeys?: string[];
  /** The sandbox clock in epoch ms (idempotency key expiry, `created`). Default Date.now. */
  now?: () => number;
  /**
   * Time every write with an Idempotency-Key spends executing, so tests can overlap two requests
   * with one key. Default 0.
   */
  writeDelayMs?: number;
  /** Start without the seeded customers and payments. */
  empty?: boolean;
  /** Webhook delivery behaviour (duplicates, reordering, retries); see webhooks.ts. */
  webhooks?: StripeWebhookOptions;
}

const endpointSchema = z.object({ url: z.url(), secret: z.string().min(8) });

/** Starts a loopback Stripe sandbox. */
export async function startStripeSandbox(options: StripeSandboxOptions = {}): Promise<SandboxHandle> {
  const ledger = new Ledger();
  const state = new StripeState(ledger, options.now ?? Date.now);
  const idempotency = new IdempotencyStore(() => state.now());
  const ctx: ApiContext = {
    state,
    idempotency,
    secretKeys: [STRIPE_SANDBOX_SECRET_KEY, ...(options.secretKeys ?? [])],
    writeDelayMs: options.writeDelayMs ?? 0,
  };
  const reseed = () => {
    state.clear();
    idempotency.clear();
    if (!options.empty) seed(state);
    webhooks.reset();
  };
  const webhooks = new StripeWebhookSender(state, STRIPE_SANDBOX_API_VERSION, options.webhooks);
  reseed();
  const router = new Router();
  // Where Stripe sends events: the subgraph registers its /webhooks/stripe URL and secret here.
  router.on('POST', '/__sandbox/stripe/webhook_endpoints', async (req) => {
    const parsed = endpointSchema.safeParse(await readJson(req));
    if (!parsed.success)
      return json(400, { error: parsed.error.issues.map((issue) => issue.message).join('; ') });
    webhooks.register(parsed.data);
    return json(200, { object: 'webhook_endpoint', url: parsed.data.url, status: 'enabled' });
  });
  router.on('GET', '/__sandbox/stripe/webhook_endpoints', async () => {
    webhooks.scan();
    await webhooks.idle();
    return json(200, { delivered: webhooks.delivered });
  });
  registerPaymentIntentRoutes(router, ctx);
  registerResourceRoutes(router, ctx);
  registerControlRoutes(router, state);
  return startSandbox({
    name: 'stripe',
    router,
    ledger,
    port: options.port ?? 0,
    host: options.host ?? '127.0.0.1',
    responseHeaders: (req): Record<string, string> =>
      req.path.startsWith('/__sandbox/')
        ? {}
        : {
            'request-id': requestIdOf(req),
            'stripe-version': req.header('stripe-version') ?? STRIPE_SANDBOX_API_VERSION,
          },
    errorReply: (status, req) => failureReply(injectedFailure(status), requestIdOf(req)),
    corrupt: breakContract,
    notFound: (req) =>
      failureReply(
        new StripeFailure(404, {
          type: 'invalid_request_error',
          message: `Unrecognized request URL (${req.method}: ${req.path}). Please see https://stripe.com/docs or we can help at https://support.stripe.com/.`,
        }),
        requestIdOf(req),
      ),
    onError: (error, req) => errorAnswer(error, req),
    onReset: reseed,
  });
}

function errorAnswer(error: unknown, req: SandboxRequest): Reply {
  if (error instanceof StripeFailure) return failureReply(error, requestIdOf(req));
  if (error instanceof BodyError) return failureReply(invalidRequest(error.message), requestIdOf(req));
  return failureReply(
    new StripeFailure(500, {
      type: 'api_error',
      message: 'An unknown error occurred. Please retry the request later.',
    }),
    requestIdOf(req),
  );
}

/**
 * The `contract` fault. On PaymentIntent creation the answer stays well-formed but its amount is
 * off by one, so only a client that checks the answer against its request notices; everywhere else
 * a field Stripe always sends gets a value outside its enum, or is dropped.
 */
function breakContract(body: unknown, req: SandboxRequest): unknown {
  if (typeof body !== 'object' || body === null) return body;
  const record = body as Record<string, unknown>;
  if (req.method === 'POST' && req.path === '/v1/payment_intents' && typeof record.amount === 'number') {
    record.amount += 1;
    return record;
  }
  const target = Array.isArray(record.data)
    ? (record.data[0] as Record<string, unknown> | undefined)
    : record;
  if (target && 'status' in target) target.status = 'teleported';
  else if (target && 'error' in target) delete target.error;
  else if (Array.isArray(record.data)) delete record.has_more;
  else delete record.object;
  return record;
}
