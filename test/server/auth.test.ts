import { generateKeyPairSync } from 'node:crypto';
import { exportJWK, importJWK, SignJWT, type JWTPayload } from 'jose';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import {
  assertProductionTrust,
  bearerToken,
  createAuthenticator,
  generateDevKey,
  routerSecretMatches,
  type Authenticator,
  type DevSigningKey,
} from '../../server/auth.js';
import type { Config } from '../../server/config.js';
import { startRotatingJwks } from './rotating-jwks.js';

const ISSUER = 'https://id.example.test/';
const AUDIENCE = 'tributary-api';
const now = () => Math.floor(Date.now() / 1000);

let jwks: Awaited<ReturnType<typeof startRotatingJwks>>;
let first: DevSigningKey;
let second: DevSigningKey;
const devConfig = (): Config['auth'] => ({
  mode: 'dev',
  issuer: ISSUER,
  audience: AUDIENCE,
  algorithms: ['ES256'],
  clockToleranceSeconds: 30,
  maxTokenLifetimeSeconds: 86_400,
});
const jwksConfig = (): Extract<Config['auth'], { mode: 'jwks' }> => ({
  mode: 'jwks',
  jwksUrl: jwks.url,
  issuer: ISSUER,
  audience: AUDIENCE,
  algorithms: ['ES256', 'RS256', 'EdDSA'],
  maxTokenLifetimeSeconds: 86_400,
  clockToleranceSeconds: 30,
});

async function sign(key: DevSigningKey, claims: JWTPayload = {}, header: Record<string, unknown> = {}) {
  const defaults = { sub: 'cust_alice', iss: ISSUER, aud: AUDIENCE, exp: now() + 300 };
  return new SignJWT({ scope: 'accounts:read', ...defaults, ...claims })
    .setProtectedHeader({ alg: 'ES256', kid: key.privateJwk.kid!, ...header })
    .sign(await importJWK(key.privateJwk, 'ES256'));
}

/** The reason a token is refused, or 'accepted'. */
async function outcome(auth: Authenticator, token: string): Promise<string> {
  try {
    await auth.verify(token);
    return 'accepted';
  } catch (error) {
    expect((error as { code?: string }).code).toBe('UNAUTHENTICATED');
    return (error as Error).message;
  }
}

const b64 = (value: unknown) => Buffer.from(JSON.stringify(value)).toString('base64url');

beforeAll(async () => {
  first = await generateDevKey();
  second = await generateDevKey();
  second.privateJwk.kid = second.publicJwk.kid = 'second';
  jwks = await startRotatingJwks([first.publicJwk]);
});
afterAll(() => jwks?.close());

