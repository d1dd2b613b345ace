/**
 * The sandbox's mutable state: registered clients, account-access consents, authorisation codes and
 * tokens. Tokens and consent ids are random (they are secrets and must not survive a restart as
 * valid values); everything the customer sees is seeded and deterministic.
 */
import { randomBytes, randomUUID } from 'node:crypto';
import type { PisState } from './pis-state.js';
import type { Bank } from './seed.js';
import type { Permission } from './wire.js';

/** OBReadConsentResponse1 Data.Status. */
export type ConsentStatus = 'AwaitingAuthorisation' | 'Authorised' | 'Rejected' | 'Revoked';

/** An account-access consent as the bank keeps it. */
export interface Consent {
  ConsentId: string;
  clientId: string;
  Status: ConsentStatus;
  Permissions: Permission[];
  CreationDateTime: string;
  StatusUpdateDateTime: string;
  ExpirationDateTime?: string;
  TransactionFromDateTime?: string;
  TransactionToDateTime?: string;
  /** Set when the customer authorises: who, and which of their accounts the consent covers. */
  psuId: string | null;
  accountIds: string[];
}

/** An issued access token. */
export interface AccessToken {
  kind: 'client' | 'psu';
  clientId: string;
  consentId: string | null;
  expiresAt: number;
  scope: string;
}

/**
 * What a code from the authorisation endpoint is bound to: the PKCE challenge (RFC 7636) and the
 * redirect_uri the token request must repeat (RFC 6749 section 4.1.3).
 */
export interface CodeBinding {
  codeChallenge: string;
  redirectUri: string;
}

/** A redeemed code: its consent, and its binding (null for codes of /__sandbox/authorise). */
export interface CodeGrant {
  consentId: string;
  binding: CodeBinding | null;
}

interface Code extends CodeGrant {
  clientId: string;
  expiresAt: number;
}

/** A validated authorisation request, waiting for the customer's answer on the bank's page. */
export interface AuthorisationRequest {
  clientId: string;
  consentId: string;
  redirectUri: string;
  state: string;
  codeChallenge: string;
}

/** How long the customer has to answer the bank's page. */
const TICKET_TTL_MS = 10 * 60_000;

/**
 * One answer of the token endpoint to an authenticated client, as GET
 * /__sandbox/openbanking/token-grants lists them (oldest first, the last TOKEN_GRANTS_KEPT), so tests
 * can count refreshes per refresh token and see the refused ones.
 */
export interface TokenGrantRecord {
  grantType: string;
  outcome: 'issued' | 'refused';
  /** The consent the grant was for, when the bank could tell. */
  consentId: string | null;
  /** refresh_token grants: SHA-256 (hex) of the refresh token presented, never the token itself. */
  refreshTokenSha256: string | null;
  at: string;
}

const TOKEN_GRANTS_KEPT = 1_000;

interface RefreshGrant {
  clientId: string;
  consentId: string;
}

/** Clock, lifetimes, registered clients and page size. */
export interface StateOptions {
  now: () => number;
  accessTokenTtlSeconds: number;
  codeTtlSeconds: number;
  clients: Record<string, string>;
  pageSize: number;
}

/** Issued tokens as the /token endpoint returns them. */
export interface IssuedTokens {
  access_token: string;
  token_type: 'Bearer';
  expires_in: number;
  scope: string;
  refresh_token?: string;
}

/** Clients, consents, codes and tokens of one sandbox. */
export class SandboxState {
  readonly consents = new Map<string, Consent>();
  private readonly tokens = new Map<string, AccessToken>();
  private readonly codes = new Map<string, Code>();
  private readonly refreshTokens = new Map<string, RefreshGrant>();
  private readonly tickets = new Map<string, AuthorisationRequest & { expiresAt: number }>();
  private readonly grants: TokenGrantRecord[] = [];

  /** The Payment Initiation side (pis-state.ts), set when the server starts. */
  pis: PisState | null = null;

  constructor(
    readonly bank: Bank,
    readonly options: StateOptions,
  ) {}

  now(): number {
    return this.options.now();
  }

  checkClient(clientId: string, secret: string): boolean {
    return this.options.clients[clientId] !== undefined && this.options.clients[clientId] === secret;
  }

  /** The registered client's secret (it signs the client's request objects), or undefined. */
  clientSecret(clientId: string): string | undefined {
    return Object.hasOwn(this.options.clients, clientId) ? this.options.clients[clientId] : undefined;
  }

  /**
   * Whether the consent's ExpirationDateTime has passed on the sandbox clock. OB v3.1 has no Expired
   * status: the consent keeps reading Authorised, but it no longer grants anything.
   */
  consentExpired(consent: Consent): boolean {
    return consent.ExpirationDateTime !== undefined && Date.parse(consent.ExpirationDateTime) <= this.now();
  }

