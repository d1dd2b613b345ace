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

interface Code {
  clientId: string;
  consentId: string;
  expiresAt: number;
}

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

  newConsentId(): string {
    return `aac-${randomUUID()}`;
  }

  issueClientToken(clientId: string, scope = 'accounts'): IssuedTokens {
    return this.issue({ kind: 'client', clientId, consentId: null, scope });
  }

  /** The scope a code for this consent grants: accounts or payments; null when it cannot be used now. */
  consentScope(consentId: string): 'accounts' | 'payments' | null {
    if (this.consents.get(consentId)?.Status === 'Authorised') return 'accounts';
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

  newCode(clientId: string, consentId: string): string {
    const code = secret();
    this.codes.set(code, { clientId, consentId, expiresAt: this.now() + this.options.codeTtlSeconds * 1000 });
    return code;
  }

  /** Redeems a code once: a second use fails, as RFC 6749 section 4.1.2 requires. */
  redeemCode(code: string, clientId: string): string | null {
    const grant = this.codes.get(code);
    this.codes.delete(code);
    if (!grant || grant.clientId !== clientId || grant.expiresAt <= this.now()) return null;
    return grant.consentId;
  }

  /** Rotates a refresh token: the old one stops working as soon as the new one is issued. */
  redeemRefreshToken(token: string, clientId: string): string | null {
    const grant = this.refreshTokens.get(token);
    if (!grant || grant.clientId !== clientId) return null;
    this.refreshTokens.delete(token);
    return grant.consentId;
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
