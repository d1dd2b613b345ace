/**
 * The shapes of consent rows (store/consents.ts, store/consent-links.ts): what callers pass and get
 * back, the rows as the database returns them, the columns every read selects, the conditions that
 * make a consent ACTIVE or waiting, and a row's Consent.
 */
import { isProviderName, type Consent, type ConsentStatus, type ProviderName } from '../domain/model.js';
import type { PartnerCredential } from '../domain/providers.js';
import type { ConsentCredential } from './consent-credentials.js';

/** What `grant` records. */
export interface GrantConsentInput {
  subject: string;
  provider: ProviderName;
  permissions: readonly string[];
  /** The partner's handle for the link: Open Banking consent id, Plaid item id. */
  partnerRef: string;
  credential: ConsentCredential | null;
  expiresAt: Date | null;
  /** Defaults to now. */
  grantedAt?: Date;
}

/** An active consent as `listActive` returns it, its credential still sealed until opened. */
export interface ActiveConsent {
  consent: Consent;
  /** Decrypts the consent's partner credential; null when the consent holds none. */
  openCredential: (() => PartnerCredential) | null;
}

/** What `startGrant` records: a grant waiting for the customer's answer at the partner. */
export interface StartGrantInput {
  subject: string;
  provider: ProviderName;
  permissions: readonly string[];
  /** The partner's handle of the pending grant (Open Banking ConsentId, Plaid link token). */
  partnerRef: string;
  expiresAt: Date | null;
  /** The OAuth state handed to the customer's browser; only its digest is stored. */
  state: string;
  /** What completing needs: sealed at rest, cleared once used. */
  pending: PendingGrant;
}

/** The secrets of a pending grant. */
export interface PendingGrant {
  codeVerifier: string;
  redirectUri: string;
}

/** A consent whose deletion at the partner is due, with what the partner needs to delete it. */
export interface DuePartnerRevocation {
  consent: Consent;
  partnerRef: string;
  /** Null when the link held no credential (a grant revoked before the customer answered). */
  accessToken: string | null;
  attempts: number;
}

/** A consents row. */
export interface ConsentRow {
  id: string;
  subject: string;
  provider: string;
  permissions: string[];
  partner_ref: string;
  credentials_sealed: string | null;
  key_id: string | null;
  granted_at: Date;
  authorised_at: Date | null;
  declined_at: Date | null;
  expires_at: Date | null;
  revoked_at: Date | null;
  pending_sealed: string | null;
  partner_revocation_attempts: number;
}

export const COLUMNS = `id, subject, provider, permissions, partner_ref, credentials_sealed, key_id, granted_at, authorised_at,
  declined_at, expires_at, revoked_at, pending_sealed, partner_revocation_attempts`;

/** Authorised, not revoked and not expired at the time in parameter `at` (e.g. `$3`). */
export const activeAt = (at: string) =>
  `authorised_at IS NOT NULL AND revoked_at IS NULL AND (expires_at IS NULL OR expires_at > ${at})`;

/** ACTIVE at the time in parameter `$3`. */
export const ACTIVE = activeAt('$3');

/** Waiting for the customer: neither answered nor revoked. */
export const AWAITING = 'authorised_at IS NULL AND declined_at IS NULL AND revoked_at IS NULL';

export const NEWEST_FIRST = 'ORDER BY granted_at DESC, created_at DESC, id';

/** The consent a row records, its status as of `now`. */
export function toConsent(row: ConsentRow, now: Date): Consent {
  if (!isProviderName(row.provider)) {
    throw new Error(`Consent ${row.id} names an unknown provider ${row.provider}.`);
  }
  return {
    id: row.id,
    subject: row.subject,
    provider: row.provider,
    permissions: row.permissions,
    status: statusOf(row, now),
    grantedAt: row.granted_at,
    authorisedAt: row.authorised_at,
    expiresAt: row.expires_at,
    revokedAt: row.revoked_at,
  };
}

function statusOf(row: ConsentRow, now: Date): ConsentStatus {
  if (row.revoked_at) return 'REVOKED';
  if (row.declined_at) return 'REJECTED';
  if (!row.authorised_at) return 'AWAITING_AUTHORISATION';
  if (row.expires_at && row.expires_at <= now) return 'EXPIRED';
  return 'ACTIVE';
}
