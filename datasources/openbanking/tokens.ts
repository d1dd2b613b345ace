/**
 * The two kinds of Open Banking token and their lifecycles, one OpenBankingTokens per provider (the
 * account and payment clients share it):
 * - the TPP's client-credentials tokens, one per scope ("accounts" for account-access consents,
 *   "payments" for payment consents and reads): cached until shortly before they expire and fetched
 *   by a single call however many requests need one at once;
 * - the customer's (PSU) tokens (account data): refreshed with one call per refresh token in flight,
 *   because the bank rotates refresh tokens and a second refresh with a spent one is refused
 *   (invalid_grant). Within a process, concurrent callers share one refresh; across replicas, the
 *   refresh runs under the credential store's lock of the link (CredentialStore.refreshing), which
 *   re-reads the stored tokens first: a replica that waited finds the tokens the other one rotated and
 *   uses them. The rotated tokens are saved under that lock, through the call's credential store (the
 *   request's own, else the process-wide one), so they survive the process.
 */
import { ConsentRequiredError } from '../../domain/errors.js';
import type { PartnerHttp } from '../http.js';
import {
  credentialsFor,
  type CallContext,
  type CredentialStore,
  type PartnerCredential,
} from '../../domain/providers.js';
import { tokenErrorFromResponse } from './errors.js';
import { tokenResponseSchema, type TokenResponse } from './types.js';

/** The parts of a CallContext a wire call needs. */
export type Call = Pick<CallContext, 'correlationId' | 'logger' | 'signal'>;

/** A call that may save a customer's refreshed tokens: through its own credential store, when it has one. */
export type PsuCall = Call & Pick<CallContext, 'credentials'>;

/** The scopes of client-credentials tokens: account-access consents, payment initiation. */
export type ClientScope = 'accounts' | 'payments';

/** Tokens issued for a customer after they authorised a consent. */
export interface PsuTokens {
  accessToken: string;
  refreshToken: string | null;
  expiresAt: Date | null;
}

/** The token endpoint, our client credentials and the clock. */
export interface TokenOptions {
  tokenUrl: string;
  clientId: string;
  clientSecret: string;
  clientAuth: 'client_secret_basic' | 'client_secret_post';
  now: () => number;
  /** Tokens are renewed this long before they expire. */
  skewMs: number;
}

/** How long a finished refresh is reused by calls that still hold the refresh token it consumed. */
const REFRESH_REUSE_MS = 60_000;

/** The PartnerHttp fields taken from a call context. */
export function callFields(ctx: Call) {
  return {
    correlationId: ctx.correlationId,
    logger: ctx.logger,
    ...(ctx.signal ? { signal: ctx.signal } : {}),
  };
}

type ClientToken = { value: string; expiresAt: number };

const TOKEN_ENDPOINT = 'POST /token';

/** Token caches and refresh coordination of one Open Banking provider. */
export class OpenBankingTokens {
  private readonly clientTokens = new Map<ClientScope, ClientToken>();
  private readonly clientTokensInFlight = new Map<ClientScope, Promise<string>>();
  private readonly refreshes = new Map<string, { promise: Promise<PartnerCredential>; at: number }>();

  /** `credentials`: where refreshed tokens are saved when the call carries no store of its own. */
  constructor(
    private readonly http: PartnerHttp,
    private readonly options: TokenOptions,
    private readonly credentials: CredentialStore,
  ) {}

  /** The client-credentials token of `scope`; `rejected` drops a cached token the bank has just refused. */
  async clientCredentials(ctx: Call, scope: ClientScope, rejected?: string): Promise<string> {
    if (rejected !== undefined && this.clientTokens.get(scope)?.value === rejected)
      this.clientTokens.delete(scope);
    const cached = this.clientTokens.get(scope);
    if (cached && cached.expiresAt - this.options.skewMs > this.options.now()) return cached.value;
    let inFlight = this.clientTokensInFlight.get(scope);
    if (!inFlight) {
      inFlight = (async () => {
        try {
          const token = await this.grant(ctx, { grant_type: 'client_credentials', scope });
          // No expires_in: assume five minutes rather than forever.
          const expiresAt = this.options.now() + (token.expires_in ?? 300) * 1000;
          this.clientTokens.set(scope, { value: token.access_token, expiresAt });
          return token.access_token;
        } finally {
          this.clientTokensInFlight.delete(scope);
        }
      })();
      this.clientTokensInFlight.set(scope, inFlight);
    }
    return inFlight;
  }

