/**
 * The customer's side of the sandbox: approving a consent at the bank. Real banks do this in their
 * own app or web journey (redirect with PKCE); the sandbox reduces it to one call that returns the
 * authorisation code the redirect would have carried. Against a mutual-TLS sandbox the call presents
 * `tls` (the CA to trust, and a client certificate the sandbox accepts).
 */
import type { ConnectionOptions } from 'node:tls';
import { Agent, request } from 'undici';
import type { ConsentDecision } from '../../datasources/module.js';

/** PEM material for calling a mutual-TLS sandbox. */
export type SandboxClientTls = Pick<ConnectionOptions, 'ca' | 'cert' | 'key'>;

/** How the customer answers, and how to reach the sandbox. */
export interface AuthoriseOptions {
  tls?: SandboxClientTls | undefined;
  /** A payment consent can be declined; default approve. */
  decision?: 'approve' | 'reject';
}

/** Approves a consent as the given PSU and returns the authorisation code. */
export async function authoriseInSandbox(
  baseUrl: string,
  consentId: string,
  psuId: string,
  options: AuthoriseOptions = {},
): Promise<string> {
  const dispatcher = new Agent({ connect: { ...options.tls, timeout: 10_000 } });
  try {
    const response = await request(new URL('/__sandbox/authorise', baseUrl), {
      method: 'POST',
      dispatcher,
      headers: { 'content-type': 'application/json' },
      body: JSON.stringify({ ConsentId: consentId, psuId, decision: options.decision ?? 'approve' }),
      headersTimeout: 10_000,
      bodyTimeout: 10_000,
    });
    const body = (await response.body.json().catch(() => ({}))) as { code?: unknown; error?: unknown };
    if (response.statusCode !== 200 || typeof body.code !== 'string') {
      throw new SandboxAuthorisationError(response.statusCode, String(body.error ?? ''), psuId);
    }
    return body.code;
  } finally {
    await dispatcher.close();
  }
}

/** The sandbox did not give a code: the customer declined (access_denied) or the request was wrong. */
export class SandboxAuthorisationError extends Error {
  override name = 'SandboxAuthorisationError';
  constructor(
    readonly status: number,
    readonly error: string,
    psuId: string,
  ) {
    super(`sandbox refused to authorise consent for ${psuId}: ${status} ${error}`);
  }

  /** The customer's "no" (or the bank's, for an account they do not hold). */
  get denied(): boolean {
    return this.error === 'access_denied';
  }
}

/**
 * The sandbox's stand-in for the customer, as a provider's `SandboxHooks.approveConsent`: approves
 * (or, with `decision` 'reject', declines) each consent as the customer would in the bank's journey.
 * A "no" from the sandbox (access_denied: declined, or an account the customer does not hold) is the
 * declined decision; any other failure rejects.
 */
export function sandboxConsentApprover(
  baseUrl: string,
  tls?: SandboxClientTls,
  decision: AuthoriseOptions['decision'] = 'approve',
): (consentId: string, customerId: string) => Promise<ConsentDecision> {
  return async (consentId, customerId) => {
    try {
      const code = await authoriseInSandbox(baseUrl, consentId, customerId, { tls, decision });
      return { approved: true, code };
    } catch (error) {
      if (error instanceof SandboxAuthorisationError && error.denied) {
        return { approved: false, reason: 'access_denied' };
      }
      throw error;
    }
  };
}
