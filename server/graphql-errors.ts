/**
 * Where domain errors become GraphQL error codes (and nowhere else). In production only known codes
 * and their safe messages leave the process: no stack, SQL, host, partner body or secret. Every error
 * carries the request's correlation id: stamped by `correlationPlugin` from the request's context, and,
 * for the few refusals Apollo answers before a context exists, by `stampCorrelationId` on the way out.
 *
 * No AsyncLocalStorage: on Node 20 its hooks tax every promise of the process, and the context already
 * knows the request.
 */
import type { ApolloServerPlugin } from '@apollo/server';
import { unwrapResolverError } from '@apollo/server/errors';
import type { FastifyError, FastifyReply, FastifyRequest } from 'fastify';
import type { GraphQLError, GraphQLFormattedError } from 'graphql';
import type { Logger } from 'pino';
import { ERROR_CODES, isDomainError, PartnerError, type ErrorCode } from '../domain/errors.js';
import { isTokenLimitError, tokenLimitError } from './limits.js';
import { redactDeep } from './logger.js';
import { sdlPiiInputFields } from './sdl.js';

/** Input fields marked @pii, read from the SDL the first time an operation is logged. */
let piiInputs: ReadonlySet<string> | undefined;

const KNOWN_CODES = new Set<string>(ERROR_CODES);

/** Apollo's own codes for requests that never reached execution, and what we call them. */
const APOLLO_CODES: Readonly<Record<string, ErrorCode>> = {
  GRAPHQL_PARSE_FAILED: 'BAD_USER_INPUT',
  GRAPHQL_VALIDATION_FAILED: 'BAD_USER_INPUT',
  BAD_USER_INPUT: 'BAD_USER_INPUT',
  BAD_REQUEST: 'BAD_USER_INPUT',
  OPERATION_RESOLUTION_FAILURE: 'BAD_USER_INPUT',
};

/**
 * The automatic persisted queries protocol's own answers keep their own codes: a miss is how the
 * protocol asks the client for the query (Apollo Client resends on PERSISTED_QUERY_NOT_FOUND), not a
 * client mistake; a hash that does not match its query or an unknown version is one, but not ours.
 */
function persistedQueryCode(formatted: GraphQLFormattedError): ErrorCode | undefined {
  const given = formatted.extensions?.code;
  if (given === 'PERSISTED_QUERY_NOT_FOUND' || given === 'PERSISTED_QUERY_NOT_SUPPORTED') return given;
  if (/^(provided sha does not match query|Unsupported persisted query version)/.test(formatted.message))
    return 'PERSISTED_QUERY_INVALID';
  return undefined;
}

/** Production answers carry no schema hints: graphql-js's "Did you mean ...?" names fields and values. */
function withoutSuggestions(message: string): string {
  return message.replace(/\s*Did you mean [^?]*\?/g, '');
}

export interface ErrorFormatterOptions {
  /** Mask unknown errors and drop non-public details. */
  production: boolean;
}

/** The error a client's answer is about: the domain error under Apollo's and graphql-js' wrappers. */
function originalOf(error: unknown): unknown {
  const unwrapped = unwrapResolverError(error);
  // Errors raised in validation rules and plugins carry the domain error as originalError.
  return isDomainError(unwrapped)
    ? unwrapped
    : ((unwrapped as GraphQLError | undefined)?.originalError ?? unwrapped);
}

/** The code a non-domain error answers, or undefined when it is unexpected (INTERNAL_SERVER_ERROR). */
function expectedCode(formatted: GraphQLFormattedError): ErrorCode | undefined {
  const given = typeof formatted.extensions?.code === 'string' ? formatted.extensions.code : undefined;
  const mapped = given
    ? (APOLLO_CODES[given] ?? (KNOWN_CODES.has(given) ? (given as ErrorCode) : undefined))
    : undefined;
  return mapped === 'INTERNAL_SERVER_ERROR' ? undefined : mapped;
}

/**
 * Logs what an error needs operators to know, on the request's logger (which carries its correlation
 * id): a partner failure with its partner details, an unexpected error with its stack. Expected
 * client mistakes are not logged.
 */
export function reportError(error: unknown, logger: Logger): void {
  const original = originalOf(error);
  if (isDomainError(original)) {
    if (original instanceof PartnerError || original.code === 'INTERNAL_SERVER_ERROR')
      logger.warn(partnerLogFields(original), 'a partner call failed a GraphQL field');
    return;
  }
  const formatted = error instanceof Error && 'toJSON' in error ? (error as GraphQLError).toJSON() : {};
  const persisted = persistedQueryCode(formatted as GraphQLFormattedError);
  if (persisted === 'PERSISTED_QUERY_INVALID') {
    logger.warn(
      { reason: (formatted as GraphQLFormattedError).message },
      'a persisted query request was refused',
    );
    return;
  }
  if (persisted || expectedCode(formatted as GraphQLFormattedError)) return;
  const path = (error as { path?: unknown }).path;
  logger.error({ err: original, path }, 'an unexpected error reached the client');
}

/**
 * The request-scoped half of error handling: every error the request encountered is reported on the
 * request's logger, and every error of the answer (partial failures included: list this plugin after
 * the partial-errors plugin) carries the request's correlation id.
 */
