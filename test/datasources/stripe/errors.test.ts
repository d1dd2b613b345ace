import Stripe from 'stripe';
import { describe, expect, it } from 'vitest';
import { fromStripeError, paymentDeclined, StripeDeclineError } from '../../../datasources/stripe/errors.js';
import { IdempotencyError, InputError, NotFoundError, PartnerError } from '../../../domain/errors.js';

const create = { endpoint: 'POST /v1/payment_intents', resource: 'Payment', mayDecline: true };
const read = { endpoint: 'GET /v1/payment_intents/{id}', resource: 'Payment', mayDecline: false };

function sdkError(status: number, raw: Record<string, unknown>, headers: Record<string, string> = {}) {
  return Stripe.errors.StripeError.generate({ ...raw, statusCode: status, headers } as never);
}

describe('Stripe errors', () => {
  it('turns a card_error into a PaymentDeclined outcome, not a PartnerError', () => {
    const error = fromStripeError(
      sdkError(402, {
        type: 'card_error',
        code: 'card_declined',
        decline_code: 'insufficient_funds',
        payment_intent: { id: 'pi_1' },
      }),
      create,
    );
    expect(error).toBeInstanceOf(StripeDeclineError);
    expect(error).not.toBeInstanceOf(PartnerError);
    expect((error as StripeDeclineError).declined).toEqual({
      kind: 'PaymentDeclined',
      code: 'INSUFFICIENT_FUNDS',
      message: 'The card has insufficient funds.',
      partnerCode: 'card_declined',
      partnerDeclineCode: 'insufficient_funds',
    });
  });

  it.each([
    [{ code: 'card_declined', decline_code: 'generic_decline' }, 'DECLINED'],
    [{ code: 'card_declined', decline_code: 'do_not_honor' }, 'DECLINED'],
    [{ code: 'expired_card', decline_code: 'expired_card' }, 'EXPIRED_CARD'],
    [{ code: 'incorrect_cvc' }, 'INCORRECT_CARD_DETAILS'],
    [{ code: 'payment_intent_authentication_failure' }, 'AUTHENTICATION_FAILED'],
    [{}, 'DECLINED'],
  ])('classifies decline %o as %s', (codes, expected) => {
    expect(paymentDeclined(codes).code).toBe(expected);
  });

  it('a card_error where no payment could be declined is a contract violation', () => {
    expect(fromStripeError(sdkError(402, { type: 'card_error', code: 'card_declined' }), read)).toMatchObject(
      {
        code: 'PARTNER_CONTRACT_VIOLATION',
      },
    );
  });

  it('idempotency_error is a reused key; idempotency_key_in_use is a retryable conflict', () => {
    const reused = fromStripeError(
      sdkError(400, { type: 'idempotency_error', message: 'Keys for idempotent requests...' }),
      create,
    );
    expect(reused).toBeInstanceOf(IdempotencyError);
    expect(reused).toMatchObject({ code: 'IDEMPOTENCY_KEY_REUSED', retryable: false });
    const inUse = fromStripeError(
      sdkError(409, { type: 'invalid_request_error', code: 'idempotency_key_in_use' }),
      create,
    );
    expect(inUse).toMatchObject({ code: 'IDEMPOTENCY_KEY_IN_USE', retryable: true });
  });

  it('429 is PARTNER_RATE_LIMITED with the Retry-After seconds', () => {
    const error = fromStripeError(
      sdkError(429, { type: 'invalid_request_error', code: 'rate_limit' }, { 'retry-after': '7' }),
      read,
    );
    expect(error).toMatchObject({
      code: 'PARTNER_RATE_LIMITED',
      retryable: true,
      retryAfterSeconds: 7,
      status: 429,
    });
  });

  it('5xx is PARTNER_UNAVAILABLE and retryable; 401 is not retryable', () => {
    expect(fromStripeError(sdkError(503, { type: 'api_error' }), read)).toMatchObject({
      code: 'PARTNER_UNAVAILABLE',
      retryable: true,
    });
    expect(fromStripeError(sdkError(401, { type: 'invalid_request_error' }), read)).toMatchObject({
      code: 'PARTNER_UNAVAILABLE',
      retryable: false,
    });
  });

  it('connection failures: a timeout is PARTNER_TIMEOUT, a reset PARTNER_UNAVAILABLE, both retryable', () => {
    const timeout = new Stripe.errors.StripeConnectionError({
      message: 'Request aborted due to timeout being reached (10ms)',
      detail: { code: 'ETIMEDOUT' },
    } as never);
    expect(fromStripeError(timeout, read)).toMatchObject({ code: 'PARTNER_TIMEOUT', retryable: true });
    const reset = new Stripe.errors.StripeConnectionError({
      message: 'An error occurred with our connection to Stripe.',
      detail: { code: 'ECONNRESET' },
    } as never);
    expect(fromStripeError(reset, read)).toMatchObject({ code: 'PARTNER_UNAVAILABLE', retryable: true });
  });

  it('a body that is not JSON is a contract violation', () => {
    const error = new Stripe.errors.StripeAPIError({
      message: 'Invalid JSON received from the Stripe API',
    } as never);
    expect(fromStripeError(error, read)).toMatchObject({
      code: 'PARTNER_CONTRACT_VIOLATION',
      retryable: false,
    });
  });

  it('resource_missing is NotFound; refund refusals are input errors; other 4xx a contract violation', () => {
    expect(
      fromStripeError(sdkError(404, { type: 'invalid_request_error', code: 'resource_missing' }), read),
    ).toBeInstanceOf(NotFoundError);
    const tooLarge = fromStripeError(
      sdkError(400, { type: 'invalid_request_error', code: 'amount_too_large', param: 'amount' }),
      read,
    );
    expect(tooLarge).toBeInstanceOf(InputError);
    expect(tooLarge).toMatchObject({ field: 'amount' });
    expect(
      fromStripeError(sdkError(400, { type: 'invalid_request_error', code: 'parameter_unknown' }), read),
    ).toMatchObject({
      code: 'PARTNER_CONTRACT_VIOLATION',
      partnerCode: 'parameter_unknown',
    });
  });
});