describe('JWT verification against a JWKS', () => {
  it('accepts a valid token and reads subject and scopes', async () => {
    const auth = createAuthenticator(jwksConfig(), null);
    const principal = await auth.verify(await sign(first, { scope: 'accounts:read balances:read' }));
    expect(principal.subject).toBe('cust_alice');
    expect([...principal.scopes]).toEqual(['accounts:read', 'balances:read']);
  });

  it('refuses a token whose lifetime exceeds the configured maximum, with or without iat', async () => {
    const auth = createAuthenticator(jwksConfig(), null);
    const tenYears = 10 * 365 * 86_400;
    expect(await outcome(auth, await sign(first, { iat: now(), exp: now() + 86_400 }))).toBe('accepted');
    expect(await outcome(auth, await sign(first, { iat: now(), exp: now() + tenYears }))).toBe(
      'The token lives longer than this service accepts.',
    );
    expect(await outcome(auth, await sign(first, { exp: now() + 2 * 86_400 }))).toBe(
      'The token lives longer than this service accepts.',
    );
  });

  it('follows key rotation by kid: a new key verifies, a retired key stops verifying', async () => {
    jwks.setKeys([first.publicJwk]);
    const auth = createAuthenticator(jwksConfig(), null, { cooldownMs: 50, cacheMaxAgeMs: 300 });
    expect(await outcome(auth, await sign(first))).toBe('accepted');
    jwks.setKeys([first.publicJwk, second.publicJwk]);
    await new Promise((resolve) => setTimeout(resolve, 80));
    expect(await outcome(auth, await sign(second))).toBe('accepted');
    jwks.setKeys([second.publicJwk]);
    await new Promise((resolve) => setTimeout(resolve, 350));
    expect(await outcome(auth, await sign(first))).toBe('The token signature is not valid.');
    expect(await outcome(auth, await sign(second))).toBe('accepted');
  });

  it('remembers a verified token until its expiry or the cache lifetime, whichever comes first', async () => {
    jwks.setKeys([first.publicJwk]);
    let clock = Date.now();
    const auth = createAuthenticator(jwksConfig(), null, {}, { ttlMs: 5_000, now: () => clock });
    const token = await sign(first);
    const verified = await auth.verify(token);
    expect(await auth.verify(token)).toBe(verified);
    clock += 5_001;
    const again = await auth.verify(token);
    expect(again).not.toBe(verified);
    expect(again.subject).toBe(verified.subject);
    // Accepted within the clock tolerance, but already past exp: never answered from memory.
    const lapsed = await sign(first, { exp: now() - 20 });
    expect(await auth.verify(lapsed)).not.toBe(await auth.verify(lapsed));
  });

  it('refetches the JWKS at most once per cooldown, however many unknown kids arrive', async () => {
    jwks.setKeys([first.publicJwk]);
    const auth = createAuthenticator(jwksConfig(), null, { cooldownMs: 60_000 });
    await auth.verify(await sign(first));
    const before = jwks.fetches();
    for (let i = 0; i < 20; i += 1) await outcome(auth, await sign(first, {}, { kid: `random-${i}` }));
    expect(jwks.fetches() - before).toBeLessThanOrEqual(1);
  });

  it('tolerates the configured clock skew on exp and nbf, and no more', async () => {
    jwks.setKeys([first.publicJwk]);
    const auth = createAuthenticator(jwksConfig(), null);
    expect(await outcome(auth, await sign(first, { exp: now() - 20 }))).toBe('accepted');
    expect(await outcome(auth, await sign(first, { exp: now() - 60 }))).toBe('The token has expired.');
    expect(await outcome(auth, await sign(first, { nbf: now() + 20 }))).toBe('accepted');
    expect(await outcome(auth, await sign(first, { nbf: now() + 60 }))).toBe('The token is not valid yet.');
  });

  it('refuses algorithms outside the allow-list: HS256 with the public key as secret, alg none', async () => {
    jwks.setKeys([first.publicJwk]);
    const auth = createAuthenticator(jwksConfig(), null);
    const secret = new TextEncoder().encode(JSON.stringify(first.publicJwk));
    const hs256 = await new SignJWT({ scope: 'accounts:read' })
      .setProtectedHeader({ alg: 'HS256', kid: first.publicJwk.kid! })
      .setSubject('cust_alice')
      .setIssuer(ISSUER)
      .setAudience(AUDIENCE)
      .setExpirationTime('5m')
      .sign(secret);
    const unsigned = `${b64({ alg: 'none', typ: 'JWT' })}.${b64({ sub: 'cust_alice', iss: ISSUER, aud: AUDIENCE, exp: now() + 300 })}.`;
    for (const token of [hs256, unsigned]) {
      expect(await outcome(auth, token)).toBe(
        'The token is signed with an algorithm this service does not accept.',
      );
    }
  });

  it('refuses an RS256 token when the allow-list is ES256 only, even with the key in the JWKS', async () => {
    const { privateKey, publicKey } = generateKeyPairSync('rsa', { modulusLength: 2048 });
    jwks.setKeys([{ ...(await exportJWK(publicKey)), kid: 'rsa', alg: 'RS256', use: 'sig' }]);
    const auth = createAuthenticator({ ...jwksConfig(), algorithms: ['ES256'] }, null);
    const token = await new SignJWT({})
      .setProtectedHeader({ alg: 'RS256', kid: 'rsa' })
      .setSubject('cust_alice')
      .setIssuer(ISSUER)
      .setAudience(AUDIENCE)
      .setExpirationTime('5m')
      .sign(privateKey);
    expect(await outcome(auth, token)).toMatch(/algorithm/);
    jwks.setKeys([first.publicJwk]);
  });

  it('refuses wrong audience, wrong issuer, missing exp or sub, a bad subject and a bad signature', async () => {
    jwks.setKeys([first.publicJwk]);
    const auth = createAuthenticator(jwksConfig(), null);
    const good = await sign(first);
    const [header, payload] = good.split('.');
    const cases: [string, string][] = [
      [await sign(first, { aud: 'another-api' }), 'The token was not issued for this service.'],
      [await sign(first, { iss: 'https://evil.example/' }), 'The token was not issued for this service.'],
      [await sign(first, { exp: undefined }), 'The token is missing a required claim.'],
      [await sign(first, { sub: undefined }), 'The token is missing a required claim.'],
      [await sign(first, { sub: 'cust alice; drop' }), 'The token subject is not valid.'],
      [`${header}.${payload}.${'A'.repeat(86)}`, 'The token signature is not valid.'],
      [
        `${header}.${b64({ sub: 'cust_bob', iss: ISSUER, aud: AUDIENCE, exp: now() + 60 })}.${good.split('.')[2]}`,
        'The token signature is not valid.',
      ],
      ['not-a-jwt', 'The token is not valid.'],
    ];
    for (const [token, reason] of cases) {
      const message = await outcome(auth, token);
      expect(message).toBe(reason);
      expect(message).not.toContain(ISSUER);
      expect(message).not.toContain(AUDIENCE);
    }
  });
});

