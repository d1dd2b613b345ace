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
 *
 * Message signing (jws.ts): the verifier of the bank's signed answers, with the bank's keys fetched
 * from its JWK Set, and our request signer. The key store is reached on a pool of its own and outside
 * the bank's call policy: its fetch happens inside a payment call being verified, where the policy's
 * bulkhead would have it wait on itself. It presents the client certificate only when it is on the
 * bank's origin (the sandbox's); a directory elsewhere is reached with the system's trust store.
 */
import type { Logger } from 'pino';
import type { CredentialStore } from '../../domain/providers.js';
import {
  DEFAULT_TIMEOUTS,
  PartnerHttp,
  type CallPolicy,
  type PartnerTimeouts,
  type PartnerTls,
} from '../http.js';
import { errorFromResponse } from './errors.js';
import { AnswerVerifier, BankKeys, jwksFetcher, RequestSigner, type OpenBankingSigning } from './jws.js';
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
  /**
   * Message signing: the bank's JWK Set and name, our signing key. Absent or without a JWK Set, no
   * payment answer is trusted (each is refused); without a key, payment requests go out unsigned.
   */
  signing?: OpenBankingSigning | null;
}

/** The endpoint labels of Payment Initiation calls, which run under the payment timeouts. */
export type PaymentEndpoints = ReadonlySet<string>;

/** The bank's HTTP stack: the shared pool (`http`, at the bank's origin) and token manager. */
export class OpenBankingTransport {
  /** Calls to the resource server; paths are absolute (`/open-banking/v3.1/aisp/accounts`). */
  readonly http: PartnerHttp;
  readonly tokens: OpenBankingTokens;
  /** Checks the bank's signature on payment answers. */
  readonly verifier: AnswerVerifier;
  private readonly tokenHttp: PartnerHttp;
  private readonly keyStoreHttp: PartnerHttp | null;
  private readonly signingKey: OpenBankingSigning['key'];
  private readonly clientId: string;
  private readonly now: () => number;
  private signer: Promise<RequestSigner | null> | null = null;

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
      },
      attemptDeadline: (endpoint: string) =>
        paymentEndpoints.has(endpoint) ? payments.totalMs : reads.totalMs,
      ...(options.policy ? { policy: options.policy } : {}),
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
    const signing = options.signing ?? null;
    const now = options.now ?? Date.now;
    this.keyStoreHttp = null;
    let keys: BankKeys | null = null;
    if (signing?.jwksUrl) {
      const keyStore = new URL(signing.jwksUrl);
      this.keyStoreHttp = new PartnerHttp({
        partner: 'openbanking',
        logger: deps.logger,
        baseUrl: keyStore.origin,
        errorFromResponse,
        correlationHeader: 'x-fapi-interaction-id',
        timeouts: reads,
        connections: 2,
        ...(options.tls && keyStore.origin === base.origin ? { tls: options.tls } : {}),
      });
      keys = new BankKeys(
        jwksFetcher(this.keyStoreHttp, keyStore.toString()),
        now,
        signing.refetchCooldownMs ?? 10_000,
        signing.keysMaxAgeMs ?? 600_000,
      );
    }
    this.verifier = new AnswerVerifier(keys, signing ?? { issuer: null }, now);
    this.signingKey = signing?.key ?? null;
    this.clientId = options.clientId;
    this.now = now;
  }

  /** Our request signer (loaded once, on first use); null when no signing key is configured. */
  requestSigner(): Promise<RequestSigner | null> {
    const key = this.signingKey;
    this.signer ??= key ? RequestSigner.load(key, this.clientId, this.now) : Promise.resolve(null);
    return this.signer;
  }

  async close(): Promise<void> {
    await this.http.close();
    if (this.tokenHttp !== this.http) await this.tokenHttp.close();
    await this.keyStoreHttp?.close();
  }
}
