/**
 * The authorisation server's token endpoint (RFC 6749): form-encoded requests, client authentication
 * by HTTP Basic (client_secret_basic) or in the body (client_secret_post), and the grants
 * client_credentials, authorization_code and refresh_token. Errors follow RFC 6749 section 5.2.
 */
import { json, readForm, type Reply, type Router, type SandboxRequest } from '../kit/sandbox.js';
import type { SandboxState } from './state.js';

const NO_STORE = { 'cache-control': 'no-store', pragma: 'no-cache' };

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
          return oauthError(400, 'invalid_scope', 'only the accounts and payments scopes are offered');
        }
        const granted = scopes.filter((s) => s !== 'openid').join(' ') || 'accounts';
        return json(200, state.issueClientToken(clientId, granted), NO_STORE);
      }
      case 'authorization_code': {
        const code = form.get('code');
        if (!code) return oauthError(400, 'invalid_request', 'code is required');
        const consentId = state.redeemCode(code, clientId);
        const scope = consentId ? state.consentScope(consentId) : null;
        if (!consentId || !scope) {
          return oauthError(400, 'invalid_grant', 'the code is invalid, expired or already used');
        }
        return json(200, state.issuePsuTokens(clientId, consentId, scope), NO_STORE);
      }
      case 'refresh_token': {
        const token = form.get('refresh_token');
        if (!token) return oauthError(400, 'invalid_request', 'refresh_token is required');
        const consentId = state.redeemRefreshToken(token, clientId);
        if (!consentId || state.consents.get(consentId)?.Status !== 'Authorised') {
          return oauthError(400, 'invalid_grant', 'the refresh token is invalid or revoked');
        }
        return json(200, state.issuePsuTokens(clientId, consentId), NO_STORE);
      }
      default:
        return oauthError(400, 'unsupported_grant_type', `grant_type ${grant ?? '(none)'} is not supported`);
    }
  };
}

/** Registers POST /token. */
export function registerOAuthRoutes(router: Router, state: SandboxState): void {
  router.on('POST', '/token', tokenEndpoint(state));
}

function safeDecode(value: string): string {
  try {
    return decodeURIComponent(value.replace(/\+/g, ' '));
  } catch {
    return value;
  }
}
