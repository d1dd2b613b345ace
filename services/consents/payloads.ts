/**
 * What the consent mutations take and answer (the graph's payloads before resolvers shape them): their
 * arguments, the redirect URI check, and the user errors they produce.
 */
import { InputError } from '../../domain/errors.js';
import type { Consent, ProviderName } from '../../domain/model.js';

/** The UserErrorCode values the consent mutations produce. */
export type ConsentUserErrorCode =
  'CONSENT_NOT_ACTIVE' | 'CONSENT_DECLINED' | 'CONSENT_AUTHORISATION_INVALID' | 'NOT_SUPPORTED';

export interface ConsentUserError {
  code: ConsentUserErrorCode;
  message: string;
  field: string[] | null;
}

/** Where the customer answers a grant. */
export interface ConsentAuthorisation {
  /** The bank's authorisation page; null when the app opens the partner's own UI. */
  url: string | null;
  /** Plaid Link's token; null otherwise. */
  linkToken: string | null;
  /** The OAuth state the answer comes back with (completeConsent takes it). */
  state: string;
  answerBy: Date | null;
}

export interface ConsentPayload {
  consent: Consent | null;
  userErrors: ConsentUserError[];
}

export interface GrantPayload extends ConsentPayload {
  authorisation: ConsentAuthorisation | null;
}

export interface ConsentResult<P extends ConsentPayload> {
  payload: P;
  replayed: boolean;
}

export interface GrantConsentArgs {
  provider: ProviderName;
  permissions: readonly string[];
  expiresAt: Date | null;
  /** Where the partner sends the customer back; default: Tributary's own callback. */
  redirectUri?: string | null;
}

export interface CompleteConsentArgs {
  state: string;
  /** The bank's authorisation code, or Plaid Link's public token. */
  code: string | null;
  /** The partner's "no" instead of a code (OAuth `error`, Plaid Link's exit). */
  error: string | null;
}

export const userError = (
  code: ConsentUserErrorCode,
  message: string,
  field: string[] | null = null,
): ConsentUserError => ({ code, message, field });

export const INVALID_ANSWER = userError(
  'CONSENT_AUTHORISATION_INVALID',
  'This authorisation is unknown, already used or no longer waiting; start the grant again.',
  ['input', 'state'],
);

/** A redirect URI must be absolute http(s), without a fragment (RFC 6749 section 3.1.2). */
export function checkRedirect(uri: string): void {
  let url: URL;
  try {
    url = new URL(uri);
  } catch {
    throw new InputError('The redirect URI must be an absolute URL.', 'input.redirectUri');
  }
  if ((url.protocol !== 'https:' && url.protocol !== 'http:') || url.hash) {
    throw new InputError('The redirect URI must be an http(s) URL without a fragment.', 'input.redirectUri');
  }
}
