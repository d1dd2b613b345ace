/**
 * Authentication: bearer JWTs verified with jose against a JWKS (production) or a local development
 * key (never in production; config and assertProductionTrust refuse it). Issuer, audience, expiry (with
 * a configured clock skew), `sub` and an algorithm allow-list are always checked, so an HS256 token
 * made with a public key, or `alg: none`, is refused. `kid` rotation is handled by jose's remote JWKS
 * cache: an unknown `kid` refetches the key set (at most once per cooldown).
 *
 * Also the router trust check: a constant-time compare of the shared secret the router sends.
 */
import { LRUCache } from 'lru-cache';
import { createHash, timingSafeEqual } from 'node:crypto';
import { mkdir, readFile, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import {
  createLocalJWKSet,
  createRemoteJWKSet,
  exportJWK,
  generateKeyPair,
  importJWK,
  jwtVerify,
  SignJWT,
  type JWK,
  type JWTPayload,
  type JWTVerifyGetKey,
} from 'jose';
import type { Config } from './config.js';
import type { Principal } from '../domain/principal.js';
import { UnauthenticatedError } from '../domain/errors.js';

/** Every scope a customer token can carry (DESIGN §5); ops scopes are for operators. */
export const CUSTOMER_SCOPES = [
  'accounts:read',
  'balances:read',
  'transactions:read',
  'payments:read',
  'payments:write',
  'consents:read',
  'consents:write',
] as const;
export const OPS_SCOPES = ['ops:read', 'ops:write'] as const;
export const ALL_SCOPES = [...CUSTOMER_SCOPES, ...OPS_SCOPES] as const;

const SUBJECT = /^[A-Za-z0-9_.:@-]{1,128}$/;

export interface DevSigningKey {
  privateJwk: JWK;
  publicJwk: JWK;
}

export interface Authenticator {
  /** Verifies a bearer token; throws UnauthenticatedError with a safe message when it is not valid. */
  verify(token: string): Promise<Principal>;
}

/** How the remote JWKS is cached; the defaults suit production, tests shorten them. */
export interface JwksOptions {
  /**
   * A token with an unknown `kid` refetches the JWKS (key rotation), but at most once per cooldown,
   * so random `kid`s cannot turn every request into a call to the identity provider.
   */
  cooldownMs?: number;
  /** A key removed from the JWKS stops verifying at the latest this long after the last fetch. */
  cacheMaxAgeMs?: number;
  timeoutMs?: number;
}

/**
 * Verified tokens are remembered by their SHA-256 until they expire, and at most `ttlMs` (so a key
 * removed from the JWKS stops being honoured soon after), bounded to `maxEntries` tokens. Only
 * successes are kept; a refused token is verified again every time.
 */
export interface VerifiedTokenCacheOptions {
  ttlMs?: number;
  maxEntries?: number;
  /** Epoch ms; tests pass a clock. */
  now?: () => number;
}

/**
 * Refuses a production deployment without real authentication or without the router secret. Config
 * already refuses such an environment; this guards every other way of building the app.
 */
export function assertProductionTrust(config: Pick<Config, 'production' | 'auth' | 'routerSecret'>): void {
  if (!config.production) return;
  const problems = [
    ...(config.auth.mode === 'jwks' ? [] : ['the development signing key is refused in production']),
    ...(config.routerSecret ? [] : ['production requires ROUTER_SECRET']),
  ];
  if (problems.length > 0) throw new Error(`refusing to start: ${problems.join('; ')}`);
}

export function createAuthenticator(
  config: Config['auth'],
  devKey: DevSigningKey | null,
  jwks: JwksOptions = {},
  cacheOptions: VerifiedTokenCacheOptions = {},
): Authenticator {
  const now = cacheOptions.now ?? Date.now;
  // Never longer than the JWKS cache: a retired key must stop verifying as soon as it would uncached.
  const ttlMs = Math.min(cacheOptions.ttlMs ?? 60_000, jwks.cacheMaxAgeMs ?? 600_000);
  const verified = new LRUCache<string, { principal: Principal; until: number }>({
    max: cacheOptions.maxEntries ?? 10_000,
  });
  let keys: JWTVerifyGetKey;
  if (config.mode === 'jwks') {
    keys = createRemoteJWKSet(new URL(config.jwksUrl), {
      cooldownDuration: jwks.cooldownMs ?? 30_000,
      cacheMaxAge: jwks.cacheMaxAgeMs ?? 600_000,
      timeoutDuration: jwks.timeoutMs ?? 5_000,
    });
  } else {
    if (!devKey) throw new Error('the development authenticator needs the local signing key');
    keys = createLocalJWKSet({ keys: [devKey.publicJwk] });
  }
  return {
    async verify(token) {
      const digest = createHash('sha256').update(token).digest('base64url');
      const hit = verified.get(digest);
      if (hit && hit.until > now()) return hit.principal;
      let payload: JWTPayload;
      try {
        ({ payload } = await jwtVerify(token, keys, {
          issuer: config.issuer,
          audience: config.audience,
          algorithms: config.algorithms,
          clockTolerance: config.clockToleranceSeconds,
          requiredClaims: ['exp', 'sub'],
        }));
      } catch (error) {
        throw new UnauthenticatedError(reasonFor(error));
      }
      if (typeof payload.sub !== 'string' || !SUBJECT.test(payload.sub)) {
        throw new UnauthenticatedError('The token subject is not valid.');
      }
      // A token valid for years is a stolen credential waiting to happen: its lifetime is bounded.
      const issuedAt = typeof payload.iat === 'number' ? payload.iat : Math.floor(now() / 1000);
      if (typeof payload.exp === 'number' && payload.exp - issuedAt > config.maxTokenLifetimeSeconds) {
        throw new UnauthenticatedError('The token lives longer than this service accepts.');
      }
      const principal = { subject: payload.sub, scopes: scopesOf(payload) };
      // Remembered only once valid now (nbf passed), until it expires, at most ttlMs.
      const started = now();
      if (ttlMs > 0 && typeof payload.exp === 'number' && (payload.nbf ?? 0) * 1000 <= started) {
        verified.set(digest, { principal, until: Math.min(payload.exp * 1000, started + ttlMs) });
      }
      return principal;
    },
  };
}

/**
 * A client-safe reason. jose's own messages can name the expected issuer or audience, so they never
 * leave the process; the reason is chosen from jose's error code (and the failing claim).
 */
function reasonFor(error: unknown): string {
  const { code, claim } = error as { code?: string; claim?: string };
  switch (code) {
    case 'ERR_JWT_EXPIRED':
      return 'The token has expired.';
    case 'ERR_JWT_CLAIM_VALIDATION_FAILED':
      if (claim === 'nbf') return 'The token is not valid yet.';
      if (claim === 'iss' || claim === 'aud') return 'The token was not issued for this service.';
      return 'The token is missing a required claim.';
    case 'ERR_JWS_SIGNATURE_VERIFICATION_FAILED':
    case 'ERR_JWKS_NO_MATCHING_KEY':
    case 'ERR_JWKS_MULTIPLE_MATCHING_KEYS':
      return 'The token signature is not valid.';
    case 'ERR_JOSE_ALG_NOT_ALLOWED':
      return 'The token is signed with an algorithm this service does not accept.';
    default:
      return 'The token is not valid.';
  }
}

function scopesOf(payload: JWTPayload): ReadonlySet<string> {
  const raw = payload.scope ?? payload.scp;
  const list = typeof raw === 'string' ? raw.split(' ') : Array.isArray(raw) ? raw : [];
  return new Set(list.filter((scope): scope is string => typeof scope === 'string' && scope.length > 0));
}

/** Extracts the token from an `Authorization: Bearer ...` header; null when there is none. */
export function bearerToken(header: string | undefined): string | null {
  if (!header) return null;
  const match = /^Bearer\s+(\S+)\s*$/i.exec(header);
  if (!match?.[1]) throw new UnauthenticatedError('The Authorization header must be "Bearer <token>".');
  return match[1];
}

/** Constant-time comparison of the router secret (hashing first equalises lengths). */
export function routerSecretMatches(expected: string, presented: string | undefined): boolean {
  if (presented === undefined) return false;
  const a = createHash('sha256').update(expected).digest();
  const b = createHash('sha256').update(presented).digest();
  return timingSafeEqual(a, b);
}

const DEV_KEY_FILE = 'dev-signing-key.json';

/** Loads the development signing key from the data directory, creating it on first use. */
/** The development signing key a server on this data directory made, or null when none has started there. */
export async function loadDevKey(dataDir: string): Promise<DevSigningKey | null> {
  try {
    return JSON.parse(await readFile(join(dataDir, DEV_KEY_FILE), 'utf8')) as DevSigningKey;
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code === 'ENOENT') return null;
    throw error;
  }
}

