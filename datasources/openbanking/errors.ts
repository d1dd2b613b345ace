/**
 * Open Banking answers -> domain errors. Resource servers answer OBErrorResponse1 (or nothing: the
 * spec gives 401 and 404 no body), the token endpoint answers RFC 6749 errors. The partner's codes
 * and messages go to PartnerError.partnerCode and the logs, never to clients.
 */
import {
  ConsentRequiredError,
  NotFoundError,
  PartnerError,
  type PartnerErrorCode,
} from '../../domain/errors.js';
import { retryAfterSeconds, type ErrorFromResponse, type ResponseHeaders } from '../http.js';
import { errorResponseSchema, tokenErrorSchema } from './types.js';

const PARTNER = 'openbanking';

/** Canonical permissions (the graph's scopes), which clients see instead of OB permission codes. */
export type CanonicalPermission = 'accounts:read' | 'balances:read' | 'transactions:read';

/** The canonical permission each PSU endpoint needs, to name it when the consent does not cover it. */
export const PERMISSION_FOR_ENDPOINT: Readonly<Record<string, CanonicalPermission>> = {
  'GET /accounts': 'accounts:read',
  'GET /accounts/{AccountId}': 'accounts:read',
  'GET /balances': 'balances:read',
  'GET /transactions': 'transactions:read',
};

/** OB error codes that mean the customer has to consent (again) before we can read. */
const CONSENT_CODES = new Set([
  'UK.OBIE.Resource.InvalidConsentStatus',
  'UK.OBIE.Resource.ConsentMismatch',
  'UK.OBIE.Reauthenticate',
]);

/** The first error of an OBErrorResponse1 body: its code (or the body's Code) and its path. */
function obErrorOf(bodyText: string): { code?: string; path?: string } {
  try {
    const parsed = errorResponseSchema.safeParse(JSON.parse(bodyText));
    if (!parsed.success) return {};
    const first = parsed.data.Errors[0];
    return { code: first?.ErrorCode ?? parsed.data.Code, ...(first?.Path ? { path: first.Path } : {}) };
  } catch {
    return {};
  }
}

/**
 * Whether an answer on an account-scoped endpoint says the account is not there for this consent.
 * The Read/Write API profile answers an account the consent does not cover with 403 (the v3.1.11
 * account endpoints declare no 404) and an id the bank does not know with 400
 * UK.OBIE.Resource.NotFound. The 403 names the account (ConsentMismatch on the path AccountId, or
 * Resource.NotFound), unlike the 403s about the consent itself (InvalidConsentStatus, Reauthenticate,
 * or a permission it lacks). 404 is kept for banks that answer one.
 */
function accountAbsent(status: number, code: string | undefined, path: string | undefined): boolean {
  if (status === 404) return true;
  if (code === 'UK.OBIE.Resource.NotFound') return status === 400 || status === 403;
  return status === 403 && code === 'UK.OBIE.Resource.ConsentMismatch' && path === 'AccountId';
}

function partnerError(
  code: PartnerErrorCode,
  status: number,
  endpoint: string,
  partnerCode: string | undefined,
  retryable: boolean,
  retryAfter?: number,
): PartnerError {
  return new PartnerError({
    partner: PARTNER,
    code,
    status,
    endpoint,
    partnerCode,
    retryable,
    ...(retryAfter === undefined ? {} : { retryAfterSeconds: retryAfter }),
  });
}

/** Status classes every OB endpoint shares: throttling and server failures. */
function common(
  status: number,
  headers: ResponseHeaders,
  endpoint: string,
  partnerCode?: string,
): PartnerError | null {
  if (status === 429) {
    return partnerError(
      'PARTNER_RATE_LIMITED',
      status,
      endpoint,
      partnerCode,
      true,
      retryAfterSeconds(headers),
    );
  }
  if (status >= 500) {
    // 501 will not change on a retry; every other 5xx may.
    return partnerError('PARTNER_UNAVAILABLE', status, endpoint, partnerCode, status !== 501);
  }
  return null;
}

/**
 * Resource server errors. 401 stays a PartnerError with status 401 so the client can refresh the
 * token and retry once. On an account-scoped endpoint, an account outside the consent or unknown to
 * the bank is NotFoundError, exactly what a missing account is (accountAbsent). Any other 403 (and
 * the consent codes) on a PSU endpoint means the consent does not cover the call: revoked, expired,
 * or without the permission.
 */
export const errorFromResponse: ErrorFromResponse = (status, headers, bodyText, { endpoint }) => {
  const { code: partnerCode, path } = obErrorOf(bodyText);
  const shared = common(status, headers, endpoint, partnerCode);
  if (shared) return shared;
  if (endpoint.includes('{AccountId}') && accountAbsent(status, partnerCode, path)) {
    return new NotFoundError('Account');
  }
  const permission = PERMISSION_FOR_ENDPOINT[endpoint];
  if (permission && (status === 403 || (status === 400 && partnerCode && CONSENT_CODES.has(partnerCode)))) {
    return new ConsentRequiredError(PARTNER, permission);
  }
  if (status === 401 || status === 403 || status === 404) {
    // A misconfigured client (wrong URL, role or credentials): retrying will not help.
    return partnerError('PARTNER_UNAVAILABLE', status, endpoint, partnerCode, false);
  }
  // Any other 4xx means the two sides disagree on the contract.
  return partnerError('PARTNER_CONTRACT_VIOLATION', status, endpoint, partnerCode, false);
};

/** Token endpoint errors (RFC 6749 section 5.2). invalid_grant is kept recognisable, see isInvalidGrant. */
export const tokenErrorFromResponse: ErrorFromResponse = (status, headers, bodyText, { endpoint }) => {
  let oauthCode: string | undefined;
  try {
    const parsed = tokenErrorSchema.safeParse(JSON.parse(bodyText));
    oauthCode = parsed.success ? parsed.data.error : undefined;
  } catch {
    oauthCode = undefined;
  }
  const shared = common(status, headers, endpoint, oauthCode);
  if (shared) return shared;
  if (oauthCode === 'invalid_grant' || status === 401) {
    return partnerError('PARTNER_UNAVAILABLE', status, endpoint, oauthCode, false);
  }
  return partnerError('PARTNER_CONTRACT_VIOLATION', status, endpoint, oauthCode, false);
};

/** The token endpoint refused a code or refresh token: the customer must authorise again. */
export function isInvalidGrant(error: unknown): boolean {
  return error instanceof PartnerError && error.partnerCode === 'invalid_grant';
}

/** The resource server refused the access token. */
export function isUnauthorised(error: unknown): boolean {
  return error instanceof PartnerError && error.status === 401;
}

/** The bank no longer knows the consent (deleted already, or expired and purged): nothing left to delete. */
export function isConsentGone(error: unknown): boolean {
  return (
    error instanceof PartnerError &&
    (error.status === 404 || error.partnerCode === 'UK.OBIE.Resource.NotFound')
  );
}
