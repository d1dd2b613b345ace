/**
 * Plaid wire calls through the partner HTTP client every partner shares (datasources/http.ts, DESIGN §4
 * and §7): a keep-alive pool with a connection cap, undici's idle timeouts plus an end-to-end deadline
 * per attempt, no redirects, a response size cap, no hidden retries (retries belong to the partner
 * policy), the correlation id and trace context on every request, failures mapped to domain errors, and
 * every payload validated with zod before it is used. The requests are Plaid's own wire format (API
 * version 2020-09-14, credentials in the PLAID-CLIENT-ID/PLAID-SECRET headers), the same bytes the
 * official `plaid` SDK sends: the SDK (axios and ~30 MB of generated code) is used only by the tests
 * that check the sandbox against it. Public methods are domain verbs; wire types stay in this folder.
 */
import pino, { type Logger } from 'pino';
import type { ZodType } from 'zod';
import { ConsentRequiredError } from '../../domain/errors.js';
import { PartnerHttp, type CallPolicy, type ErrorFromResponse, type PartnerTimeouts } from '../http.js';
import { plaidErrorFromResponse, type PlaidCallInfo } from './errors.js';
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

/** The Plaid API version every request is written against (Plaid's `Plaid-Version` header). */
export const PLAID_API_VERSION = '2020-09-14';

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

/** One Plaid endpoint: its path, what it is for, and how its errors map (by Plaid's error object). */
interface Endpoint {
  path: string;
  info: PlaidCallInfo;
  /** Plaid's API is all POSTs; only linking an Item changes anything, every other call is a read. */
  kind: 'read' | 'write';
  errorFromResponse: ErrorFromResponse;
}

const endpoint = (path: string, permission: string, kind: 'read' | 'write' = 'read'): Endpoint => {
  const info = { endpoint: `POST ${path}`, permission };
  return {
    path,
    info,
    kind,
    // Plaid's error object decides, not the status; a body that is not JSON is passed on as text.
    errorFromResponse: (status, headers, bodyText) =>
      plaidErrorFromResponse(status, headers, parseOrText(bodyText), info),
  };
};
const LINK = endpoint('/sandbox/public_token/create', 'accounts:read', 'write');
const LINK_TOKEN = endpoint('/link/token/create', 'accounts:read', 'write');
const REMOVE = endpoint('/item/remove', 'accounts:read', 'write');
const EXCHANGE = endpoint('/item/public_token/exchange', 'accounts:read', 'write');
const ACCOUNTS = endpoint('/accounts/get', 'accounts:read');
const BALANCES = endpoint('/accounts/balance/get', 'balances:read');
const SYNC = endpoint('/transactions/sync', 'transactions:read');
const WEBHOOK_KEY = endpoint('/webhook_verification_key/get', 'webhooks');

/** Every call carries its own logger (PlaidCall); this one only stands in where none could be given. */
const UNUSED_LOGGER = pino({ level: 'silent' });

/** Plaid client of one environment. */
export class PlaidClient {
  private readonly http: PartnerHttp;

  constructor(private readonly options: PlaidClientOptions) {
    this.http = new PartnerHttp({
      partner: 'plaid',
      baseUrl: options.baseUrl.replace(/\/$/, ''),
      logger: UNUSED_LOGGER,
      correlationHeader: options.correlationHeader ?? 'X-Request-Id',
      connections: options.connections ?? 10,
      ...(options.timeouts ? { timeouts: options.timeouts } : {}),
      ...(options.maxResponseBytes === undefined ? {} : { maxResponseBytes: options.maxResponseBytes }),
      ...(options.policy ? { policy: options.policy } : {}),
      headers: {
        'plaid-version': PLAID_API_VERSION,
        'plaid-client-id': options.clientId,
        'plaid-secret': options.secret,
      },
      // Every request names its endpoint's own mapping (Endpoint.errorFromResponse).
      errorFromResponse: UNNAMED_ENDPOINT,
    });
  }