export async function loadOrCreateDevKey(dataDir: string): Promise<DevSigningKey> {
  const file = join(dataDir, DEV_KEY_FILE);
  try {
    return JSON.parse(await readFile(file, 'utf8')) as DevSigningKey;
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code !== 'ENOENT') throw error;
  }
  const key = await generateDevKey();
  await mkdir(dataDir, { recursive: true });
  await writeFile(file, JSON.stringify(key), { mode: 0o600, flag: 'wx' }).catch(
    async (error: NodeJS.ErrnoException) => {
      // Another process created it first: use theirs, so tokens stay valid for both.
      if (error.code !== 'EEXIST') throw error;
    },
  );
  return JSON.parse(await readFile(file, 'utf8')) as DevSigningKey;
}

export async function generateDevKey(): Promise<DevSigningKey> {
  const { privateKey, publicKey } = await generateKeyPair('ES256', { extractable: true });
  const kid = `dev-${Date.now().toString(36)}`;
  return {
    privateJwk: { ...(await exportJWK(privateKey)), kid, alg: 'ES256' },
    publicJwk: { ...(await exportJWK(publicKey)), kid, alg: 'ES256', use: 'sig' },
  };
}

export interface TokenRequest {
  subject: string;
  scopes: readonly string[];
  issuer: string;
  audience: string;
  /** Lifetime in seconds (default one hour). */
  ttlSeconds?: number;
}

/** Signs a development token. Callers must refuse to do this in production. */
export async function signDevToken(key: DevSigningKey, request: TokenRequest): Promise<string> {
  if (!SUBJECT.test(request.subject)) throw new Error(`invalid subject: ${request.subject}`);
  const privateKey = await importJWK(key.privateJwk, 'ES256');
  return new SignJWT({ scope: request.scopes.join(' ') })
    .setProtectedHeader({ alg: 'ES256', kid: key.privateJwk.kid ?? 'dev', typ: 'JWT' })
    .setSubject(request.subject)
    .setIssuer(request.issuer)
    .setAudience(request.audience)
    .setIssuedAt()
    .setExpirationTime(`${request.ttlSeconds ?? 3600}s`)
    .sign(privateKey);
}
