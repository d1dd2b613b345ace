/**
 * Where domain errors become GraphQL error codes (and nowhere else). In production only known codes
 * and their safe messages leave the process: no stack, SQL, host, partner body or secret. Every error
 * carries the request's correlation id, also for failures before a context exists.
 */
import { AsyncLocalStorage } from 'node:async_hooks';
import { unwrapResolverError } from '@apollo/server/errors';
import type { GraphQLError, GraphQLFormattedError } from 'graphql';
import type { Logger } from 'pino';
import { ERROR_CODES, isDomainError, PartnerError, type ErrorCode } from './errors.js';

/** The correlation id of the request being served, for code that has no context (formatError). */
export const requestScope = new AsyncLocalStorage<{ correlationId: string }>();

const KNOWN_CODES = new Set<string>(ERROR_CODES);

/** Apollo's own codes for requests that never reached execution, and what we call them. */
const APOLLO_CODES: Readonly<Record<string, ErrorCode>> = {
  GRAPHQL_PARSE_FAILED: 'BAD_USER_INPUT',
  GRAPHQL_VALIDATION_FAILED: 'BAD_USER_INPUT',
  BAD_USER_INPUT: 'BAD_USER_INPUT',
  BAD_REQUEST: 'BAD_USER_INPUT',
  OPERATION_RESOLUTION_FAILURE: 'BAD_USER_INPUT',
  PERSISTED_QUERY_NOT_FOUND: 'BAD_USER_INPUT',
  PERSISTED_QUERY_NOT_SUPPORTED: 'BAD_USER_INPUT',
};

export interface ErrorFormatterOptions {
  /** Mask unknown errors and drop non-public details. */
  production: boolean;
  logger: Logger;
}

export function createErrorFormatter(options: ErrorFormatterOptions) {
  return (formatted: GraphQLFormattedError, error: unknown): GraphQLFormattedError => {
    const correlationId = requestScope.getStore()?.correlationId;
    const unwrapped = unwrapResolverError(error);
    // Errors raised in validation rules and plugins carry the domain error as originalError.
    const original = isDomainError(unwrapped)
      ? unwrapped
      : ((unwrapped as GraphQLError | undefined)?.originalError ?? unwrapped);
    const base = { message: formatted.message, locations: formatted.locations, path: formatted.path };

    if (isDomainError(original)) {
      if (original instanceof PartnerError || original.code === 'INTERNAL_SERVER_ERROR') {
        options.logger.warn(
          partnerLogFields(original, correlationId),
          'a partner call failed a GraphQL field',
        );
      }
      return {
        ...base,
        message: original.message,
        extensions: {
          ...original.extensions,
          code: original.code,
          ...(original.retryable ? { retryable: true } : {}),
          correlationId,
        },
      };
    }

    const given = typeof formatted.extensions?.code === 'string' ? formatted.extensions.code : undefined;
    const mapped = given
      ? (APOLLO_CODES[given] ?? (KNOWN_CODES.has(given) ? (given as ErrorCode) : undefined))
      : undefined;
    if (mapped && mapped !== 'INTERNAL_SERVER_ERROR') {
      const reason = given !== mapped ? { reason: given } : {};
      return {
        ...base,
        extensions: { ...safeExtensions(formatted), code: mapped, ...reason, correlationId },
      };
    }

    options.logger.error(
      { err: original, correlationId, path: formatted.path },
      'an unexpected error reached the client',
    );
    return {
      ...base,
      message: options.production ? 'Internal server error.' : formatted.message,
      extensions: { code: 'INTERNAL_SERVER_ERROR', correlationId },
    };
  };
}

/** Extensions a rejected request may keep: not the stack trace, nothing Apollo put there for debugging. */
function safeExtensions(formatted: GraphQLFormattedError): Record<string, unknown> {
  const { stacktrace: _stacktrace, exception: _exception, http: _http, ...rest } = formatted.extensions ?? {};
  return rest;
}

function partnerLogFields(error: Error, correlationId: string | undefined): Record<string, unknown> {
  if (!(error instanceof PartnerError)) return { err: error, correlationId };
  return {
    correlationId,
    partner: error.partner,
    code: error.code,
    status: error.status,
    partnerCode: error.partnerCode,
    endpoint: error.endpoint,
    issues: error.issues,
    err: error.cause,
  };
}
