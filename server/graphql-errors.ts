/**
 * Where domain errors become GraphQL error codes (and nowhere else). In production only known codes
 * and their safe messages leave the process: no stack, SQL, host, partner body or secret. Every error
 * carries the request's correlation id, also for failures before a context exists.
 */
import { AsyncLocalStorage } from 'node:async_hooks';
import { unwrapResolverError } from '@apollo/server/errors';
import type { FastifyError, FastifyReply, FastifyRequest } from 'fastify';
import type { GraphQLError, GraphQLFormattedError } from 'graphql';
import type { Logger } from 'pino';
import { ERROR_CODES, isDomainError, PartnerError, type ErrorCode } from '../domain/errors.js';
import { isTokenLimitError, tokenLimitError } from './limits.js';

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
    // The parser's maxTokens refusal is a limit, not a typo: QUERY_TOO_COMPLEX, without the position.
    if (given === 'GRAPHQL_PARSE_FAILED' && isTokenLimitError(formatted)) {
      const limit = /(\d+) tokens/.exec(formatted.message)?.[1] ?? 'the allowed number of';
      return {
        message: tokenLimitError(limit).message,
        extensions: { code: 'QUERY_TOO_COMPLEX', correlationId },
      };
    }
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

/** What a refused HTTP request (one that never reached Apollo) answers: status and a GraphQL-shaped body. */
export interface TransportAnswer {
  status: number;
  body: { errors: [{ message: string; extensions: { code: ErrorCode; correlationId: string } }] };
}

/**
 * Fastify's own refusals — body over the limit, a body that is not JSON, a media type with no parser
 * (form posts) — in the shape every other error has: a code, a safe message and the correlation id,
 * never fastify's `{ statusCode, code, error, message }`. Always a 4xx for the client's mistakes.
 */
export function transportAnswer(error: FastifyError, correlationId: string): TransportAnswer {
  const answer = (status: number, code: ErrorCode, message: string): TransportAnswer => ({
    status,
    body: { errors: [{ message, extensions: { code, correlationId } }] },
  });
  switch (error.code) {
    case 'FST_ERR_CTP_BODY_TOO_LARGE':
      return answer(413, 'QUERY_TOO_COMPLEX', 'The request body is larger than the server accepts.');
    case 'FST_ERR_CTP_INVALID_MEDIA_TYPE':
    case 'FST_ERR_CTP_INVALID_TYPE':
      return answer(415, 'BAD_USER_INPUT', 'Send GraphQL requests as application/json.');
    case 'FST_ERR_CTP_INVALID_JSON_BODY':
    case 'FST_ERR_CTP_EMPTY_JSON_BODY':
      return answer(400, 'BAD_USER_INPUT', 'The request body is not valid JSON.');
  }
  const status = error.statusCode ?? 500;
  if (status >= 400 && status < 500)
    return answer(status, 'BAD_USER_INPUT', 'The request could not be read.');
  return answer(500, 'INTERNAL_SERVER_ERROR', 'Internal server error.');
}

/** A fastify error handler for the GraphQL route, built on transportAnswer; 5xx are logged. */
export function transportErrorHandler(error: FastifyError, request: FastifyRequest, reply: FastifyReply) {
  const { status, body } = transportAnswer(error, request.id);
  if (status >= 500) request.log.error({ err: error }, 'the GraphQL route failed before Apollo answered');
  return reply.code(status).type('application/json').send(body);
}
