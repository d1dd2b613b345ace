/**
 * Contract violations found by partner code (DESIGN §7): an answer that passed its schema but cannot
 * be mapped, is not what was asked for, or pages without end. PartnerHttp reports the violations it
 * finds itself (schema, body size, redirects) the same way; an SDK client validates with `zodIssues`.
 *
 * A violation is a PartnerError PARTNER_CONTRACT_VIOLATION, never retried, naming the endpoint and the
 * failing paths ("Data.Account[0].Currency: ..."), and logged once, where it is found, with the partner,
 * endpoint and issues — never the payload, which may hold personal data.
 */
import type { Logger } from 'pino';
import type { ZodError } from 'zod';
import { PartnerError } from '../domain/errors.js';
import type { ProviderName } from '../domain/model.js';
import { formatPath } from './http.js';

/** The log line's message, shared with PartnerHttp's own violations so one query finds them all. */
export const CONTRACT_VIOLATION_MESSAGE = 'Partner response breaks its contract.';

/** The call that met a violation: it is logged with the call's logger and correlation id. */
export interface ViolationCall {
  logger: Logger;
  correlationId?: string;
}

/** What broke, where, and where to say so. */
export interface ContractViolation {
  partner: ProviderName;
  /** Low-cardinality endpoint label, e.g. "GET /accounts". */
  endpoint: string;
  /** One per failing path, each naming its path: "Data.Account[0].Currency: not ISO 4217". */
  issues: readonly string[];
  /** HTTP status of the answer, when there was one. */
  status?: number;
  /**
   * The call that met it, whose logger logs it. Absent: not logged here (a pure mapper has no
   * logger); whoever catches it logs it with `reportViolation`.
   */
  call?: ViolationCall;
  /** Default 'warn'; 'error' for a violation that means money or ownership is in doubt. */
  level?: 'warn' | 'error';
}

/** The PARTNER_CONTRACT_VIOLATION for `violation`, logged when the call that met it is given. */
export function contractViolation(violation: ContractViolation): PartnerError {
  const { partner, endpoint, status } = violation;
  const error = new PartnerError({
    partner,
    code: 'PARTNER_CONTRACT_VIOLATION',
    endpoint,
    issues: [...violation.issues],
    retryable: false,
    ...(status === undefined ? {} : { status }),
  });
  return violation.call ? reportViolation(error, violation.call, violation.level) : error;
}

/** Logs a violation built without a logger, where the call that met it is known; returns it for throwing. */
export function reportViolation(
  error: PartnerError,
  call: ViolationCall,
  level: 'warn' | 'error' = 'warn',
): PartnerError {
  const { partner, endpoint, status, issues } = error;
  const fields = {
    partner,
    endpoint,
    issues,
    ...(status === undefined ? {} : { status }),
    ...(call.correlationId === undefined ? {} : { correlationId: call.correlationId }),
  };
  call.logger[level](fields, CONTRACT_VIOLATION_MESSAGE);
  return error;
}

/** A zod failure as issues, one per failing path: "data[0].amount: Expected number, received string". */
export function zodIssues(error: ZodError): string[] {
  return error.issues.map((issue) => `${formatPath(issue.path)}: ${issue.message}`);
}
