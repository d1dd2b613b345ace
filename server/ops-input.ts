/**
 * What the ops API (ops-routes.ts) takes and how it refuses: query and body parsers that throw
 * `OpsError` with the HTTP status and code the console shows, and the one error handler that turns any
 * failure into `{ "error": { "code", "message" } }`.
 */
import type { FastifyReply, FastifyRequest } from 'fastify';
import { isPartnerName } from '../datasources/modules.js';
import { isDomainError } from '../domain/errors.js';
import type { ProviderName } from '../domain/model.js';
import type { WebhookEventStatus } from '../resolvers/__generated__/types.js';

const WEBHOOK_STATUSES: readonly WebhookEventStatus[] = [
  'RECEIVED',
  'PROCESSING',
  'PROCESSED',
  'FAILED',
  'DEAD_LETTER',
  'IGNORED',
];
/** A refusal with its HTTP status and code. */
export class OpsError extends Error {
  constructor(
    readonly status: number,
    readonly code: string,
    message: string,
  ) {
    super(message);
  }
}

export function partnerOf(value: string | undefined): ProviderName | null {
  if (value === undefined || value === '') return null;
  const name = value.toLowerCase();
  if (!isPartnerName(name)) throw new OpsError(400, 'BAD_USER_INPUT', `Unknown partner: ${value}.`);
  return name as ProviderName;
}

export function statusOf(value: string): WebhookEventStatus {
  const status = value.toUpperCase() as WebhookEventStatus;
  if (!WEBHOOK_STATUSES.includes(status))
    throw new OpsError(400, 'BAD_USER_INPUT', `status must be one of ${WEBHOOK_STATUSES.join(', ')}.`);
  return status;
}

export function timeOf(value: string | undefined, field: string): Date | null {
  if (value === undefined || value === '') return null;
  const at = new Date(value);
  if (Number.isNaN(at.getTime())) throw new OpsError(400, 'BAD_USER_INPUT', `${field} must be an ISO time.`);
  return at;
}

export function limitOf(value: string | undefined): number {
  if (value === undefined || value === '') return 50;
  const limit = Number(value);
  if (!Number.isInteger(limit) || limit < 1 || limit > 100)
    throw new OpsError(400, 'BAD_USER_INPUT', 'limit must be between 1 and 100.');
  return limit;
}

export function objectOf(body: unknown): Record<string, unknown> {
  if (body === undefined || body === null) return {};
  if (typeof body !== 'object' || Array.isArray(body))
    throw new OpsError(400, 'BAD_USER_INPUT', 'The body must be a JSON object.');
  return body as Record<string, unknown>;
}

export function listOf(value: unknown, field: string): string[] {
  if (!Array.isArray(value) || !value.every((item) => typeof item === 'string'))
    throw new OpsError(400, 'BAD_USER_INPUT', `${field} must be a list of names.`);
  return value as string[];
}

const STATUS_OF_CODE: Record<string, number> = {
  UNAUTHENTICATED: 401,
  FORBIDDEN: 403,
  NOT_FOUND: 404,
  BAD_USER_INPUT: 400,
  PARTNER_UNAVAILABLE: 503,
  PARTNER_TIMEOUT: 503,
  PARTNER_RATE_LIMITED: 503,
};

export function sendError(reply: FastifyReply, error: unknown, request: FastifyRequest) {
  if (error instanceof OpsError) {
    return reply.code(error.status).send({ error: { code: error.code, message: error.message } });
  }
  if (isDomainError(error)) {
    const status = STATUS_OF_CODE[error.code] ?? (error.code.startsWith('PARTNER_') ? 502 : 400);
    return reply.code(status).send({ error: { code: error.code, message: error.message } });
  }
  const { statusCode, code } = error as { statusCode?: number; code?: string };
  if (typeof statusCode === 'number' && statusCode >= 400 && statusCode < 500) {
    // fastify's own refusals: a body that is not JSON, or too large.
    return reply
      .code(statusCode)
      .send({ error: { code: 'BAD_REQUEST', message: `The request was refused (${code ?? statusCode}).` } });
  }
  request.log.error({ err: error }, 'ops API request failed');
  return reply
    .code(500)
    .send({ error: { code: 'INTERNAL_SERVER_ERROR', message: 'Something went wrong; see the server log.' } });
}