  /**
   * Exchanges an authorisation code for PSU tokens. A code from a redirect journey carries its PKCE
   * verifier and the redirect URI it was issued for (RFC 6749 section 4.1.3, RFC 7636 section 4.5).
   */
  async exchangeCode(
    ctx: Call,
    code: string,
    journey?: { codeVerifier: string; redirectUri: string },
  ): Promise<PsuTokens> {
    const form: Record<string, string> = { grant_type: 'authorization_code', code };
    if (journey) {
      form.code_verifier = journey.codeVerifier;
      form.redirect_uri = journey.redirectUri;
    }
    return this.psuTokens(await this.grant(ctx, form), null);
  }

  /** True when the credential's access token expires within the skew. */
  expiresSoon(credential: PartnerCredential): boolean {
    const expiresAt = credential.expiresAt?.getTime();
    return expiresAt !== undefined && expiresAt - this.options.skewMs <= this.options.now();
  }

  /**
   * Refreshes a customer's tokens and saves them through the call's credential store, under its lock
   * of the link; concurrent callers with one refresh token share one call (and one save). When the
   * store already holds other, fresh tokens (another replica refreshed meanwhile), those are the answer
   * and the bank is not asked.
   */
  async refresh(ctx: PsuCall, credential: PartnerCredential): Promise<PartnerCredential> {
    const refreshToken = credential.refreshToken;
    if (!refreshToken) throw new ConsentRequiredError('openbanking', 'accounts:read');
    // The bank is down and its breaker open: the grant would be refused, so neither take the link's
    // lock nor read and decrypt the stored tokens for it (with an outage longer than a token's life,
    // that would be every request's cost).
    const refused = this.http.refusal(TOKEN_ENDPOINT);
    if (refused) throw refused;
    const now = this.options.now();
    for (const [key, entry] of this.refreshes)
      if (now - entry.at > REFRESH_REUSE_MS) this.refreshes.delete(key);
    let entry = this.refreshes.get(refreshToken);
    if (!entry) {
      const { subject, provider, externalRef } = credential;
      const promise = credentialsFor(ctx, this.credentials).refreshing(
        subject,
        provider,
        externalRef,
        async (current) => {
          // The link was revoked or replaced meanwhile: only a new consent brings data back.
          if (!current?.refreshToken) throw new ConsentRequiredError('openbanking', 'accounts:read');
          if (this.rotatedSince(credential, current)) return current;
          const spent = current.refreshToken;
          const token = await this.grant(ctx, { grant_type: 'refresh_token', refresh_token: spent });
          return { ...current, ...this.psuTokens(token, spent) };
        },
      );
      entry = { promise, at: now };
      this.refreshes.set(refreshToken, entry);
      promise.catch(() => this.refreshes.delete(refreshToken));
    }
    return entry.promise;
  }

  /** The stored tokens are no longer the ones held, and still usable: someone else refreshed them. */
  private rotatedSince(held: PartnerCredential, stored: PartnerCredential): boolean {
    const rotated = stored.accessToken !== held.accessToken || stored.refreshToken !== held.refreshToken;
    return rotated && !this.expiresSoon(stored);
  }

  private async grant(ctx: Call, form: Record<string, string>): Promise<TokenResponse> {
    const { clientId, clientSecret, clientAuth, tokenUrl } = this.options;
    const basic = clientAuth === 'client_secret_basic';
    // RFC 6749 section 2.3.1: id and secret are form-encoded before they are joined.
    const pair = `${encodeURIComponent(clientId)}:${encodeURIComponent(clientSecret)}`;
    const res = await this.http.request({
      method: 'POST',
      path: tokenUrl,
      endpoint: TOKEN_ENDPOINT,
      form: basic ? form : { ...form, client_id: clientId, client_secret: clientSecret },
      schema: tokenResponseSchema,
      auth: basic ? () => ({ authorization: `Basic ${Buffer.from(pair).toString('base64')}` }) : null,
      errorFromResponse: tokenErrorFromResponse,
      ...callFields(ctx),
    });
    return res.data;
  }

  private psuTokens(token: TokenResponse, previousRefresh: string | null): PsuTokens {
    const expiresIn = token.expires_in;
    return {
      accessToken: token.access_token,
      refreshToken: token.refresh_token ?? previousRefresh,
      expiresAt: expiresIn === undefined ? null : new Date(this.options.now() + expiresIn * 1000),
    };
  }
}
