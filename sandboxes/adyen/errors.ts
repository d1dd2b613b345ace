/**
 * Adyen's error answers: a ServiceError body `{ status, errorCode, message, errorType, pspReference? }`
 * with the HTTP status repeated in `status`, as the Checkout API sends them (CheckoutService-v71.json,
 * examples generic-400/401/403/422/500). Handlers throw AdyenFailure; server.ts turns it into the reply.
 */
import { json, type Reply } from '../kit/sandbox.js';

/** Adyen's error categories (`errorType`). */
export type ErrorType = 'validation' | 'security' | 'configuration' | 'internal';

export class AdyenFailure extends Error {
  override name = 'AdyenFailure';

  constructor(
    readonly status: number,
    readonly errorCode: string,
    message: string,
    readonly errorType: ErrorType,
    readonly pspReference?: string,
    /** Extra headers, e.g. `transient-error` on a request still in progress. */
    readonly headers: Record<string, string> = {},
  ) {
    super(message);
  }
}

/** The ServiceError reply of a failure. */
export function failureReply(failure: AdyenFailure): Reply {
  return json(
    failure.status,
    {
      status: failure.status,
      errorCode: failure.errorCode,
      message: failure.message,
      errorType: failure.errorType,
      ...(failure.pspReference ? { pspReference: failure.pspReference } : {}),
    },
    failure.headers,
  );
}

/** 401 for a missing or unknown X-API-Key (example generic-401). */
export const unauthorised = () =>
  new AdyenFailure(401, '000', 'HTTP Status Response - Unauthorized', 'security');

/** 403 for a merchant account the API key may not use (example generic-403). */
export const invalidMerchantAccount = (pspReference: string) =>
  new AdyenFailure(403, '901', 'Invalid Merchant Account', 'security', pspReference);

/** 422 validation error, e.g. a required field missing. */
export const validation = (errorCode: string, message: string, pspReference?: string) =>
  new AdyenFailure(422, errorCode, message, 'validation', pspReference);

/** 400 for a body that is not JSON (example generic-400). */
export const unreadable = () =>
  new AdyenFailure(400, '702', 'Unexpected input: request body is not valid JSON', 'validation');

/** The answer of an injected status fault, the way Adyen reports that status. */
export function injectedFailure(status: number): AdyenFailure {
  if (status === 401) return unauthorised();
  if (status === 403) return new AdyenFailure(403, '010', 'Not allowed', 'security');
  if (status === 429) return new AdyenFailure(429, '429', 'Too many requests', 'validation');
  if (status >= 500) return new AdyenFailure(status, '000', 'An unknown error occurred', 'internal');
  return new AdyenFailure(status, '702', 'Unexpected input', 'validation');
}
