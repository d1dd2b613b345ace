/**
 * Stripe's error answers: `{ error: { type, code, message, param, decline_code, doc_url, ... } }` with
 * the status Stripe documents (400 invalid request, 401 bad key, 402 card error, 404 resource_missing,
 * 409 idempotency_key_in_use, 429 rate_limit, 5xx api_error). Handlers throw StripeFailure; the
 * route wrapper turns it into a Reply so an idempotent request can store it.
 */
import { json, type Reply } from '../kit/sandbox.js';

/** The `type` of Stripe's error object. */
export type ErrorType = 'api_error' | 'card_error' | 'idempotency_error' | 'invalid_request_error';

/** Stripe's error object. Absent fields are omitted, as Stripe omits them. */
export interface WireError {
  type: ErrorType;
  message: string;
  code?: string;
  param?: string;
  decline_code?: string;
  doc_url?: string;
  request_log_url?: string;
  charge?: string;
  payment_intent?: unknown;
  payment_method?: unknown;
}

/** A Stripe error answer thrown by a handler. */
export class StripeFailure extends Error {
  override name = 'StripeFailure';
  constructor(
    readonly status: number,
    readonly error: WireError,
    readonly headers: Record<string, string> = {},
  ) {
    super(error.message);
  }
}

/** Stripe links each error code to its page: `card_declined` -> /docs/error-codes/card-declined. */
export function docUrl(code: string): string {
  return `https://stripe.com/docs/error-codes/${code.replace(/_/g, '-')}`;
}

/** 400 invalid_request_error, optionally naming the parameter and the error code. */
export function invalidRequest(message: string, param?: string, code?: string): StripeFailure {
  return new StripeFailure(400, {
    type: 'invalid_request_error',
    message,
    ...(code ? { code, doc_url: docUrl(code) } : {}),
    ...(param ? { param } : {}),
  });
}

/** 404 resource_missing, as Stripe answers for an unknown id: "No such payment_intent: 'pi_123'". */
export function resourceMissing(kind: string, id: string, param: string): StripeFailure {
  return new StripeFailure(404, {
    type: 'invalid_request_error',
    code: 'resource_missing',
    doc_url: docUrl('resource_missing'),
    message: `No such ${kind}: '${id}'`,
    param,
  });
}

/** 400 for an object in the wrong state (cancel a succeeded PaymentIntent...). */
export function unexpectedState(message: string, code = 'payment_intent_unexpected_state'): StripeFailure {
  return invalidRequest(message, undefined, code);
}

/** 401: no key, or a key the account does not have. */
export function unauthorised(message: string): StripeFailure {
  return new StripeFailure(
    401,
    { type: 'invalid_request_error', message },
    { 'www-authenticate': 'Basic realm="Stripe"' },
  );
}

/** The JSON reply of a failure, with the dashboard log link Stripe adds to every error. */
export function failureReply(failure: StripeFailure, requestId: string): Reply {
  const error: WireError = {
    ...failure.error,
    request_log_url: `https://dashboard.stripe.com/test/logs/${requestId}`,
  };
  return json(failure.status, { error }, failure.headers);
}

/** The answer to an injected status fault, shaped as Stripe would answer that status. */
export function injectedFailure(status: number): StripeFailure {
  if (status === 429) {
    return new StripeFailure(429, {
      type: 'invalid_request_error',
      code: 'rate_limit',
      doc_url: docUrl('rate_limit'),
      message:
        'Too many requests hit the API too quickly. We recommend an exponential backoff of your requests.',
    });
  }
  if (status === 401) return unauthorised('Invalid API Key provided: sk_test_****');
  if (status === 404) return resourceMissing('object', 'unknown', 'id');
  if (status === 409) {
    return new StripeFailure(409, {
      type: 'invalid_request_error',
      code: 'lock_timeout',
      doc_url: docUrl('lock_timeout'),
      message:
        'This object cannot be accessed right now because another API request or Stripe process is currently accessing it.',
    });
  }
  if (status < 500)
    return new StripeFailure(status, { type: 'invalid_request_error', message: 'Injected fault.' });
  return new StripeFailure(status, {
    type: 'api_error',
    message: 'An unknown error occurred. Please retry the request later.',
  });
}