export function correlationPlugin(): ApolloServerPlugin<{ correlationId: string; logger: Logger }> {
  return {
    async requestDidStart() {
      return {
        // At debug level, which operation ran with which variables (personal and secret fields redacted).
        async didResolveOperation({ operationName, operation, request, contextValue }) {
          if (!contextValue.logger.isLevelEnabled('debug')) return;
          piiInputs ??= new Set(sdlPiiInputFields());
          const variables = redactDeep(request.variables ?? {}, piiInputs);
          contextValue.logger.debug(
            { operationName, operation: operation?.operation ?? null, variables },
            'GraphQL operation.',
          );
        },
        async didEncounterErrors({ errors, contextValue }) {
          for (const error of errors) reportError(error, contextValue.logger);
        },
        async willSendResponse({ response, contextValue }) {
          if (response.body.kind !== 'single' || !response.body.singleResult.errors) return;
          const { correlationId } = contextValue;
          response.body.singleResult.errors = response.body.singleResult.errors.map((error) => ({
            ...error,
            extensions: { ...error.extensions, correlationId },
          }));
        },
      };
    },
  };
}

/**
 * A GraphQL error body answered before a context existed (CSRF refusal, batching, a malformed HTTP
 * request Apollo refuses itself) gets the request's correlation id on its way out. Other bodies pass
 * untouched: this reads only error answers that carry no id yet.
 */
export function stampCorrelationId(payload: string, correlationId: string): string {
  if (!payload.includes('"errors"') || payload.includes('"correlationId"')) return payload;
  try {
    const body = JSON.parse(payload) as { errors?: { extensions?: Record<string, unknown> }[] };
    if (!Array.isArray(body.errors)) return payload;
    body.errors = body.errors.map((error) => ({
      ...error,
      extensions: { ...error.extensions, correlationId },
    }));
    return JSON.stringify(body);
  } catch {
    return payload;
  }
}

/**
 * Apollo's formatError: the domain error's code and safe message, Apollo's request errors mapped to
 * ours, and anything else masked in production. `correlationId` is for callers that know the request
 * (Apollo's own call passes none: correlationPlugin stamps it afterwards).
 */
export function createErrorFormatter(options: ErrorFormatterOptions) {
  return (
    formatted: GraphQLFormattedError,
    error: unknown,
    correlationId?: string,
  ): GraphQLFormattedError => {
    const original = originalOf(error);
    const message = options.production ? withoutSuggestions(formatted.message) : formatted.message;
    const base = { message, locations: formatted.locations, path: formatted.path };
    // Known here only to callers that pass it; otherwise correlationPlugin stamps it afterwards.
    const id = correlationId === undefined ? {} : { correlationId };

    if (isDomainError(original)) {
      return {
        ...base,
        message: original.message,
        extensions: {
          ...original.extensions,
          code: original.code,
          ...(original.retryable ? { retryable: true } : {}),
          ...id,
        },
      };
    }

    const persisted = persistedQueryCode(formatted);
    if (persisted) return { ...base, extensions: { code: persisted, ...id } };

    const given = typeof formatted.extensions?.code === 'string' ? formatted.extensions.code : undefined;
    // The parser's maxTokens refusal is a limit, not a typo: QUERY_TOO_COMPLEX, without the position.
    if (given === 'GRAPHQL_PARSE_FAILED' && isTokenLimitError(formatted)) {
      const limit = /(\d+) tokens/.exec(formatted.message)?.[1] ?? 'the allowed number of';
      return {
        message: tokenLimitError(limit).message,
        extensions: { code: 'QUERY_TOO_COMPLEX', ...id },
      };
    }
    const mapped = given
      ? (APOLLO_CODES[given] ?? (KNOWN_CODES.has(given) ? (given as ErrorCode) : undefined))
      : undefined;
    if (mapped && mapped !== 'INTERNAL_SERVER_ERROR') {
      const reason = given !== mapped ? { reason: given } : {};
      return {
        ...base,
        extensions: { ...safeExtensions(formatted), code: mapped, ...reason, ...id },
      };
    }

    return {
      ...base,
      message: options.production ? 'Internal server error.' : formatted.message,
      extensions: { code: 'INTERNAL_SERVER_ERROR', ...id },
    };
  };
}

/** Extensions a rejected request may keep: not the stack trace, nothing Apollo put there for debugging. */
function safeExtensions(formatted: GraphQLFormattedError): Record<string, unknown> {
  const { stacktrace: _stacktrace, exception: _exception, http: _http, ...rest } = formatted.extensions ?? {};
  return rest;
}

function partnerLogFields(error: Error): Record<string, unknown> {
  if (!(error instanceof PartnerError)) return { err: error };
  return {
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

/** Every route's fastify error handler, built on transportAnswer; 5xx are logged. */
export function transportErrorHandler(error: FastifyError, request: FastifyRequest, reply: FastifyReply) {
  const { status, body } = transportAnswer(error, request.id);
  if (status >= 500) request.log.error({ err: error }, 'the GraphQL route failed before Apollo answered');
  return reply.code(status).type('application/json').send(body);
}

/** Unknown paths (and methods) answer in the same shape: a code, a safe message, the correlation id. */
export function notFoundHandler(request: FastifyRequest, reply: FastifyReply) {
  const body = {
    errors: [
      {
        message: 'There is nothing at this path.',
        extensions: { code: 'NOT_FOUND' as ErrorCode, correlationId: request.id },
      },
    ],
  };
  return reply.code(404).type('application/json').send(body);
}
