/**
 * The Open Banking side of the consent lifecycle (Account and Transaction API v3.1, with the bank's
 * OIDC/FAPI redirect journey):
 * - start: POST /account-access-consents (AwaitingAuthorisation), then the bank's authorisation URL:
 *   response_type=code with PKCE (S256) and `state`, and a request object (an OIDC JWT signed with our
 *   client secret, OIDC Core section 10.1) naming the consent as `openbanking_intent_id`;
 * - complete: the code from the redirect, exchanged with its verifier and redirect URI;
 * - revoke: DELETE /account-access-consents/{ConsentId} (already gone counts as deleted).
 */
import { randomBytes } from 'node:crypto';
import { SignJWT } from 'jose';
import { InputError } from '../../domain/errors.js';
import type { CallContext, ConsentsProvider } from '../../domain/providers.js';
import type { OpenBankingClient } from './client.js';
import { isInvalidGrant } from './errors.js';
import type { Permission } from './types.js';

/** Canonical permission -> the Open Banking permissions that grant it (transactions come in pairs). */
const OB_PERMISSIONS: Readonly<Record<string, readonly Permission[]>> = {
  'accounts:read': ['ReadAccountsDetail'],
  'balances:read': ['ReadBalances'],
  'transactions:read': ['ReadTransactionsDetail', 'ReadTransactionsCredits', 'ReadTransactionsDebits'],
};

/** How long the customer has to answer at the bank (the request object's lifetime). */
const ANSWER_WITHIN_MS = 10 * 60_000;

export interface OpenBankingConsentOptions {
  clientId: string;
  clientSecret: string;
  /** The bank's authorisation endpoint. */
  authorisationEndpoint: string;
  now: () => number;
}

/** The Open Banking permissions a consent needs for the canonical ones; InputError for any other. */
export function openBankingPermissions(canonical: readonly string[]): Permission[] {
  const unknown = canonical.filter((permission) => !(permission in OB_PERMISSIONS));
  if (unknown.length > 0) {
    throw new InputError(
      `Open Banking grants ${Object.keys(OB_PERMISSIONS).join(', ')}; not ${unknown.join(', ')}.`,
      'permissions',
    );
  }
  return [...new Set(canonical.flatMap((permission) => OB_PERMISSIONS[permission] ?? []))];
}

/** The canonical permissions an Open Banking consent grants. */
export function canonicalPermissions(granted: readonly Permission[]): string[] {
  return Object.entries(OB_PERMISSIONS)
    .filter(([, needs]) => needs.every((permission) => granted.includes(permission)))
    .map(([canonical]) => canonical);
}

export function openBankingConsents(
  client: OpenBankingClient,
  options: OpenBankingConsentOptions,
): ConsentsProvider {
  const secret = new TextEncoder().encode(options.clientSecret);
  const audience = new URL(options.authorisationEndpoint).origin;

  return {
    name: 'openbanking',
    async start(ctx, request) {
      const permissions = openBankingPermissions(request.permissions);
      const consent = await client.createConsent(ctx, {
        permissions,
        ...(request.expiresAt ? { expirationDateTime: request.expiresAt } : {}),
      });
      const nonce = randomBytes(16).toString('base64url');
      const intent = { openbanking_intent_id: { value: consent.ConsentId, essential: true } };
      const issuedAt = Math.floor(options.now() / 1000);
      // The authorisation request, in the URL and (signed) in the request object alike.
      const authorisation = {
        response_type: 'code',
        client_id: options.clientId,
        redirect_uri: request.redirectUri,
        scope: 'openid accounts',
        state: request.state,
        nonce,
      };
      const requestObject = await new SignJWT({
        ...authorisation,
        claims: { id_token: intent, userinfo: intent },
      })
        .setProtectedHeader({ alg: 'HS256', typ: 'oauth-authz-req+jwt' })
        .setIssuer(options.clientId)
        .setAudience(audience)
        .setIssuedAt(issuedAt)
        .setExpirationTime(issuedAt + ANSWER_WITHIN_MS / 1000)
        .sign(secret);
      const url = new URL(options.authorisationEndpoint);
      const params = {
        ...authorisation,
        code_challenge: request.codeChallenge,
        code_challenge_method: 'S256',
        request: requestObject,
      };
      for (const [name, value] of Object.entries(params)) url.searchParams.set(name, value);
      return {
        partnerRef: consent.ConsentId,
        authorisationUrl: url.toString(),
        linkToken: null,
        answerBy: new Date(options.now() + ANSWER_WITHIN_MS),
        permissions: canonicalPermissions(consent.Permissions),
        expiresAt: consent.ExpirationDateTime ? new Date(consent.ExpirationDateTime) : null,
      };
    },

    async complete(ctx, pending, code) {
      try {
        const tokens = await client.exchangeCode(ctx, code, pending);
        return {
          partnerRef: pending.partnerRef,
          accessToken: tokens.accessToken,
          refreshToken: tokens.refreshToken,
          tokenExpiresAt: tokens.expiresAt,
        };
      } catch (error) {
        if (isInvalidGrant(error)) {
          throw new InputError(
            'The bank refused the authorisation code: expired, used or not for this grant.',
            'code',
          );
        }
        throw error;
      }
    },

    async revoke(ctx: CallContext, link) {
      await client.deleteConsent(ctx, link.partnerRef);
    },
  };
}
