/**
 * Access checks shared by the consent and account routes: which token may call what, and what an
 * account-access consent allows.
 */
import type { SandboxRequest } from '../kit/sandbox.js';
import type { AccessToken, Consent, SandboxState } from './state.js';
import { ObFailure, obError, type Permission } from './wire.js';

const BEARER_CHALLENGE = { 'www-authenticate': 'Bearer realm="openbanking-sandbox", error="invalid_token"' };

/** The caller's valid access token of the given kind; 401 otherwise. */
export function requireToken(
  req: SandboxRequest,
  state: SandboxState,
  kind: AccessToken['kind'],
): AccessToken {
  const header = req.header('authorization');
  if (!header) {
    throw new ObFailure(
      obError(
        401,
        'UK.OBIE.Header.Missing',
        'An access token is required.',
        'Authorization',
        BEARER_CHALLENGE,
      ),
    );
  }
  const match = /^Bearer\s+(\S+)$/i.exec(header);
  const token = match?.[1] ? state.accessToken(match[1]) : null;
  if (!token || token.kind !== kind) {
    const message = 'The access token is invalid, expired or not valid for this resource.';
    throw new ObFailure(obError(401, 'UK.OBIE.Header.Invalid', message, 'Authorization', BEARER_CHALLENGE));
  }
  return token;
}

/**
 * The authorised, unexpired consent behind a PSU token that grants one of `anyOf`; 401 for a bad
 * token, 403 for a consent that is not (or no longer) authorised or lacks the permission.
 */
export function requireConsent(
  req: SandboxRequest,
  state: SandboxState,
  anyOf: readonly Permission[],
): Consent {
  const token = requireToken(req, state, 'psu');
  const consent = token.consentId ? state.consents.get(token.consentId) : undefined;
  if (!consent || consent.Status !== 'Authorised') {
    throw new ObFailure(
      obError(403, 'UK.OBIE.Resource.InvalidConsentStatus', 'The consent is not authorised.', 'ConsentId'),
    );
  }
  // The answer for a consent past its ExpirationDateTime is the one for any consent no longer authorised.
  if (state.consentExpired(consent)) {
    throw new ObFailure(
      obError(403, 'UK.OBIE.Resource.InvalidConsentStatus', 'The consent has expired.', 'ConsentId'),
    );
  }
  if (!anyOf.some((permission) => consent.Permissions.includes(permission))) {
    const message = `The consent does not grant ${anyOf.join(' or ')}.`;
    throw new ObFailure(obError(403, 'UK.OBIE.Resource.ConsentMismatch', message, 'Permissions'));
  }
  return consent;
}

/**
 * The consent's account. The Read/Write API profile: an id the bank does not know is 400
 * UK.OBIE.Resource.NotFound ("400 rather than 404" for resource ids), and an account the bank holds
 * but the consent does not cover (another customer's, or one the customer left out) is 403
 * Forbidden. The v3.1.11 account endpoints declare no 404 at all. The 403 carries
 * UK.OBIE.Resource.ConsentMismatch, the code for a resource that does not match the consent of the
 * request, with the path AccountId so a client can tell it from a permission the consent lacks.
 */
export function requireAccount(state: SandboxState, consent: Consent, accountId: string): string {
  if (!state.bank.accounts.has(accountId)) {
    throw new ObFailure(obError(400, 'UK.OBIE.Resource.NotFound', 'No such account.', 'AccountId'));
  }
  if (!consent.accountIds.includes(accountId)) {
    const message = 'The consent does not cover this account.';
    throw new ObFailure(obError(403, 'UK.OBIE.Resource.ConsentMismatch', message, 'AccountId'));
  }
  return accountId;
}
