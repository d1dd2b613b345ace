/**
 * Domain errors. Code throws these; only formatError (server/graphql.ts) turns them into GraphQL
 * error codes, masks them in production and stamps the correlation id.
 */
import type { ProviderName } from './model.js';

export const ERROR_CODES = [
  'UNAUTHENTICATED',
  'FORBIDDEN',
  'NOT_FOUND',
  'BAD_USER_INPUT',
  'CONSENT_REQUIRED',
  'IDEMPOTENCY_KEY_REQUIRED',
  'IDEMPOTENCY_KEY_REUSED',
  'IDEMPOTENCY_KEY_IN_USE',
  'PARTNER_UNAVAILABLE',
  'PARTNER_TIMEOUT',
  'PARTNER_RATE_LIMITED',
  'PARTNER_CONTRACT_VIOLATION',
  'QUERY_TOO_COMPLEX',
  'REQUEST_TIMEOUT',
  'PERSISTED_QUERY_NOT_FOUND',
  'PERSISTED_QUERY_NOT_SUPPORTED',
  'PERSISTED_QUERY_INVALID',
  'PERSISTED_QUERY_REQUIRED',
  'NOT_IMPLEMENTED',
  'INTERNAL_SERVER_ERROR',
] as const;
export type ErrorCode = (typeof ERROR_CODES)[number];

/** Base of every error whose message is safe to show a client. */
export abstract class DomainError extends Error {
  abstract readonly code: ErrorCode;
  /** Whether the client may retry the same request later and expect a different outcome. */
  get retryable(): boolean {
    return false;
  }
  /** Extra, client-safe fields for `extensions`. */
  readonly extensions: Record<string, unknown> = {};
}

export class UnauthenticatedError extends DomainError {
  readonly code = 'UNAUTHENTICATED';
  constructor(message = 'A valid bearer token is required.') {
    super(message);
  }
}

export class ForbiddenError extends DomainError {
  readonly code = 'FORBIDDEN';
  constructor(message = 'Not allowed.') {
    super(message);
  }
}

export class NotFoundError extends DomainError {
  readonly code = 'NOT_FOUND';
  constructor(what: string) {
    super(`${what} was not found.`);
  }
}

export class InputError extends DomainError {
  readonly code = 'BAD_USER_INPUT';
  constructor(
    message: string,
    readonly field?: string,
  ) {
    super(message);
    if (field) this.extensions.field = field;
  }
}

export class ConsentRequiredError extends DomainError {
  readonly code = 'CONSENT_REQUIRED';
  /** The partner's own reason (e.g. Plaid's ITEM_LOGIN_REQUIRED): for logs, never sent to clients. */
  readonly partnerCode: string | undefined;
  constructor(provider: ProviderName, permission: string, partnerCode?: string) {
    super(
      `An active ${provider} consent with the ${permission} permission is required: ask the customer to grant one (grantConsent).`,
    );
    Object.assign(this.extensions, { provider, permission });
    this.partnerCode = partnerCode;
  }
}

export class IdempotencyError extends DomainError {
  constructor(
    readonly code: 'IDEMPOTENCY_KEY_REQUIRED' | 'IDEMPOTENCY_KEY_REUSED' | 'IDEMPOTENCY_KEY_IN_USE',
    message: string,
  ) {
    super(message);
  }
  override get retryable(): boolean {
    return this.code === 'IDEMPOTENCY_KEY_IN_USE';
  }
}

export class QueryTooComplexError extends DomainError {
  readonly code = 'QUERY_TOO_COMPLEX';
}

/** PERSISTED_OPERATIONS=require: a document that is not one of the published operations is not run. */
export class PersistedQueryRequiredError extends DomainError {
  readonly code = 'PERSISTED_QUERY_REQUIRED';
  constructor() {
    super('Only published operations run here: send the id of one (extensions.persistedQuery.sha256Hash).');
  }
}

/** Thrown by a provider for an operation its partner cannot do; never answered with empty data. */
export class NotSupportedError extends DomainError {
  readonly code = 'BAD_USER_INPUT';
  constructor(provider: ProviderName, operation: string) {
    super(`${provider} does not support ${operation}.`);
  }
}

