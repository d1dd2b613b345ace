/**
 * The bank's authorisation endpoint: the customer's side of an account-access consent, the way an
 * OB/FAPI bank runs it (RFC 6749 section 4.1, PKCE S256 per RFC 7636, a signed OIDC request object
 * per request-object.ts).
 *
 *   GET  /authorize  validates the request and shows the customer a page naming the permissions, with
 *        a form carrying a ticket: a random handle of the validated request, kept server-side, single
 *        use, valid 10 minutes
 *   POST /authorize  the customer's answer (form: ticket, psu_id, decision). approve: the consent is
 *        Authorised and the customer goes back to redirect_uri with a code bound to the client, the
 *        consent, the challenge and the redirect_uri; reject: Rejected, and access_denied; a customer
 *        the bank does not know: access_denied, the consent still AwaitingAuthorisation
 *
 * Until the redirect_uri is trusted (registered client, absolute http(s) URL, a request object signed by
 * that client naming one of its consents) errors answer 400 and never redirect (RFC 6749 section
 * 4.1.2.1); after that they go back to the client as error redirects carrying its state.
 */
import { z } from 'zod';
import { empty, readForm, type Reply, type Router, type SandboxRequest } from '../kit/sandbox.js';
import { authoriseAccountConsent, setStatus } from './consents.js';
import { verifyRequestObject } from './request-object.js';
import type { AuthorisationRequest, Consent, SandboxState } from './state.js';

/** S256 gives 43 base64url characters (RFC 7636 section 4.2); up to 128 are taken, as for verifiers. */
const CHALLENGE = /^[A-Za-z0-9_-]{43,128}$/;
/** RFC 6749 section 3.1: no parameter may be sent twice. */
const PARAMETERS = [
  'response_type',
  'client_id',
  'redirect_uri',
  'scope',
  'state',
  'nonce',
  'code_challenge',
  'code_challenge_method',
  'request',
];
/** The parameters the redirect itself depends on: a problem with them is never sent back. */
const TRUST_PARAMETERS = ['client_id', 'redirect_uri', 'request'];
const NO_STORE = { 'cache-control': 'no-store' };

const answerSchema = z.object({
  ticket: z.string().min(1),
  psu_id: z.string().trim().default(''),
  decision: z.enum(['approve', 'reject']),
});

/** A request whose redirect_uri the bank may send the customer back to. */
interface Trusted {
  clientId: string;
  redirectUri: string;
  consent: Consent;
}

/** An error shown to the customer only: the redirect is not (yet) trusted. */
function refuse(error: string, description: string): Reply {
  return {
    status: 400,
    headers: { 'content-type': 'text/plain; charset=utf-8', ...NO_STORE },
    text: `${error}: ${description}\n`,
  };
}

/** Back to the client: its redirect_uri, own query kept (RFC 6749 section 3.1.2), plus the answer. */
function redirect(redirectUri: string, params: Record<string, string>): Reply {
  const url = new URL(redirectUri);
  for (const [name, value] of Object.entries(params)) url.searchParams.set(name, value);
  return empty(302, { location: url.toString(), ...NO_STORE });
}

/** Absolute http(s), no fragment (RFC 6749 section 3.1.2). */
function redirectable(value: string): boolean {
  if (!URL.canParse(value) || value.includes('#')) return false;
  const { protocol } = new URL(value);
  return protocol === 'http:' || protocol === 'https:';
}

/** Checks what the redirect depends on; the 400 reply when it cannot be trusted. */
async function trust(state: SandboxState, query: URLSearchParams): Promise<Trusted | Reply> {
  const repeated = TRUST_PARAMETERS.filter((name) => query.getAll(name).length > 1);
  if (repeated.length > 0) return refuse('invalid_request', `${repeated.join(', ')} sent more than once`);
  const clientId = query.get('client_id') ?? '';
  const secret = state.clientSecret(clientId);
  if (secret === undefined)
    return refuse('invalid_client', 'client_id is missing or not a registered client');
  const redirectUri = query.get('redirect_uri') ?? '';
  if (!redirectable(redirectUri)) {
    return refuse('invalid_request', 'redirect_uri must be an absolute http or https URL without a fragment');
  }
  const jwt = query.get('request');
  if (!jwt) return refuse('invalid_request', 'a request object signed by the client is required');
  const verified = await verifyRequestObject(jwt, secret, state.now());
  if (!verified.ok) return refuse('invalid_request_object', verified.reason);
  if (verified.value.clientId !== clientId || verified.value.redirectUri !== redirectUri) {
    return refuse('invalid_request_object', 'the request object names another client_id or redirect_uri');
  }
  const consent = state.consents.get(verified.value.intentId);
  // Another client's consent is answered like an unknown one, and neither goes to the redirect_uri.
  if (!consent || consent.clientId !== clientId) {
    return refuse(
      'invalid_request_object',
      'openbanking_intent_id names no account-access consent of this client',
    );
  }
  return { clientId, redirectUri, consent };
}

