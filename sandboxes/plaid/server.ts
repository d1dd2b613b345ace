/**
 * Starts the Plaid sandbox: the kit's server with the Plaid endpoints Tributary uses, Link (link.ts),
 * the Plaid-only control routes, webhooks signed the way Plaid signs them, and faults that look like
 * Plaid's own (its error object, its ways of breaking a payload).
 */
import {
  BodyError,
  Router,
  startSandbox,
  type Reply,
  type SandboxHandle,
  type SandboxRequest,
} from '../kit/sandbox.js';
import { registerControlRoutes } from './control.js';
import { registerLinkRoutes } from './link.js';
import { registerPlaidRoutes } from './routes.js';
import { PlaidSandboxState } from './state.js';
import { PlaidFailure, plaidError } from './wire.js';
import { registerWebhookRoutes } from './webhook-routes.js';
import { PlaidWebhookSender, type PlaidWebhookOptions } from './webhooks.js';

/** The dev client registered in every sandbox (the defaults of `npm start` and the tests). */
export const PLAID_SANDBOX_CLIENT_ID = 'tributary-dev-client';
export const PLAID_SANDBOX_SECRET = 'tributary-dev-plaid-secret-0123456789';

export interface PlaidSandboxOptions {
  /** 0 (default) picks a free port. */
  port?: number;
  host?: string;
  /** Extra checking accounts per customer (new customers are created), e.g. `{ cust_alice: 20 }`. */
  extraAccounts?: Record<string, number>;
  /** Extra registered clients, client_id -> secret. */
  clients?: Record<string, string>;
  /** Lifetime of public tokens. Default 1800 s (Plaid's 30 minutes). */
  publicTokenTtlSeconds?: number;
  /** The sandbox clock in epoch ms (token expiry, dates of posted and added transactions). */
  now?: () => number;
  /** Webhook delivery behaviour (duplicates, reordering, retries); see webhooks.ts. */
  webhooks?: PlaidWebhookOptions;
}

/** Starts a loopback Plaid sandbox. POST /__sandbox/reset also restores the seed and forgets every Item. */
export async function startPlaidSandbox(options: PlaidSandboxOptions = {}): Promise<SandboxHandle> {
  const state = new PlaidSandboxState({
    now: options.now ?? Date.now,
    publicTokenTtlSeconds: options.publicTokenTtlSeconds ?? 1800,
    clients: { [PLAID_SANDBOX_CLIENT_ID]: PLAID_SANDBOX_SECRET, ...options.clients },
    extraAccounts: options.extraAccounts ?? {},
  });
  const webhooks = await PlaidWebhookSender.create(state, options.webhooks);
  const router = new Router();
  registerPlaidRoutes(router, state);
  registerLinkRoutes(router, state);
  registerControlRoutes(router, state, (customer) => webhooks.transactionsChanged(customer));
  registerWebhookRoutes(router, state, webhooks);
  const handle = await startSandbox({
    name: 'plaid',
    router,
    port: options.port ?? 0,
    host: options.host ?? '127.0.0.1',
    errorReply: faultReply,
    corrupt: breakContract,
    onReset: () => state.reset(),
    notFound: (_req, methodAllowed) =>
      methodAllowed
        ? plaidError(404, 'INVALID_REQUEST', 'NOT_FOUND', 'not found')
        : plaidError(405, 'INVALID_REQUEST', 'INVALID_HTTP_METHOD', 'only POST is supported'),
    onError: (error) => {
      if (error instanceof PlaidFailure) return error.reply;
      if (error instanceof BodyError) {
        return plaidError(400, 'INVALID_REQUEST', 'INVALID_BODY', 'body could not be parsed as valid JSON');
      }
      return plaidError(500, 'API_ERROR', 'INTERNAL_SERVER_ERROR', 'an unexpected error occurred');
    },
  });
  return {
    ...handle,
    async close() {
      webhooks.close();
      await handle.close();
    },
  };
}

/** Plaid's rate-limit codes are per product. */
const RATE_LIMIT_CODES: Readonly<Record<string, string>> = {
  '/accounts/get': 'ACCOUNTS_LIMIT',
  '/accounts/balance/get': 'BALANCE_LIMIT',
  '/transactions/sync': 'TRANSACTIONS_SYNC_LIMIT',
};

/** Injected errors look like Plaid's: its error object, with the status Plaid uses for that kind. */
function faultReply(status: number, req: SandboxRequest): Reply {
  if (status === 429) {
    const code = RATE_LIMIT_CODES[req.route ?? ''] ?? 'RATE_LIMIT';
    return plaidError(429, 'RATE_LIMIT_EXCEEDED', code, 'rate limit exceeded for this Item');
  }
  if (status === 503)
    return plaidError(503, 'API_ERROR', 'PLANNED_MAINTENANCE', 'the Plaid API is under maintenance');
  if (status >= 500)
    return plaidError(status, 'API_ERROR', 'INTERNAL_SERVER_ERROR', 'an unexpected error occurred');
  if (status === 401 || status === 403) {
    return plaidError(status, 'INVALID_INPUT', 'INVALID_API_KEYS', 'invalid client_id or secret provided');
  }
  if (status === 404) return plaidError(404, 'INVALID_REQUEST', 'NOT_FOUND', 'not found');
  return plaidError(status, 'INVALID_REQUEST', 'INVALID_FIELD', 'injected fault');
}

/** The `contract` fault: break the payload so a validating client must notice. */
function breakContract(body: unknown): unknown {
  if (typeof body !== 'object' || body === null) return body;
  const record = body as Record<string, unknown>;
  const first = (key: string) =>
    Array.isArray(record[key]) ? (record[key] as Record<string, unknown>[])[0] : undefined;
  const added = first('added');
  const account = first('accounts');
  if (added) added.amount = String(added.amount);
  else if ('has_more' in record) delete record.has_more;
  else if (account) account.type = 'chequing';
  else if ('access_token' in record) delete record.access_token;
  else delete record.request_id;
  return record;
}
