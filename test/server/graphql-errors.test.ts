import type { FastifyError } from 'fastify';
import { GraphQLError } from 'graphql';
import pino from 'pino';
import { describe, expect, it } from 'vitest';
import { ConsentRequiredError, NotFoundError, PartnerError } from '../../domain/errors.js';
import {
  createErrorFormatter,
  reportError,
  stampCorrelationId,
  transportAnswer,
} from '../../server/graphql-errors.js';

const production = createErrorFormatter({ production: true });
const development = createErrorFormatter({ production: false });

/** Formats an error the way Apollo hands it to formatError, for a request with a correlation id. */
function format(formatter: typeof production, error: GraphQLError) {
  return formatter(error.toJSON(), error, 'corr-12345678');
}

describe('formatError', () => {
  it('keeps a domain error: its code, its safe message, its public extensions, the correlation id', () => {
    const error = new GraphQLError('ignored', {
      originalError: new ConsentRequiredError('openbanking', 'balances:read'),
      path: ['account', 'balance'],
    });
    expect(format(production, error)).toEqual({
      message:
        'An active openbanking consent with the balances:read permission is required: ask the customer to grant one (grantConsent).',
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

describe('correlation ids and error reports without a request store', () => {
  it('stamps the correlation id on an error answer given before any context, and leaves others alone', () => {
    const refused = JSON.stringify({ errors: [{ message: 'This operation has been blocked.' }] });
    expect(JSON.parse(stampCorrelationId(refused, 'corr-1'))).toEqual({
      errors: [{ message: 'This operation has been blocked.', extensions: { correlationId: 'corr-1' } }],
    });
    const answered = JSON.stringify({ errors: [{ message: 'x', extensions: { correlationId: 'corr-0' } }] });
    expect(stampCorrelationId(answered, 'corr-1')).toBe(answered);
    expect(stampCorrelationId('{"data":{}}', 'corr-1')).toBe('{"data":{}}');
    expect(stampCorrelationId('not json "errors"', 'corr-1')).toBe('not json "errors"');
  });

  it("reports partner failures and unexpected errors on the request's logger, and client mistakes not at all", () => {
    const lines: { level: number; msg: string; partner?: string }[] = [];
    const logger = pino({ level: 'info' }, { write: (line: string) => void lines.push(JSON.parse(line)) });
    reportError(
      new GraphQLError('x', {
        originalError: new PartnerError({ partner: 'plaid', code: 'PARTNER_TIMEOUT', retryable: true }),
      }),
      logger,
    );
    reportError(new GraphQLError('boom', { originalError: new Error('SELECT * FROM secrets') }), logger);
    reportError(new GraphQLError('bad', { extensions: { code: 'GRAPHQL_VALIDATION_FAILED' } }), logger);
    reportError(new GraphQLError('gone', { originalError: new NotFoundError('Account') }), logger);
    expect(lines.map((line) => [line.level, line.msg, line.partner])).toEqual([
      [40, 'a partner call failed a GraphQL field', 'plaid'],
      [50, 'an unexpected error reached the client', undefined],
    ]);
  });
});
