import type { FastifyError } from 'fastify';
import { GraphQLError } from 'graphql';
import pino from 'pino';
import { describe, expect, it } from 'vitest';
import { ConsentRequiredError, NotFoundError, PartnerError } from '../../domain/errors.js';
import { createErrorFormatter, requestScope, transportAnswer } from '../../server/graphql-errors.js';

const logger = pino({ level: 'silent' });
const production = createErrorFormatter({ production: true, logger });
const development = createErrorFormatter({ production: false, logger });

/** Formats an error the way Apollo hands it to formatError, inside a request with a correlation id. */
function format(formatter: typeof production, error: GraphQLError) {
  return requestScope.run({ correlationId: 'corr-12345678' }, () => formatter(error.toJSON(), error));
}

describe('formatError', () => {
  it('keeps a domain error: its code, its safe message, its public extensions, the correlation id', () => {
    const error = new GraphQLError('ignored', {
      originalError: new ConsentRequiredError('openbanking', 'balances:read'),
      path: ['account', 'balance'],
    });
    expect(format(production, error)).toEqual({
      message: 'An active openbanking consent with the balances:read permission is required.',
      path: ['account', 'balance'],
      locations: undefined,
      extensions: {
        provider: 'openbanking',
        permission: 'balances:read',
        code: 'CONSENT_REQUIRED',
        correlationId: 'corr-12345678',
      },
    });
  });

  it("shows a partner failure by code and partner only: not the partner's status, code, endpoint or body", () => {
    const partner = new PartnerError({
      partner: 'openbanking',
      code: 'PARTNER_UNAVAILABLE',
      status: 503,
      partnerCode: 'UK.OBIE.UnexpectedError',
      endpoint: 'GET /accounts',
      retryable: true,
      cause: new Error('{"Errors":[{"ErrorCode":"UK.OBIE.UnexpectedError"}]} from 10.1.2.3'),
    });
    const formatted = format(production, new GraphQLError('x', { originalError: partner }));
    expect(formatted.message).toBe('openbanking is unavailable.');
    expect(formatted.extensions).toEqual({
      partner: 'openbanking',
      code: 'PARTNER_UNAVAILABLE',
      retryable: true,
      correlationId: 'corr-12345678',
    });
    expect(JSON.stringify(formatted)).not.toMatch(/UK\.OBIE|503|10\.1\.2\.3|GET \/accounts/);
  });

  it('masks an unexpected error in production, and only there', () => {
    const crash = new GraphQLError('relation "consents" does not exist', {
      originalError: Object.assign(new Error('relation "consents" does not exist'), { code: '42P01' }),
      extensions: { stacktrace: ['at query (store/consents.ts:10:5)'] },
    });
    expect(format(production, crash)).toEqual({
      message: 'Internal server error.',
      locations: undefined,
      path: undefined,
      extensions: { code: 'INTERNAL_SERVER_ERROR', correlationId: 'corr-12345678' },
    });
    expect(format(development, crash).message).toBe('relation "consents" does not exist');
    expect(format(development, crash).extensions).toEqual({
      code: 'INTERNAL_SERVER_ERROR',
      correlationId: 'corr-12345678',
    });
  });

  it('maps Apollo request errors to BAD_USER_INPUT, keeping the reason and dropping debugging extensions', () => {
    const error = new GraphQLError('Cannot query field "x" on type "Query".', {
      extensions: {
        code: 'GRAPHQL_VALIDATION_FAILED',
        stacktrace: ['at validate'],
        exception: { x: 1 },
        http: { status: 400 },
      },
    });
    expect(format(production, error).extensions).toEqual({
      code: 'BAD_USER_INPUT',
      reason: 'GRAPHQL_VALIDATION_FAILED',
      correlationId: 'corr-12345678',
    });
  });

  it("turns the parser's maxTokens refusal into QUERY_TOO_COMPLEX, without the position", () => {
    const error = new GraphQLError(
      'Syntax Error: Document contains more that 10000 tokens. Parsing aborted.',
      {
        extensions: { code: 'GRAPHQL_PARSE_FAILED' },
      },
    );
    expect(format(production, error)).toEqual({
      message: 'The query has more than 10000 tokens.',
      extensions: { code: 'QUERY_TOO_COMPLEX', correlationId: 'corr-12345678' },
    });
  });

  it('answers an unknown extension code as INTERNAL_SERVER_ERROR', () => {
    const error = new GraphQLError('internal detail', { extensions: { code: 'SOMETHING_ELSE' } });
    expect(format(production, error).extensions?.code).toBe('INTERNAL_SERVER_ERROR');
    expect(
      format(production, new GraphQLError('x', { originalError: new NotFoundError('Account') })).message,
    ).toBe('Account was not found.');
  });
});

describe('transport errors (fastify refused the request before Apollo)', () => {
  const fastifyError = (code: string, statusCode?: number, message = 'raw fastify message') =>
    Object.assign(new Error(message), { code, statusCode }) as FastifyError;

  it.each([
    ['FST_ERR_CTP_BODY_TOO_LARGE', 413, 413, 'QUERY_TOO_COMPLEX'],
    ['FST_ERR_CTP_INVALID_MEDIA_TYPE', 415, 415, 'BAD_USER_INPUT'],
    ['FST_ERR_CTP_INVALID_JSON_BODY', 400, 400, 'BAD_USER_INPUT'],
    ['FST_ERR_CTP_EMPTY_JSON_BODY', 400, 400, 'BAD_USER_INPUT'],
    ['FST_ERR_CTP_INVALID_CONTENT_LENGTH', 400, 400, 'BAD_USER_INPUT'],
    ['ERR_SOMETHING_UNEXPECTED', undefined, 500, 'INTERNAL_SERVER_ERROR'],
  ] as const)('%s -> %s %s', (code, statusCode, status, graphqlCode) => {
    const answer = transportAnswer(fastifyError(code, statusCode), 'corr-1');
    expect(answer.status).toBe(status);
    expect(answer.body.errors[0].extensions).toEqual({ code: graphqlCode, correlationId: 'corr-1' });
    expect(answer.body.errors[0].message).not.toContain('raw fastify message');
  });
});
