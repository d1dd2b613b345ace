/**
 * One HTTP stack per bank, built once by the provider and shared by the account (client.ts) and
 * payment (pis-client.ts) clients: one keep-alive pool to the bank's origin with its connection cap
 * (so the partner's bulkhead and its sockets agree), the mutual-TLS material and the body-size cap;
 * one token manager (one client-credentials token per scope, one refresh per customer token).
 *
 * Payment calls may wait on the payment scheme, so they keep their own, longer, per-attempt
 * timeouts. The pool's idle timeouts are the longer of the two sets, and every attempt is bounded by
 * the whole-attempt limit of its own set (`totalMs`); account reads therefore end at their own limit
 * whatever the pool allows payments.
 */
import type { Logger } from 'pino';
import type { CredentialStore } from '../../domain/providers.js';
import {
  DEFAULT_TIMEOUTS,
  PartnerHttp,
  type CallOptions,
  type CallPolicy,
  type PartnerTimeouts,
  type PartnerTls,
} from '../http.js';
import { errorFromResponse } from './errors.js';
import { OpenBankingTokens } from './tokens.js';

/** Where the bank is, who we are to it, and the HTTP limits of the calls. */
export interface OpenBankingHttpOptions {
  /** Resource server origin, e.g. the sandbox URL. */
  baseUrl: string;
  /** Token endpoint (may be another host). Default `${baseUrl}/token`. */
  tokenUrl?: string;
  clientId: string;
  clientSecret: string;
  /** Default client_secret_basic. */
  clientAuth?: 'client_secret_basic' | 'client_secret_post';
  /** Connections to the bank, account and payment calls together. */
  connections?: number;
  /** Per-attempt limits of account calls and token calls. */
  timeouts?: Partial<PartnerTimeouts>;
  /** Per-attempt limits of Payment Initiation calls (a payment may wait on the scheme). Default `timeouts`. */
  paymentTimeouts?: Partial<PartnerTimeouts>;
  maxResponseBytes?: number;
  tls?: PartnerTls;
  policy?: CallPolicy;
  /** Tokens are renewed this long before they expire. Default 30 s. */
  tokenRefreshSkewSeconds?: number;
  /** Clock in epoch ms (tests). Default Date.now. */
  now?: () => number;
}

/** The endpoint labels of Payment Initiation calls, which run under the payment timeouts. */
export type PaymentEndpoints = ReadonlySet<string>;

/** The bank's HTTP stack: the shared pool (`http`, at the bank's origin) and token manager. */
export class OpenBankingTransport {
  /** Calls to the resource server; paths are absolute (`/open-banking/v3.1/aisp/accounts`). */
  readonly http: PartnerHttp;
  readonly tokens: OpenBankingTokens;
  private readonly tokenHttp: PartnerHttp;

  /**
   * `paymentEndpoints`: the labels of the calls that take the payment timeouts. `credentials`: where
   * refreshed customer tokens are saved when a call carries no store of its own.
   */
  constructor(
    options: OpenBankingHttpOptions,
    deps: { credentials: CredentialStore; logger: Logger },
    paymentEndpoints: PaymentEndpoints,
  ) {
    const base = new URL(options.baseUrl);
    const tokenUrl = options.tokenUrl ?? new URL('/token', base).toString();
    const reads: PartnerTimeouts = { ...DEFAULT_TIMEOUTS, ...options.timeouts };
    const payments: PartnerTimeouts = { ...reads, ...options.paymentTimeouts };
    const shared = {
      partner: 'openbanking' as const,
      logger: deps.logger,
      errorFromResponse,
      correlationHeader: 'x-fapi-interaction-id',
      timeouts: {
        connectMs: Math.max(reads.connectMs, payments.connectMs),
        headersMs: Math.max(reads.headersMs, payments.headersMs),
        bodyMs: Math.max(reads.bodyMs, payments.bodyMs),
        totalMs: Math.max(reads.totalMs, payments.totalMs),
      },
      policy: attemptLimits(options.policy, (endpoint) =>
        endpoint !== undefined && paymentEndpoints.has(endpoint) ? payments.totalMs : reads.totalMs,
      ),
      ...(options.connections ? { connections: options.connections } : {}),
      ...(options.maxResponseBytes ? { maxResponseBytes: options.maxResponseBytes } : {}),
      ...(options.tls ? { tls: options.tls } : {}),
    };
    this.http = new PartnerHttp({ ...shared, baseUrl: base.origin });
    const tokenOrigin = new URL(tokenUrl).origin;
    this.tokenHttp =
      tokenOrigin === base.origin ? this.http : new PartnerHttp({ ...shared, baseUrl: tokenOrigin });
    this.tokens = new OpenBankingTokens(
      this.tokenHttp,
      {
        tokenUrl,
        clientId: options.clientId,
        clientSecret: options.clientSecret,
        clientAuth: options.clientAuth ?? 'client_secret_basic',
        now: options.now ?? Date.now,
        skewMs: (options.tokenRefreshSkewSeconds ?? 30) * 1000,
      },
      deps.credentials,
    );
  }

  async close(): Promise<void> {
    await this.http.close();
    if (this.tokenHttp !== this.http) await this.tokenHttp.close();
  }
}

const plainPolicy: CallPolicy = { execute: (fn) => fn(new AbortController().signal) };

/**
 * The partner's policy with every attempt also ended after its endpoint's `totalMs`. PartnerHttp
 * reports an attempt ended by the policy's signal as PARTNER_TIMEOUT, as it does its own limit.
 */
function attemptLimits(
  policy: CallPolicy | undefined,
  totalMs: (endpoint: string | undefined) => number,
): CallPolicy {
  const inner = policy ?? plainPolicy;
  return {
    execute<T>(fn: (signal: AbortSignal) => Promise<T>, options?: CallOptions): Promise<T> {
      const limit = totalMs(options?.endpoint);
      return inner.execute((signal) => fn(AbortSignal.any([signal, AbortSignal.timeout(limit)])), options);
    },
  };
}
