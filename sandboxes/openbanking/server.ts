/**
 * Starts the Open Banking sandbox: the kit's server with the token endpoint, consents and the
 * Account and Transaction API, x-fapi-interaction-id on every answer, and OB-shaped faults.
 */
import { randomUUID } from 'node:crypto';
import {
  BodyError,
  Router,
  startSandbox,
  type Reply,
  type SandboxHandle,
  type SandboxRequest,
} from '../kit.js';
import { registerAccountRoutes } from './ais.js';
import { registerConsentRoutes } from './consents.js';
import { registerOAuthRoutes } from './oauth.js';
import { buildBank } from './seed.js';
import { SandboxState } from './state.js';
import { ObFailure, obError } from './wire.js';

/** The dev client registered in every sandbox (the defaults of `npm start` and the tests). */
export const OB_SANDBOX_CLIENT_ID = 'tributary-dev';
/** The dev client's secret; never valid outside the sandbox. */
export const OB_SANDBOX_CLIENT_SECRET = 'tributary-dev-secret-0123456789';

/** Options of one Open Banking sandbox. */
export interface OpenBankingSandboxOptions {
  /** 0 (default) picks a free port. */
  port?: number;
  host?: string;
  /** Items per page of list endpoints. Default 100. */
  pageSize?: number;
  /** Lifetime of access tokens. Default 300 s. */
  accessTokenTtlSeconds?: number;
  /** Lifetime of authorisation codes. Default 60 s. */
  codeTtlSeconds?: number;
  /** Extra accounts per PSU id (new PSUs are created), e.g. `{ cust_alice: 50 }`. */
  extraAccounts?: Record<string, number>;
  /** Extra registered clients, id -> secret. */
  clients?: Record<string, string>;
  /** The sandbox clock (token and consent expiry) in epoch ms. Default Date.now. */
  now?: () => number;
}

/** Starts a loopback Open Banking sandbox. */
export async function startOpenBankingSandbox(
  options: OpenBankingSandboxOptions = {},
): Promise<SandboxHandle> {
  const state = new SandboxState(buildBank(options.extraAccounts), {
    now: options.now ?? Date.now,
    accessTokenTtlSeconds: options.accessTokenTtlSeconds ?? 300,
    codeTtlSeconds: options.codeTtlSeconds ?? 60,
    pageSize: options.pageSize ?? 100,
    clients: { [OB_SANDBOX_CLIENT_ID]: OB_SANDBOX_CLIENT_SECRET, ...options.clients },
  });
  const router = new Router();
  registerOAuthRoutes(router, state);
  registerConsentRoutes(router, state);
  registerAccountRoutes(router, state);
  return startSandbox({
    name: 'openbanking',
    router,
    port: options.port ?? 0,
    host: options.host ?? '127.0.0.1',
    responseHeaders: interactionId,
    errorReply: faultReply,
    corrupt: breakContract,
    notFound: (_req, methodAllowed) =>
      methodAllowed
        ? obError(404, 'UK.OBIE.Resource.NotFound', 'No such resource.')
        : obError(405, 'UK.OBIE.UnexpectedError', 'Method not allowed.'),
    onError: (error) => {
      if (error instanceof ObFailure) return error.reply;
      if (error instanceof BodyError) return obError(400, 'UK.OBIE.Resource.InvalidFormat', error.message);
      return obError(500, 'UK.OBIE.UnexpectedError', 'Unexpected error.');
    },
  });
}

/** The spec: every response carries x-fapi-interaction-id, the caller's value or a fresh RFC 4122 id. */
function interactionId(req: SandboxRequest): Record<string, string> {
  return { 'x-fapi-interaction-id': req.header('x-fapi-interaction-id') ?? randomUUID() };
}

/** Injected errors look like the bank's own: OBErrorResponse1, except 429, which the spec sends bare. */
function faultReply(status: number): Reply {
  if (status === 429) return { status };
  const code =
    status >= 500
      ? 'UK.OBIE.UnexpectedError'
      : status === 404
        ? 'UK.OBIE.Resource.NotFound'
        : 'UK.OBIE.Field.Invalid';
  return obError(status, code, 'Injected fault.');
}

/** The `contract` fault: drop a field the spec requires, so a validating client must notice. */
function breakContract(body: unknown): unknown {
  if (typeof body !== 'object' || body === null) return body;
  const record = body as Record<string, unknown>;
  const data = record.Data as Record<string, unknown> | undefined;
  const first = (key: string) =>
    Array.isArray(data?.[key]) ? (data[key] as Record<string, unknown>[])[0] : undefined;
  const account = first('Account');
  const balance = first('Balance');
  const transaction = first('Transaction');
  if (account) delete account.AccountId;
  else if (balance) delete balance.Amount;
  else if (transaction) transaction.CreditDebitIndicator = 'Sideways';
  else if (data && 'Status' in data) data.Status = 'Unheard-of';
  else if ('access_token' in record) delete record.access_token;
  else delete record.Data;
  return record;
}