describe('development tokens', () => {
  it('verifies only tokens signed with the local key', async () => {
    const local = await generateDevKey();
    const auth = createAuthenticator(devConfig(), local);
    expect(await outcome(auth, await sign(local))).toBe('accepted');
    expect(await outcome(auth, await sign(first))).toBe('The token signature is not valid.');
  });
});

describe('router trust and the Authorization header', () => {
  it('compares the router secret in constant time, refusing anything but the exact value', () => {
    const secret = 's'.repeat(40);
    expect(routerSecretMatches(secret, secret)).toBe(true);
    for (const presented of [undefined, '', 's'.repeat(39), 's'.repeat(41), `${'s'.repeat(39)}t`]) {
      expect(routerSecretMatches(secret, presented)).toBe(false);
    }
  });

  it('reads only "Bearer <token>"', () => {
    expect(bearerToken(undefined)).toBeNull();
    expect(bearerToken('Bearer abc.def.ghi')).toBe('abc.def.ghi');
    expect(bearerToken('bearer abc')).toBe('abc');
    for (const header of ['Basic dXNlcjpwYXNz', 'Bearer', 'Bearer a b', 'abc']) {
      expect(() => bearerToken(header)).toThrow(/Bearer/);
    }
  });

  it('refuses to build a production app with the development key or without the router secret', () => {
    const jwksAuth = jwksConfig();
    const devAuth = devConfig();
    expect(() =>
      assertProductionTrust({ production: true, auth: devAuth, routerSecret: 'r'.repeat(40) }),
    ).toThrow(/development signing key/);
    expect(() => assertProductionTrust({ production: true, auth: jwksAuth, routerSecret: null })).toThrow(
      /ROUTER_SECRET/,
    );
    expect(() =>
      assertProductionTrust({ production: true, auth: jwksAuth, routerSecret: 'r'.repeat(40) }),
    ).not.toThrow();
    expect(() =>
      assertProductionTrust({ production: false, auth: devAuth, routerSecret: null }),
    ).not.toThrow();
  });
});