  /** Runs Plaid's sandbox link for a seeded customer (override_username) and returns the public token. */
  async linkSandboxItem(call: PlaidCall, customerId: string): Promise<string> {
    const institution = this.options.sandboxInstitutionId ?? DEFAULT_SANDBOX_INSTITUTION;
    const data = await this.call(call, LINK, sandboxPublicTokenCreateResponseSchema, {
      institution_id: institution,
      initial_products: ['transactions'],
      options: { override_username: customerId, override_password: 'pass_good' },
    });
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
    const data = await this.call(call, LINK_TOKEN, linkTokenCreateResponseSchema, {
      client_name: 'Tributary',
      language: 'en',
      country_codes: ['GB', 'US'],
      user: { client_user_id: request.customerRef },
      products: ['transactions'],
      ...(request.webhook ? { webhook: request.webhook } : {}),
      ...(request.redirectUri ? { redirect_uri: request.redirectUri } : {}),
    });
    return { linkToken: data.link_token, expiration: new Date(data.expiration) };
  }

  /**
   * Removes the Item at Plaid (the customer revoked the link): its access token stops working. An
   * Item Plaid no longer knows is already removed.
   */
  async removeItem(call: PlaidCall, accessToken: string): Promise<void> {
    try {
      await this.call(call, REMOVE, itemRemoveResponseSchema, { access_token: accessToken });
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
    const data = await this.call(call, EXCHANGE, itemPublicTokenExchangeResponseSchema, {
      public_token: publicToken,
    });
    return { accessToken: data.access_token, itemId: data.item_id };
  }

  /** Every account of the Item, with cached balances (one call). */
  getAccounts(call: PlaidCall, accessToken: string): Promise<AccountsGetResponse> {
    return this.call(call, ACCOUNTS, accountsGetResponseSchema, { access_token: accessToken });
  }

  /** Real-time balances of every account of the Item (one call). */
  getBalances(call: PlaidCall, accessToken: string): Promise<AccountsGetResponse> {
    return this.call(call, BALANCES, accountsGetResponseSchema, { access_token: accessToken });
  }

  /** One page of transaction updates after `cursor` (null = from the beginning). */
  syncTransactions(
    call: PlaidCall,
    accessToken: string,
    cursor: string | null,
    count: number,
  ): Promise<TransactionsSyncResponse> {
    return this.call(call, SYNC, transactionsSyncResponseSchema, {
      access_token: accessToken,
      count,
      ...(cursor ? { cursor } : {}),
    });
  }

  /** The public key of a webhook signing kid (webhook verification). */
  async getWebhookVerificationKey(
    call: PlaidCall,
    keyId: string,
  ): Promise<WebhookVerificationKeyGetResponse['key']> {
    const data = await this.call(call, WEBHOOK_KEY, webhookVerificationKeyGetResponseSchema, {
      key_id: keyId,
    });
    return data.key;
  }

  async close(): Promise<void> {
    await this.http.close();
  }

  private async call<T>(call: PlaidCall, to: Endpoint, schema: ZodType<T>, json: object): Promise<T> {
    const response = await this.http.request({
      method: 'POST',
      path: to.path,
      endpoint: to.info.endpoint,
      kind: to.kind,
      errorFromResponse: to.errorFromResponse,
      correlationId: call.correlationId,
      schema,
      json,
      logger: call.logger,
      ...(call.signal ? { signal: call.signal } : {}),
    });
    return response.data;
  }
}

/** The client-wide mapping PartnerHttp asks for; no request reaches it (each names its endpoint's). */
const UNNAMED_ENDPOINT: ErrorFromResponse = (status, _headers, _bodyText, info) =>
  new Error(`Plaid answered ${status} to ${info.endpoint}, a request that named no error mapping.`);

/** A non-2xx body as JSON when it is JSON, else its text (a proxy's HTML page). */
function parseOrText(bodyText: string): unknown {
  try {
    return JSON.parse(bodyText);
  } catch {
    return bodyText;
  }
}
