import { pino } from 'pino';
import { describe, expect, it } from 'vitest';
import { z } from 'zod';
import { contractViolation, reportViolation, zodIssues } from '../../datasources/contract.js';
import { PartnerError } from '../../domain/errors.js';

function capture() {
  const lines: Record<string, unknown>[] = [];
  const logger = pino({ level: 'debug' }, { write: (line: string) => void lines.push(JSON.parse(line)) });
  return { logger, lines };
}

describe('contractViolation', () => {
  it('is a non-retryable PARTNER_CONTRACT_VIOLATION naming the endpoint and the failing paths', () => {
    const error = contractViolation({
      partner: 'openbanking',
      endpoint: 'GET /accounts',
      issues: ['Data.Account[0].Currency: not ISO 4217'],
      status: 200,
    });
    expect(error).toBeInstanceOf(PartnerError);
    expect(error).toMatchObject({
      code: 'PARTNER_CONTRACT_VIOLATION',
      partner: 'openbanking',
      endpoint: 'GET /accounts',
      status: 200,
      issues: ['Data.Account[0].Currency: not ISO 4217'],
      retryable: false,
    });
  });

  it('logs partner, endpoint and issues once, at the level asked for, when the call is given', () => {
    const { logger, lines } = capture();
    contractViolation({
      partner: 'stripe',
      endpoint: 'POST /v1/refunds',
      issues: ['amount: 100, asked for 50'],
      call: { logger, correlationId: 'corr-1' },
      level: 'error',
    });
    expect(lines).toHaveLength(1);
    expect(lines[0]).toMatchObject({
      level: 50,
      partner: 'stripe',
      endpoint: 'POST /v1/refunds',
      issues: ['amount: 100, asked for 50'],
      correlationId: 'corr-1',
      msg: 'Partner response breaks its contract.',
    });
  });

  it('logs nothing without a call; reportViolation logs it where the call is known', () => {
    const { logger, lines } = capture();
    const error = contractViolation({ partner: 'plaid', endpoint: 'POST /accounts/get', issues: ['x: y'] });
    expect(lines).toHaveLength(0);
    expect(reportViolation(error, { logger })).toBe(error);
    expect(lines).toEqual([
      expect.objectContaining({
        level: 40,
        partner: 'plaid',
        endpoint: 'POST /accounts/get',
        issues: ['x: y'],
      }),
    ]);
  });

  it('names the path of each zod issue', () => {
    const result = z
      .object({ Data: z.object({ Account: z.array(z.object({ Currency: z.string() })) }) })
      .safeParse({
        Data: { Account: [{ Currency: 1 }] },
      });
    expect(result.success).toBe(false);
    if (!result.success)
      expect(zodIssues(result.error)).toEqual([expect.stringMatching(/^Data\.Account\[0\]\.Currency: /)]);
  });
});
