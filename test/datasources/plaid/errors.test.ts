import { describe, expect, it } from 'vitest';
import { isMutationDuringPagination, plaidErrorFromResponse } from '../../../datasources/plaid/errors.js';
import type { PartnerError } from '../../../domain/errors.js';
import { ConsentRequiredError } from '../../../domain/errors.js';
import { FIXTURES, plaidFixture, type RecordedError } from './fixtures.js';

const info = { endpoint: 'POST /accounts/get', permission: 'accounts:read' };
const fromFixture = (name: string, headers: Record<string, string> = {}) => {
  const recorded = plaidFixture<RecordedError>(name);
  return plaidErrorFromResponse(recorded.status, headers, recorded.body, info);
};
const plaidBody = (type: string, code: string) => ({
  error_type: type,
  error_code: code,
  error_message: 'm',
  display_message: null,
  request_id: 'r',
});

describe('plaid errors: answers', () => {
  it('turns a broken link (ITEM_LOGIN_REQUIRED, a dead access token) into CONSENT_REQUIRED', () => {
    for (const name of [FIXTURES.errorItemLoginRequired, FIXTURES.errorInvalidAccessToken]) {
      const error = fromFixture(name);
      expect(error).toBeInstanceOf(ConsentRequiredError);
      expect((error as ConsentRequiredError).extensions).toEqual({
        provider: 'plaid',
        permission: 'accounts:read',
      });
    }
  });

  it('turns RATE_LIMIT_EXCEEDED into a retryable PARTNER_RATE_LIMITED honouring Retry-After', () => {
    const error = fromFixture(FIXTURES.errorRateLimit, { 'retry-after': '7' }) as PartnerError;
    expect(error).toMatchObject({
      code: 'PARTNER_RATE_LIMITED',
      retryable: true,
      retryAfterSeconds: 7,
      status: 429,
      partnerCode: 'TRANSACTIONS_SYNC_LIMIT',
      partner: 'plaid',
    });
  });

  it('turns API_ERROR into a retryable PARTNER_UNAVAILABLE', () => {
    expect(fromFixture(FIXTURES.errorApi)).toMatchObject({
      code: 'PARTNER_UNAVAILABLE',
      retryable: true,
      status: 500,
    });
  });

  it('recognises the mutation-during-pagination answer as a retryable restart signal', () => {
    const error = fromFixture(FIXTURES.errorMutation);
    expect(error).toMatchObject({ code: 'PARTNER_UNAVAILABLE', retryable: true });
    expect(isMutationDuringPagination(error)).toBe(true);
    expect(isMutationDuringPagination(fromFixture(FIXTURES.errorApi))).toBe(false);
  });

  it('decides by error type: bad requests are not retryable, institution trouble is', () => {
    const map = (type: string, code: string, status = 400) =>
      plaidErrorFromResponse(status, {}, plaidBody(type, code), info);
    expect(map('INVALID_REQUEST', 'MISSING_FIELDS')).toMatchObject({
      code: 'PARTNER_UNAVAILABLE',
      retryable: false,
    });
    expect(map('INVALID_INPUT', 'INVALID_API_KEYS')).toMatchObject({
      code: 'PARTNER_UNAVAILABLE',
      retryable: false,
    });
    expect(map('INSTITUTION_ERROR', 'INSTITUTION_DOWN')).toMatchObject({ retryable: true });
    expect(map('ITEM_ERROR', 'PRODUCT_NOT_READY')).toMatchObject({
      code: 'PARTNER_UNAVAILABLE',
      retryable: true,
    });
    expect(map('ITEM_ERROR', 'ITEM_LOCKED')).toBeInstanceOf(ConsentRequiredError);
    expect(map('INVALID_REQUEST', 'WHATEVER', 503)).toMatchObject({ retryable: true });
  });

  it('decides by status when the body is not Plaid error object', () => {
    expect(plaidErrorFromResponse(502, {}, '<html>bad gateway</html>', info)).toMatchObject({
      code: 'PARTNER_UNAVAILABLE',
      retryable: true,
    });
    expect(plaidErrorFromResponse(429, { 'retry-after': '3' }, '', info)).toMatchObject({
      code: 'PARTNER_RATE_LIMITED',
      retryAfterSeconds: 3,
    });
    expect(plaidErrorFromResponse(400, {}, { message: 'nope' }, info)).toMatchObject({
      code: 'PARTNER_CONTRACT_VIOLATION',
      retryable: false,
    });
    expect(plaidErrorFromResponse(400, {}, plaidBody('NEW_KIND_OF_ERROR', 'X'), info)).toMatchObject({
      code: 'PARTNER_CONTRACT_VIOLATION',
    });
  });
});