  newConsentId(): string {
    return `aac-${randomUUID()}`;
  }

  issueClientToken(clientId: string, scope = 'accounts'): IssuedTokens {
    return this.issue({ kind: 'client', clientId, consentId: null, scope });
  }

  /** The scope a code for this consent grants: accounts or payments; null when it cannot be used now. */
  consentScope(consentId: string): 'accounts' | 'payments' | null {
    const consent = this.consents.get(consentId);
    if (consent?.Status === 'Authorised' && !this.consentExpired(consent)) return 'accounts';
    return this.pis?.consentUsable(consentId) ? 'payments' : null;
  }

  /**
   * PSU tokens bound to a consent. Account access comes with a refresh token; a payment token does
   * not (it serves the one payment of its consent).
   */
  issuePsuTokens(
    clientId: string,
    consentId: string,
    scope: 'accounts' | 'payments' = 'accounts',
  ): IssuedTokens {
    if (scope === 'payments') return this.issue({ kind: 'psu', clientId, consentId, scope });
    const refresh = secret();
    this.refreshTokens.set(refresh, { clientId, consentId });
    return { ...this.issue({ kind: 'psu', clientId, consentId, scope: 'accounts' }), refresh_token: refresh };
  }

  /** The valid, unexpired access token, or null. */
  accessToken(value: string): AccessToken | null {
    const token = this.tokens.get(value);
    if (!token || token.expiresAt <= this.now()) return null;
    return token;
  }

  /** A code for the consent; `binding` when it comes from the authorisation endpoint. */
  newCode(clientId: string, consentId: string, binding: CodeBinding | null = null): string {
    const code = secret();
    const expiresAt = this.now() + this.options.codeTtlSeconds * 1000;
    this.codes.set(code, { clientId, consentId, binding, expiresAt });
    return code;
  }

  /**
   * Redeems a code once: a second use fails, as RFC 6749 section 4.1.2 requires. A failed attempt
   * (wrong client, and in oauth.ts a wrong verifier) spends it too, so a stolen code gets one guess.
   */
  redeemCode(code: string, clientId: string): CodeGrant | null {
    const grant = this.codes.get(code);
    this.codes.delete(code);
    if (!grant || grant.clientId !== clientId || grant.expiresAt <= this.now()) return null;
    return { consentId: grant.consentId, binding: grant.binding };
  }

  /** Keeps a validated authorisation request server-side; the page carries only this random handle. */
  newTicket(request: AuthorisationRequest): string {
    const ticket = secret();
    this.tickets.set(ticket, { ...request, expiresAt: this.now() + TICKET_TTL_MS });
    return ticket;
  }

  /** The request behind a ticket, once; null when unknown, used or expired. */
  takeTicket(ticket: string): AuthorisationRequest | null {
    const held = this.tickets.get(ticket);
    this.tickets.delete(ticket);
    if (!held || held.expiresAt <= this.now()) return null;
    const { expiresAt: _expiresAt, ...request } = held;
    return request;
  }

  /** Rotates a refresh token: the old one stops working as soon as the new one is issued. */
  redeemRefreshToken(token: string, clientId: string): string | null {
    const grant = this.refreshTokens.get(token);
    if (!grant || grant.clientId !== clientId) return null;
    this.refreshTokens.delete(token);
    return grant.consentId;
  }

  /** Notes an answer of the token endpoint. */
  recordGrant(record: Omit<TokenGrantRecord, 'at'>): void {
    this.grants.push({ ...record, at: new Date(this.now()).toISOString() });
    if (this.grants.length > TOKEN_GRANTS_KEPT) this.grants.splice(0, this.grants.length - TOKEN_GRANTS_KEPT);
  }

  /** The token endpoint's answers so far, oldest first. */
  tokenGrants(): TokenGrantRecord[] {
    return this.grants.map((grant) => ({ ...grant }));
  }

  /** Revokes every token bound to a consent (consent deleted). */
  revokeConsentTokens(consentId: string): void {
    for (const [value, token] of this.tokens) if (token.consentId === consentId) this.tokens.delete(value);
    for (const [value, grant] of this.refreshTokens) {
      if (grant.consentId === consentId) this.refreshTokens.delete(value);
    }
  }

  private issue(token: Omit<AccessToken, 'expiresAt'>): IssuedTokens {
    const value = secret();
    const ttl = this.options.accessTokenTtlSeconds;
    this.tokens.set(value, { ...token, expiresAt: this.now() + ttl * 1000 });
    return { access_token: value, token_type: 'Bearer', expires_in: ttl, scope: token.scope };
  }
}

function secret(): string {
  return randomBytes(24).toString('base64url');
}
