/**
 * Plaid wire calls through the official `plaid` SDK (axios underneath), held to the rules every partner
 * client follows (datasources/http.ts, DESIGN §4 and §7): a keep-alive agent with a connection cap, an
 * idle timeout plus an end-to-end deadline per attempt, no redirects, a response size cap, no hidden
 * retries (the SDK has none; retries belong to the partner policy), the correlation id on every
 * request, failures mapped to domain errors, and every payload validated with zod before it is used.
 * Public methods are domain verbs; wire types stay in this folder.
 */
import { Agent as HttpAgent } from 'node:http';
import { Agent as HttpsAgent } from 'node:https';
import type { Logger } from 'pino';
import { Configuration, CountryCode, PlaidApi, Products } from 'plaid';
import type { ZodType } from 'zod';
import { ConsentRequiredError, isDomainError } from '../../domain/errors.js';
import { contractViolation, zodIssues } from '../contract.js';
import {
  DEFAULT_MAX_RESPONSE_BYTES,
  DEFAULT_TIMEOUTS,
  type CallPolicy,
  type PartnerTimeouts,
} from '../http.js';
import { plaidErrorFromResponse, plaidTransportError, type PlaidCallInfo } from './errors.js';
import { injectTraceContext } from '../tracing.js';
import {
  accountsGetResponseSchema,
  itemPublicTokenExchangeResponseSchema,
  itemRemoveResponseSchema,
  linkTokenCreateResponseSchema,
  sandboxPublicTokenCreateResponseSchema,
  transactionsSyncResponseSchema,
  webhookVerificationKeyGetResponseSchema,
  type AccountsGetResponse,
  type WebhookVerificationKeyGetResponse,
  type TransactionsSyncResponse,
} from './types.js';

/** First Platypus Bank, Plaid's own sandbox institution. */
export const DEFAULT_SANDBOX_INSTITUTION = 'ins_109508';

export interface PlaidClientOptions {
  /** https://production.plaid.com, https://sandbox.plaid.com, or the local sandbox's URL. */
  baseUrl: string;
  clientId: string;
  secret: string;
  timeouts?: Partial<PartnerTimeouts>;
  /** Connection cap of the keep-alive agent. Default 10. */
  connections?: number;
  /** Response body cap in bytes. Default 5 MiB. */
  maxResponseBytes?: number;
  /** The partner's resilience policy (retries, breaker, bulkhead); default: one attempt. */
  policy?: CallPolicy;
  /** Header carrying the correlation id. Default X-Request-Id. */
  correlationHeader?: string;
  /** Institution of sandbox links. Default ins_109508. */
  sandboxInstitutionId?: string;
}

/** The slice of CallContext a wire call needs. */
export interface PlaidCall {
  correlationId: string;
  logger: Logger;
  signal?: AbortSignal;
}

/** What the SDK hands back (axios response). */
type SdkResponse = { status: number; data: unknown };
/** Per-request options the SDK passes to axios. */
type SdkOptions = { headers: Record<string, string>; signal: AbortSignal };
/** What an axios failure carries, read defensively. */
type SdkFailure = { response?: { status?: number; headers?: unknown; data?: unknown } };

const noPolicy: CallPolicy = { execute: (fn) => fn(new AbortController().signal) };

const endpoint = (path: string, permission: string): PlaidCallInfo => ({
  endpoint: `POST ${path}`,
  permission,
});
const LINK = endpoint('/sandbox/public_token/create', 'accounts:read');
const LINK_TOKEN = endpoint('/link/token/create', 'accounts:read');
const REMOVE = endpoint('/item/remove', 'accounts:read');
const EXCHANGE = endpoint('/item/public_token/exchange', 'accounts:read');
const ACCOUNTS = endpoint('/accounts/get', 'accounts:read');
const BALANCES = endpoint('/accounts/balance/get', 'balances:read');
const SYNC = endpoint('/transactions/sync', 'transactions:read');
const WEBHOOK_KEY = endpoint('/webhook_verification_key/get', 'webhooks');

/** Plaid's API is all POSTs; only linking an Item changes anything, every other call is a read. */
const kindOf = (info: PlaidCallInfo): 'read' | 'write' =>
  info === LINK || info === EXCHANGE || info === LINK_TOKEN || info === REMOVE ? 'write' : 'read';

/** Plaid client of one environment. */
export class PlaidClient {
  private readonly api: PlaidApi;
  private readonly httpAgent: HttpAgent;
  private readonly httpsAgent: HttpsAgent;
  private readonly timeouts: PartnerTimeouts;
  private readonly policy: CallPolicy;
  private readonly correlationHeader: string;

