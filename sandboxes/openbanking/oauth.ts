/**
 * The authorisation server's token endpoint (RFC 6749): form-encoded requests, client authentication
 * by HTTP Basic (client_secret_basic) or in the body (client_secret_post), and the grants
 * client_credentials, authorization_code and refresh_token. Errors follow RFC 6749 section 5.2.
 * A code from the authorisation endpoint (journey.ts) also needs its PKCE verifier and redirect_uri.
 * A refresh token is single-use (rotation, RFC 9700 section 4.14.2): redeeming it issues a new one, and
 * presenting it again is refused with invalid_grant. Every answer to an authenticated client is listed
 * by the sandbox-only GET /__sandbox/openbanking/token-grants.
 */
import { createHash } from 'node:crypto';
import { json, readForm, type Reply, type Router, type SandboxRequest } from '../kit/sandbox.js';
import type { CodeBinding, SandboxState } from './state.js';

/** RFC 7636 section 4.1: 43 to 128 unreserved characters. */
const VERIFIER = /^[A-Za-z0-9._~-]{43,128}$/;

const NO_STORE = { 'cache-control': 'no-store', pragma: 'no-cache' };

/** The sandbox-only list of the token endpoint's answers (TokenGrantRecord). */
export const TOKEN_GRANTS_PATH = '/__sandbox/openbanking/token-grants';

const CLIENT_GRANT = { grantType: 'client_credentials', consentId: null, refreshTokenSha256: null };

function oauthError(status: number, error: string, description: string, basic = false): Reply {
  const headers: Record<string, string> = { ...NO_STORE };
  if (basic) headers['www-authenticate'] = 'Basic realm="openbanking-sandbox"';
  return json(status, { error, error_description: description }, headers);
}

/** The client id of an authenticated client, or the error reply. */
function authenticate(req: SandboxRequest, form: URLSearchParams, state: SandboxState): string | Reply {
  const header = req.header('authorization');
  const postId = form.get('client_id');
  const postSecret = form.get('client_secret');
  if (header?.startsWith('Basic ')) {
    if (postSecret !== null)
      return oauthError(400, 'invalid_request', 'use one client authentication method');
    const decoded = Buffer.from(header.slice(6).trim(), 'base64').toString('utf8');
    const colon = decoded.indexOf(':');
    // RFC 6749 section 2.3.1: id and secret are form-encoded before being joined.
    const id = safeDecode(decoded.slice(0, colon));
    const secret = safeDecode(decoded.slice(colon + 1));
    if (colon < 0 || !state.checkClient(id, secret)) {
      return oauthError(401, 'invalid_client', 'client authentication failed', true);
    }
    return id;
  }
  if (postId !== null && postSecret !== null) {
    if (!state.checkClient(postId, postSecret)) {
      return oauthError(401, 'invalid_client', 'client authentication failed');
    }
    return postId;
  }
  return oauthError(401, 'invalid_client', 'client authentication is required');
}

function tokenEndpoint(state: SandboxState) {
  return (req: SandboxRequest): Reply => {
    const type = req.header('content-type') ?? '';
    if (!type.toLowerCase().startsWith('application/x-www-form-urlencoded')) {
      return oauthError(400, 'invalid_request', 'the body must be application/x-www-form-urlencoded');
    }
    const form = readForm(req);
    const clientId = authenticate(req, form, state);
    if (typeof clientId !== 'string') return clientId;
    const grant = form.get('grant_type');
    switch (grant) {
      case 'client_credentials': {
        const scopes = (form.get('scope') ?? 'accounts').split(' ').filter(Boolean);
        if (!scopes.every((s) => s === 'accounts' || s === 'payments' || s === 'openid')) {
          state.recordGrant({ ...CLIENT_GRANT, outcome: 'refused' });
          return oauthError(400, 'invalid_scope', 'only the accounts and payments scopes are offered');
        }
        state.recordGrant({ ...CLIENT_GRANT, outcome: 'issued' });
        const granted = scopes.filter((s) => s !== 'openid').join(' ') || 'accounts';
        return json(200, state.issueClientToken(clientId, granted), NO_STORE);
      }
      case 'authorization_code': {
        const code = form.get('code');
        if (!code) return oauthError(400, 'invalid_request', 'code is required');
        const grant = state.redeemCode(code, clientId);
        const scope = grant ? state.consentScope(grant.consentId) : null;
        const unbound = grant && scope && grant.binding && bindingMismatch(grant.binding, form);
        state.recordGrant({
          grantType: 'authorization_code',
          outcome: grant && scope && !unbound ? 'issued' : 'refused',
          consentId: grant?.consentId ?? null,
          refreshTokenSha256: null,
        });
        if (!grant || !scope) {
          return oauthError(400, 'invalid_grant', 'the code is invalid, expired or already used');
        }
        if (unbound) return oauthError(400, 'invalid_grant', unbound);
        return json(200, state.issuePsuTokens(clientId, grant.consentId, scope), NO_STORE);
      }
      case 'refresh_token': {
        const token = form.get('refresh_token');
        if (!token) return oauthError(400, 'invalid_request', 'refresh_token is required');
        const consentId = state.redeemRefreshToken(token, clientId);
        const consent = consentId ? state.consents.get(consentId) : undefined;
        const usable =
          consentId !== null && consent?.Status === 'Authorised' && !state.consentExpired(consent);
        state.recordGrant({
          grantType: 'refresh_token',
          outcome: usable ? 'issued' : 'refused',
          consentId,
          refreshTokenSha256: createHash('sha256').update(token).digest('hex'),
        });
        if (!usable) {
          return oauthError(
            400,
            'invalid_grant',
            'the refresh token is invalid or revoked, or its consent expired',
          );
        }
        return json(200, state.issuePsuTokens(clientId, consentId), NO_STORE);
      }
      default:
        return oauthError(400, 'unsupported_grant_type', `grant_type ${grant ?? '(none)'} is not supported`);
    }
  };
}

/**
 * Why the token request does not match the authorisation request its code came from, or null: the
 * verifier must hash to the challenge (RFC 7636 section 4.6, S256) and redirect_uri must be repeated
 * exactly (RFC 6749 section 4.1.3).
 */
function bindingMismatch(binding: CodeBinding, form: URLSearchParams): string | null {
  const verifier = form.get('code_verifier');
  if (verifier === null || !VERIFIER.test(verifier)) return 'a valid code_verifier is required';
  if (createHash('sha256').update(verifier).digest('base64url') !== binding.codeChallenge) {
    return 'code_verifier does not match the code_challenge';
  }
  if (form.get('redirect_uri') !== binding.redirectUri) {
    return 'redirect_uri does not match the authorisation request';
  }
  return null;
}

/** Registers POST /token, and the sandbox-only list of its answers. */
export function registerOAuthRoutes(router: Router, state: SandboxState): void {
  router.on('POST', '/token', tokenEndpoint(state));
  router.on('GET', TOKEN_GRANTS_PATH, () => json(200, { grants: state.tokenGrants() }));
}

function safeDecode(value: string): string {
  try {
    return decodeURIComponent(value.replace(/\+/g, ' '));
  } catch {
    return value;
  }
}