/** What is wrong with the rest of a trusted request, as [error, description]; null when nothing is. */
function problem(state: SandboxState, query: URLSearchParams, consent: Consent): [string, string] | null {
  const repeated = PARAMETERS.filter((name) => query.getAll(name).length > 1);
  if (repeated.length > 0) return ['invalid_request', `${repeated.join(', ')} sent more than once`];
  if (query.get('response_type') !== 'code')
    return ['unsupported_response_type', 'response_type must be code'];
  const scopes = (query.get('scope') ?? '').split(' ');
  if (!scopes.includes('openid') || !scopes.includes('accounts')) {
    return ['invalid_scope', 'scope must include openid and accounts'];
  }
  if (!query.get('state')) return ['invalid_request', 'state is required'];
  const method = query.get('code_challenge_method');
  // RFC 7636 section 4.4.1: an unsupported transformation is invalid_request.
  if (method !== 'S256') {
    return [
      'invalid_request',
      method === 'plain'
        ? 'code_challenge_method plain is not accepted'
        : 'code_challenge_method S256 is required',
    ];
  }
  if (!CHALLENGE.test(query.get('code_challenge') ?? '')) {
    return ['invalid_request', 'code_challenge must be 43 to 128 base64url characters'];
  }
  if (consent.Status !== 'AwaitingAuthorisation')
    return ['invalid_request', `the consent is ${consent.Status}`];
  if (state.consentExpired(consent)) return ['invalid_request', 'the consent has expired'];
  return null;
}

function authorizeRequest(state: SandboxState) {
  return async (req: SandboxRequest): Promise<Reply> => {
    const trusted = await trust(state, req.query);
    if ('status' in trusted) return trusted;
    const found = problem(state, req.query, trusted.consent);
    if (found) {
      const clientState = req.query.get('state');
      return redirect(trusted.redirectUri, {
        error: found[0],
        error_description: found[1],
        ...(clientState ? { state: clientState } : {}),
      });
    }
    const request: AuthorisationRequest = {
      clientId: trusted.clientId,
      consentId: trusted.consent.ConsentId,
      redirectUri: trusted.redirectUri,
      state: req.query.get('state') ?? '',
      codeChallenge: req.query.get('code_challenge') ?? '',
    };
    return consentPage(trusted.consent, request.clientId, state.newTicket(request));
  };
}

function answerRequest(state: SandboxState) {
  return (req: SandboxRequest): Reply => {
    if (!/^application\/x-www-form-urlencoded\b/i.test(req.header('content-type') ?? '')) {
      return refuse('invalid_request', 'the form must be application/x-www-form-urlencoded');
    }
    const parsed = answerSchema.safeParse(Object.fromEntries(readForm(req)));
    if (!parsed.success)
      return refuse('invalid_request', 'ticket and a decision (approve or reject) are required');
    const request = state.takeTicket(parsed.data.ticket);
    if (!request) return refuse('invalid_request', 'the authorisation ticket is unknown, used or expired');
    const back = (params: Record<string, string>) =>
      redirect(request.redirectUri, { ...params, state: request.state });
    const consent = state.consents.get(request.consentId);
    // Deleted, answered elsewhere or expired while the page was open.
    if (!consent || consent.Status !== 'AwaitingAuthorisation' || state.consentExpired(consent)) {
      return back({ error: 'invalid_request', error_description: 'the consent can no longer be authorised' });
    }
    if (parsed.data.decision === 'reject') {
      setStatus(state, consent, 'Rejected');
      return back({ error: 'access_denied', error_description: 'the customer rejected the consent' });
    }
    if (!authoriseAccountConsent(state, consent, parsed.data.psu_id)) {
      return back({ error: 'access_denied', error_description: 'unknown customer' });
    }
    const binding = { codeChallenge: request.codeChallenge, redirectUri: request.redirectUri };
    return back({ code: state.newCode(request.clientId, consent.ConsentId, binding) });
  };
}

/** The page the customer answers: who asks, for what, and the two buttons. */
function consentPage(consent: Consent, clientId: string, ticket: string): Reply {
  const items = consent.Permissions.map((permission) => `<li>${escape(permission)}</li>`).join('');
  const until = consent.ExpirationDateTime ? `<p>Until ${escape(consent.ExpirationDateTime)}.</p>` : '';
  const html = `<!doctype html>
<html lang="en">
<head><meta charset="utf-8"><title>Sandbox Bank: share your account data</title></head>
<body>
<h1>Sandbox Bank</h1>
<p><strong>${escape(clientId)}</strong> asks to see:</p>
<ul>${items}</ul>
${until}
<form method="post" action="/authorize">
<input type="hidden" name="ticket" value="${escape(ticket)}">
<label>Customer id <input type="text" name="psu_id" autocomplete="username"></label>
<button type="submit" name="decision" value="approve">Approve</button>
<button type="submit" name="decision" value="reject">Reject</button>
</form>
</body>
</html>
`;
  return {
    status: 200,
    // Framing is refused, as banks do, so the page cannot be overlaid (clickjacking).
    headers: { 'content-type': 'text/html; charset=utf-8', 'x-frame-options': 'DENY', ...NO_STORE },
    text: html,
  };
}

function escape(text: string): string {
  return text.replace(/[&<>"']/g, (c) => `&#${c.charCodeAt(0)};`);
}

/** Registers GET and POST /authorize. */
export function registerJourneyRoutes(router: Router, state: SandboxState): void {
  router.on('GET', '/authorize', authorizeRequest(state));
  router.on('POST', '/authorize', answerRequest(state));
}