  constructor(private readonly options: PlaidClientOptions) {
    this.timeouts = { ...DEFAULT_TIMEOUTS, ...options.timeouts };
    this.policy = options.policy ?? noPolicy;
    this.correlationHeader = options.correlationHeader ?? 'X-Request-Id';
    const agentOptions = {
      keepAlive: true,
      maxSockets: options.connections ?? 10,
      maxFreeSockets: options.connections ?? 10,
      // Idle pooled sockets are closed after this, so a partner's silent drop is not reused forever.
      timeout: 10_000,
    };
    this.httpAgent = new HttpAgent(agentOptions);
    this.httpsAgent = new HttpsAgent(agentOptions);
    const maxBytes = options.maxResponseBytes ?? DEFAULT_MAX_RESPONSE_BYTES;
    this.api = new PlaidApi(
      new Configuration({
        basePath: options.baseUrl.replace(/\/$/, ''),
        baseOptions: {
          headers: { 'PLAID-CLIENT-ID': options.clientId, 'PLAID-SECRET': options.secret },
          httpAgent: this.httpAgent,
          httpsAgent: this.httpsAgent,
          // axios: idle socket timeout (connect, headers, body stalls); the total deadline is a signal.
          timeout: Math.max(this.timeouts.connectMs, this.timeouts.headersMs, this.timeouts.bodyMs),
          maxRedirects: 0,
          maxContentLength: maxBytes,
          maxBodyLength: maxBytes,
          // Never pick up HTTP(S)_PROXY from the environment: credentials go to Plaid only.
          proxy: false,
          transitional: { clarifyTimeoutError: true },
        },
      }),
    );
  }

  /** Runs Plaid's sandbox link for a seeded customer (override_username) and returns the public token. */
  async linkSandboxItem(call: PlaidCall, customerId: string): Promise<string> {
    const institution = this.options.sandboxInstitutionId ?? DEFAULT_SANDBOX_INSTITUTION;
    const data = await this.call(call, LINK, sandboxPublicTokenCreateResponseSchema, (options) =>
      this.api.sandboxPublicTokenCreate(
        {
          institution_id: institution,
          initial_products: [Products.Transactions],
          options: { override_username: customerId, override_password: 'pass_good' },
        },
        options,
      ),
    );
    return data.public_token;
  }

  /**
   * A Link token for the customer's app to open Plaid Link with (`user.client_user_id` is a
   * pseudonymous id: Plaid is told nothing about who the customer is).
   */
  async createLinkToken(
    call: PlaidCall,
    request: { customerRef: string; redirectUri: string | null; webhook: string | null },
  ): Promise<{ linkToken: string; expiration: Date }> {
    const data = await this.call(call, LINK_TOKEN, linkTokenCreateResponseSchema, (options) =>
      this.api.linkTokenCreate(
        {
          client_name: 'Tributary',
          language: 'en',
          country_codes: [CountryCode.Gb, CountryCode.Us],
          user: { client_user_id: request.customerRef },
          products: [Products.Transactions],
          ...(request.webhook ? { webhook: request.webhook } : {}),
          ...(request.redirectUri ? { redirect_uri: request.redirectUri } : {}),
        },
        options,
      ),
    );
    return { linkToken: data.link_token, expiration: new Date(data.expiration) };
  }

  /**
   * Removes the Item at Plaid (the customer revoked the link): its access token stops working. An
   * Item Plaid no longer knows is already removed.
   */
  async removeItem(call: PlaidCall, accessToken: string): Promise<void> {
    try {
      await this.call(call, REMOVE, itemRemoveResponseSchema, (options) =>
        this.api.itemRemove({ access_token: accessToken }, options),
      );
    } catch (error) {
      // INVALID_ACCESS_TOKEN, ITEM_NOT_FOUND and the other broken-link answers: nothing left to remove.
      if (error instanceof ConsentRequiredError) return;
      throw error;
    }
  }

  /** Exchanges a public token for the Item's access token. */
  async exchangePublicToken(
    call: PlaidCall,
    publicToken: string,
  ): Promise<{ accessToken: string; itemId: string }> {
    const data = await this.call(call, EXCHANGE, itemPublicTokenExchangeResponseSchema, (options) =>
      this.api.itemPublicTokenExchange({ public_token: publicToken }, options),
    );
    return { accessToken: data.access_token, itemId: data.item_id };
  }

  /** Every account of the Item, with cached balances (one call). */
  getAccounts(call: PlaidCall, accessToken: string): Promise<AccountsGetResponse> {
    return this.call(call, ACCOUNTS, accountsGetResponseSchema, (options) =>
      this.api.accountsGet({ access_token: accessToken }, options),
    );
  }

  /** Real-time balances of every account of the Item (one call). */
  getBalances(call: PlaidCall, accessToken: string): Promise<AccountsGetResponse> {
    return this.call(call, BALANCES, accountsGetResponseSchema, (options) =>
      this.api.accountsBalanceGet({ access_token: accessToken }, options),
    );
  }

