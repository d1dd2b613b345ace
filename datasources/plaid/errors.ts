/**
 * Plaid failures -> domain errors. Plaid says what went wrong in `error_type`/`error_code` (its docs:
 * "use these in preference to HTTP status codes"); the status only decides when the body is not
 * Plaid's error object. Nothing from the partner's body reaches the client: the code is kept for logs.
 */
import { ConsentRequiredError, PartnerError, type PartnerErrorCode } from '../../domain/errors.js';
import { reportViolation, type ViolationCall } from '../contract.js';
import { plaidErrorSchema, type PlaidErrorBody, type PlaidErrorType } from './types.js';

/** Plaid's answer when a paginated /transactions/sync update changed under the caller. */
export const MUTATION_DURING_PAGINATION = 'TRANSACTIONS_SYNC_MUTATION_DURING_PAGINATION';

/** Which call failed: the endpoint for logs, the canonical permission a re-link would restore. */
export interface PlaidCallInfo {
  endpoint: string;
  permission: string;
}

type Outcome = { consent: true } | { consent: false; code: PartnerErrorCode; retryable: boolean };

const unavailable = (retryable: boolean): Outcome => ({
  consent: false,
  code: 'PARTNER_UNAVAILABLE',
  retryable,
});
const CONSENT: Outcome = { consent: true };

/** ITEM_ERROR codes that do not mean the link is broken. */
const ITEM_ERRORS_NOT_CONSENT: Readonly<Record<string, Outcome>> = {
  PRODUCT_NOT_READY: unavailable(true),
  PRODUCTS_NOT_SUPPORTED: unavailable(false),
  ITEM_NOT_SUPPORTED: unavailable(false),
};

/** Every Plaid error type, decided; a new type in the spec fails to compile here. */
function outcomeOf(error: PlaidErrorBody): Outcome {
  const type: PlaidErrorType = error.error_type;
  switch (type) {
    case 'RATE_LIMIT_EXCEEDED':
      return { consent: false, code: 'PARTNER_RATE_LIMITED', retryable: true };
    case 'ITEM_ERROR':
      return ITEM_ERRORS_NOT_CONSENT[error.error_code] ?? CONSENT;
    case 'INVALID_INPUT':
      // Our stored access token opens nothing any more: only the customer re-linking helps.
      return error.error_code === 'INVALID_ACCESS_TOKEN' ? CONSENT : unavailable(false);
    case 'API_ERROR':
    case 'INSTITUTION_ERROR':
      return unavailable(true);
    case 'TRANSACTIONS_ERROR':
      return unavailable(error.error_code === MUTATION_DURING_PAGINATION);
    case 'INVALID_REQUEST':
    case 'INVALID_RESULT':
    case 'ASSET_REPORT_ERROR':
    case 'BASE_REPORT_ERROR':
    case 'RECAPTCHA_ERROR':
    case 'OAUTH_ERROR':
    case 'PAYMENT_ERROR':
    case 'BANK_TRANSFER_ERROR':
    case 'INCOME_VERIFICATION_ERROR':
    case 'MICRODEPOSITS_ERROR':
    case 'SANDBOX_ERROR':
    case 'PARTNER_ERROR':
    case 'SIGNAL_ERROR':
    case 'TRANSACTION_ERROR':
    case 'TRANSFER_ERROR':
    case 'CHECK_REPORT_ERROR':
    case 'CONSUMER_REPORT_ERROR':
    case 'USER_ERROR':
      return unavailable(false);
    default: {
      const never: never = type;
      return never;
    }
  }
}

/** Seconds from a Retry-After header (delta-seconds form only; Plaid does not send dates). */
function retryAfter(headers: Readonly<Record<string, string>>): number | undefined {
  const value = headers['retry-after'];
  if (value === undefined || !/^\d{1,6}$/.test(value.trim())) return undefined;
  return Number(value.trim());
}

/**
 * Maps a non-2xx answer (body already parsed, or the raw text when it was not JSON). A broken link
 * (ITEM_LOGIN_REQUIRED and the other ITEM errors, a dead access token) is CONSENT_REQUIRED: only the
 * customer re-linking fixes it. The caller logs `error_code`; it never reaches the client.
 */
export function plaidErrorFromResponse(
  status: number,
  headers: Readonly<Record<string, string>>,
  body: unknown,
  info: PlaidCallInfo,
): Error {
  const parsed = plaidErrorSchema.safeParse(body);
  const base = {
    partner: 'plaid' as const,
    status,
    endpoint: info.endpoint,
    retryAfterSeconds: retryAfter(headers),
  };
  if (!parsed.success) {
    if (status === 429) return new PartnerError({ ...base, code: 'PARTNER_RATE_LIMITED', retryable: true });
    if (status >= 500) return new PartnerError({ ...base, code: 'PARTNER_UNAVAILABLE', retryable: true });
    return new PartnerError({
      ...base,
      code: 'PARTNER_CONTRACT_VIOLATION',
      retryable: false,
      issues: [`(error body): not a Plaid error object (HTTP ${status})`],
    });
  }
  const error = parsed.data;
  const outcome = outcomeOf(error);
  if (outcome.consent) return new ConsentRequiredError('plaid', info.permission, error.error_code);
  // A 5xx is Plaid's own trouble whatever the type says; the same request may well work later.
  const retryable = outcome.retryable || (status >= 500 && outcome.code === 'PARTNER_UNAVAILABLE');
  return new PartnerError({ ...base, code: outcome.code, retryable, partnerCode: error.error_code });
}

/** True for Plaid's "restart the paginated sync" answer. */
export function isMutationDuringPagination(error: unknown): boolean {
  return error instanceof PartnerError && error.partnerCode === MUTATION_DURING_PAGINATION;
}

/**
 * Runs a mapping step (the mapper is pure: its violations carry no logger), logging the contract
 * violation it finds where the call is known.
 */
export function mapReported<T>(call: ViolationCall, fn: () => T): T {
  try {
    return fn();
  } catch (error) {
    if (error instanceof PartnerError && error.code === 'PARTNER_CONTRACT_VIOLATION')
      throw reportViolation(error, call);
    throw error;
  }
}