export type PartnerErrorCode =
  'PARTNER_UNAVAILABLE' | 'PARTNER_TIMEOUT' | 'PARTNER_RATE_LIMITED' | 'PARTNER_CONTRACT_VIOLATION';

/** Why a request provably never reached the partner. */
export type UnsentReason =
  'breaker open' | 'bulkhead full' | 'queued past the deadline' | 'connection refused';

export interface PartnerErrorDetails {
  partner: ProviderName;
  code: PartnerErrorCode;
  /** HTTP status the partner answered, when it answered at all. */
  status?: number;
  /** The partner's own error code (UK.OBIE.*, Plaid error_code, Stripe error code). Logged, not shown. */
  partnerCode?: string;
  /** Endpoint class for logs and metrics, e.g. "GET /accounts". Never shown to clients. */
  endpoint?: string;
  retryable: boolean;
  /** Seconds the partner asked us to wait (Retry-After). */
  retryAfterSeconds?: number;
  /** For contract violations: the failing paths in the payload. Logged, not shown. */
  issues?: string[];
  /**
   * The request provably never reached the partner (a breaker or bulkhead refused it, the connection
   * was refused): the partner cannot have acted on it, so a payment may safely go elsewhere.
   */
  unsent?: UnsentReason | null;
  /**
   * An earlier attempt of the same call (a retry under the same idempotency key) ended in a way that may
   * have reached the partner, whatever this last attempt says: the call as a whole is ambiguous.
   */
  doubtful?: boolean;
  cause?: unknown;
}

/**
 * A partner failed us. The client sees the code and a generic message naming the partner; the
 * partner's own body, host and codes only reach the logs.
 */
export class PartnerError extends DomainError {
  readonly code: PartnerErrorCode;
  readonly partner: ProviderName;
  readonly status: number | undefined;
  readonly partnerCode: string | undefined;
  readonly endpoint: string | undefined;
  readonly retryAfterSeconds: number | undefined;
  readonly issues: string[] | undefined;
  /** See PartnerErrorDetails.unsent; null when the request may have reached the partner. */
  readonly unsent: UnsentReason | null;
  /** See PartnerErrorDetails.doubtful. */
  readonly doubtful: boolean;
  private readonly isRetryable: boolean;
  private readonly details: PartnerErrorDetails;

  constructor(details: PartnerErrorDetails) {
    super(PartnerError.safeMessage(details.partner, details.code), { cause: details.cause });
    this.code = details.code;
    this.partner = details.partner;
    this.status = details.status;
    this.partnerCode = details.partnerCode;
    this.endpoint = details.endpoint;
    this.retryAfterSeconds = details.retryAfterSeconds;
    this.issues = details.issues;
    this.unsent = details.unsent ?? null;
    this.doubtful = details.doubtful ?? false;
    this.details = details;
    this.isRetryable = details.retryable;
    this.extensions.partner = details.partner;
  }

  override get retryable(): boolean {
    return this.isRetryable;
  }

  /** This error as the end of a call an earlier attempt of which may have reached the partner. */
  afterDoubtfulAttempt(): PartnerError {
    return new PartnerError({ ...this.details, doubtful: true, cause: this });
  }

  static safeMessage(partner: ProviderName, code: PartnerErrorCode): string {
    switch (code) {
      case 'PARTNER_TIMEOUT':
        return `${partner} did not answer in time.`;
      case 'PARTNER_RATE_LIMITED':
        return `${partner} is rate limiting requests; try again later.`;
      case 'PARTNER_CONTRACT_VIOLATION':
        return `${partner} answered with data that breaks its contract.`;
      case 'PARTNER_UNAVAILABLE':
        return `${partner} is unavailable.`;
    }
  }
}

/**
 * Whether an error proves the partner did not accept the request: it never left (`unsent`), or the
 * partner answered 503 or 429, which it does before acting on a request; and no earlier attempt of the
 * same call may have reached it.
 */
export function refusedBeforeAcceptance(error: unknown): error is PartnerError {
  if (!(error instanceof PartnerError) || error.doubtful) return false;
  return error.unsent !== null || error.status === 503 || error.status === 429;
}

export function isDomainError(error: unknown): error is DomainError {
  return error instanceof DomainError;
}