  /** One page of transaction updates after `cursor` (null = from the beginning). */
  syncTransactions(
    call: PlaidCall,
    accessToken: string,
    cursor: string | null,
    count: number,
  ): Promise<TransactionsSyncResponse> {
    return this.call(call, SYNC, transactionsSyncResponseSchema, (options) =>
      this.api.transactionsSync({ access_token: accessToken, count, ...(cursor ? { cursor } : {}) }, options),
    );
  }

  /** The public key of a webhook signing kid (webhook verification). */
  async getWebhookVerificationKey(
    call: PlaidCall,
    keyId: string,
  ): Promise<WebhookVerificationKeyGetResponse['key']> {
    const data = await this.call(call, WEBHOOK_KEY, webhookVerificationKeyGetResponseSchema, (options) =>
      this.api.webhookVerificationKeyGet({ key_id: keyId }, options),
    );
    return data.key;
  }

  async close(): Promise<void> {
    this.httpAgent.destroy();
    this.httpsAgent.destroy();
  }

  private async call<T>(
    call: PlaidCall,
    info: PlaidCallInfo,
    schema: ZodType<T>,
    send: (options: SdkOptions) => Promise<SdkResponse>,
  ): Promise<T> {
    const kind = kindOf(info);
    const response = await this.policy.execute((signal) => this.attempt(call, info, signal, send), {
      kind,
      endpoint: info.endpoint,
    });
    const result = schema.safeParse(response.data);
    if (result.success) return result.data;
    throw this.violation(call, info, zodIssues(result.error), response.status);
  }

  private async attempt(
    call: PlaidCall,
    info: PlaidCallInfo,
    signal: AbortSignal,
    send: (options: SdkOptions) => Promise<SdkResponse>,
  ): Promise<SdkResponse> {
    const started = performance.now();
    const deadline = AbortSignal.timeout(this.timeouts.totalMs);
    const fields = (status: number | undefined) => ({
      partner: 'plaid',
      endpoint: info.endpoint,
      status,
      ms: Math.round(performance.now() - started),
      correlationId: call.correlationId,
    });
    try {
      const response = await send({
        headers: injectTraceContext({ [this.correlationHeader]: call.correlationId }),
        signal: AbortSignal.any([signal, deadline, ...(call.signal ? [call.signal] : [])]),
      });
      // Reads are several per operation (the operation's line and the partner metrics cover them).
      if (kindOf(info) === 'read') call.logger.debug(fields(response.status), 'Partner call completed.');
      else call.logger.info(fields(response.status), 'Partner call completed.');
      return response;
    } catch (error) {
      const mapped = this.failure(call, info, error, deadline.aborted || signal.aborted);
      const response = (error as SdkFailure | null)?.response;
      // Plaid's own code is for the logs only; clients see the domain error's code.
      const partnerCode = (response?.data as { error_code?: unknown } | null | undefined)?.error_code;
      const code = (mapped as { code?: unknown }).code;
      call.logger.warn({ ...fields(response?.status), code, partnerCode }, 'Partner call failed.');
      throw mapped;
    }
  }

  private failure(call: PlaidCall, info: PlaidCallInfo, error: unknown, timedOut: boolean): unknown {
    if (isDomainError(error)) return error;
    // The caller gave up (client disconnected): not the partner's failure, so not a PartnerError.
    if (call.signal?.aborted && !timedOut) return call.signal.reason ?? error;
    const response = (error as SdkFailure | null)?.response;
    // A 2xx that still failed (the body was cut off mid-stream) is a transport failure, not an answer.
    if (response?.status === undefined || (response.status >= 200 && response.status < 300)) {
      return plaidTransportError(error, info, timedOut);
    }
    if (response.status >= 300 && response.status < 400) {
      return this.violation(call, info, [`redirect (${response.status}) not followed`], response.status);
    }
    return plaidErrorFromResponse(response.status, plainHeaders(response.headers), response.data, info);
  }

  private violation(call: PlaidCall, info: PlaidCallInfo, issues: string[], status?: number) {
    return contractViolation({
      partner: 'plaid',
      endpoint: info.endpoint,
      issues,
      ...(status === undefined ? {} : { status }),
      call,
    });
  }
}

/** axios' header object as plain lower-case strings. */
function plainHeaders(headers: unknown): Record<string, string> {
  const out: Record<string, string> = {};
  if (typeof headers !== 'object' || headers === null) return out;
  const source =
    'toJSON' in headers && typeof headers.toJSON === 'function' ? (headers.toJSON() as object) : headers;
  for (const [name, value] of Object.entries(source)) {
    if (value !== undefined && value !== null)
      out[name.toLowerCase()] = Array.isArray(value) ? value.join(', ') : String(value);
  }
  return out;
}
