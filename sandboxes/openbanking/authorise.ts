/**
 * The customer's side of the sandbox: approving a consent at the bank. Real banks do this in their
 * own app or web journey (redirect with PKCE); `authoriseInSandbox` reduces it to one call that returns
 * the authorisation code the redirect would have carried, and `customerAnswersAtBank` plays that
 * journey (journey.ts) without a browser. Against a mutual-TLS sandbox the calls present `tls` (the CA
 * to trust, and a client certificate the sandbox accepts).
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

/**
 * The customer at the bank, without a browser: opens the authorisation URL the app sent them to, reads
 * the page's ticket, submits the form as `psuId` with `decision`, and returns where the bank sends
 * them back (the 302's Location, not followed): redirect_uri with `code` and `state`, or `error` and
 * `state`. A SandboxAuthorisationError when the bank shows no page or answers the form otherwise.
 */
export async function customerAnswersAtBank(
  authorisationUrl: string,
  psuId: string,
  decision: 'approve' | 'reject',
  tls?: SandboxClientTls,
): Promise<URL> {
  const dispatcher = new Agent({ connect: { ...tls, timeout: 10_000 } });
  const timeouts = { headersTimeout: 10_000, bodyTimeout: 10_000 };
  try {
    const page = await request(authorisationUrl, { method: 'GET', dispatcher, ...timeouts });
    const html = await page.body.text();
    const ticket = /<input[^>]*\bname="ticket"[^>]*\bvalue="([^"]*)"/.exec(html)?.[1];
    const action = /<form[^>]*\baction="([^"]*)"/.exec(html)?.[1];
    if (page.statusCode !== 200 || ticket === undefined || action === undefined) {
      throw new SandboxAuthorisationError(page.statusCode, `no consent page: ${html.trim()}`, psuId);
    }
    const form = new URLSearchParams({ ticket: unescapeHtml(ticket), psu_id: psuId, decision });
    const answer = await request(new URL(unescapeHtml(action), authorisationUrl), {
      method: 'POST',
      dispatcher,
      headers: { 'content-type': 'application/x-www-form-urlencoded' },
      body: form.toString(),
      ...timeouts,
    });
    const body = await answer.body.text();
    const location = answer.headers.location;
    if (answer.statusCode !== 302 || typeof location !== 'string') {
      throw new SandboxAuthorisationError(answer.statusCode, `no redirect back: ${body.trim()}`, psuId);
    }
    return new URL(location, authorisationUrl);
  } finally {
    await dispatcher.close();
  }
}

const ENTITIES: Readonly<Record<string, string>> = { amp: '&', lt: '<', gt: '>', quot: '"', apos: "'" };

/** Attribute values as the page escaped them (journey.ts writes numeric references). */
function unescapeHtml(text: string): string {
  return text.replace(/&(#\d+|[a-z]+);/g, (whole, entity: string) =>
    entity.startsWith('#') ? String.fromCharCode(Number(entity.slice(1))) : (ENTITIES[entity] ?? whole),
  );
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
