import { importJWK, SignJWT } from 'jose';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { generateDevKey } from '../../server/auth.js';
import {
  AUDIENCE,
  ISSUER,
  leaksIn,
  partnerRequests,
  resetLedgers,
  startProductionApp,
  type ProductionApp,
} from './security-support.js';

const ACCOUNTS = '{ accounts { edges { node { id } } } }';

let prod: ProductionApp;
beforeAll(async () => {
  prod = await startProductionApp();
});
afterAll(() => prod?.close());

/** A request through the router with the given bearer token (or none). */
async function withToken(token: string | null, query = ACCOUNTS) {
  const answer = await prod.app.graphql(
    query,
    {},
    {
      token,
      headers: { 'router-authorization': prod.routerSecret },
    },
  );
  expect(leaksIn(answer.body, [...prod.secrets(), ...(token ? [token] : [])])).toEqual([]);
  return answer;
}

async function signed(
  claims: Record<string, unknown>,
  options: { alg?: string; key?: Parameters<SignJWT['sign']>[0] } = {},
) {
  const base = {
    sub: 'cust_alice',
    scope: 'accounts:read',
    iss: ISSUER,
    aud: AUDIENCE,
    exp: Math.floor(Date.now() / 1000) + 300,
  };
  const key = options.key ?? (await importJWK(prod.idpKey.privateJwk, 'ES256'));
  return new SignJWT({ ...base, ...claims })
    .setProtectedHeader({ alg: options.alg ?? 'ES256', kid: prod.idpKey.privateJwk.kid! })
    .sign(key);
}

describe('authentication over HTTP, in production', () => {
  it('serves a valid token', async () => {
    const { status, body } = await withToken(await prod.token('cust_alice'));
    expect(status).toBe(200);
    expect(body.errors).toBeUndefined();
  });

  const refusals: [string, () => Promise<string>, RegExp][] = [
    ['a wrong audience', () => signed({ aud: 'another-api' }), /not issued for this service/],
    ['a wrong issuer', () => signed({ iss: 'https://evil.example/' }), /not issued for this service/],
    ['an expired token', () => signed({ exp: Math.floor(Date.now() / 1000) - 120 }), /expired/],
    [
      'a bad signature',
      async () => (await prod.token('cust_alice')).replace(/.{8}$/, 'AAAAAAAA'),
      /signature/,
    ],
    [
      'a token from another key',
      async () => signed({}, { key: await importJWK((await generateDevKey()).privateJwk, 'ES256') }),
      /signature/,
    ],
    [
      'an HS256 token',
      () =>
        signed({}, { alg: 'HS256', key: new TextEncoder().encode(JSON.stringify(prod.idpKey.publicJwk)) }),
      /algorithm/,
    ],
    [
      'alg none',
      async () =>
        `${Buffer.from('{"alg":"none"}').toString('base64url')}.${(await signed({})).split('.')[1]}.`,
      /algorithm/,
    ],
  ];

  it.each(refusals)('refuses %s with 401 UNAUTHENTICATED and a safe reason', async (_what, make, reason) => {
    resetLedgers(prod.partners);
    const { status, body } = await withToken(await make());
    expect(status).toBe(401);
    expect(body.data ?? null).toBeNull();
    expect(body.errors?.[0]?.extensions?.code).toBe('UNAUTHENTICATED');
    expect(body.errors?.[0]?.message).toMatch(reason);
    expect(body.errors?.[0]?.message).not.toMatch(/Context creation failed/);
    expect(partnerRequests(prod.partners)).toEqual({});
  });

  it('answers UNAUTHENTICATED without a token, before any partner call', async () => {
    resetLedgers(prod.partners);
    const { body } = await withToken(null);
    expect(body.errors?.[0]?.extensions?.code).toBe('UNAUTHENTICATED');
    expect(partnerRequests(prod.partners)).toEqual({});
  });
});

describe('scopes over HTTP', () => {
  it('answers FORBIDDEN, naming the scope, when a root field needs a scope the token lacks', async () => {
    resetLedgers(prod.partners);
    const { body } = await withToken(await prod.token('cust_alice', ['balances:read']));
    expect(body.data).toEqual({ accounts: null });
    expect(body.errors?.[0]?.path).toEqual(['accounts']);
    expect(body.errors?.[0]?.extensions?.code).toBe('FORBIDDEN');
    expect(body.errors?.[0]?.message).toMatch(/accounts:read/);
    expect(partnerRequests(prod.partners)).toEqual({});
  });

  it('answers FORBIDDEN on a nested field only, and never asks the partner for it', async () => {
    resetLedgers(prod.partners);
    const { body } = await withToken(
      await prod.token('cust_alice', ['accounts:read']),
      '{ accounts { edges { node { id balance { current { amount } } } } } }',
    );
    const edges = (body.data?.accounts as { edges: { node: { id: string; balance: unknown } }[] }).edges;
    expect(edges.length).toBeGreaterThan(0);
    expect(edges.every(({ node }) => node.balance === null)).toBe(true);
    expect(body.errors?.every((error) => error.extensions?.code === 'FORBIDDEN')).toBe(true);
    expect(Object.keys(partnerRequests(prod.partners)).filter((route) => route.includes('balances'))).toEqual(
      [],
    );
  });

  it('guards _entities per entity type: a Consent reference needs consents:read', async () => {
    const { body } = await prod.app.graphql(
      'query($r: [_Any!]!) { _entities(representations: $r) { ... on Consent { id } } }',
      { r: [{ __typename: 'Consent', id: 'x' }] },
      { token: null, headers: await prod.asRouter('cust_alice', ['accounts:read']) },
    );
    expect(body.errors?.[0]?.extensions?.code).toBe('FORBIDDEN');
  });
});

describe('router trust over HTTP', () => {
  const entities = JSON.stringify({
    query: 'query($r: [_Any!]!) { _entities(representations: $r) { __typename } }',
    variables: { r: [{ __typename: 'Account', id: 'x' }] },
  });

  it.each([
    ['missing', {}],
    ['wrong', { 'router-authorization': 'x'.repeat(48) }],
    ['empty', { 'router-authorization': '' }],
  ] as const)(
    'refuses a %s router secret with 403, on _entities, _service and GET alike',
    async (_what, secret) => {
      const token = await prod.token('cust_alice');
      const post = (body: string) =>
        fetch(`${prod.app.url}/graphql`, {
          method: 'POST',
          headers: { 'content-type': 'application/json', authorization: `Bearer ${token}`, ...secret },
          body,
        });
      const answers = [
        await post(entities),
        await post(JSON.stringify({ query: '{ _service { sdl } }' })),
        await fetch(`${prod.app.url}/graphql?query=${encodeURIComponent('{ __typename }')}`, {
          headers: { 'apollo-require-preflight': 'true', authorization: `Bearer ${token}`, ...secret },
        }),
      ];
      for (const answer of answers) {
        expect(answer.status).toBe(403);
        const body = (await answer.json()) as { errors: { extensions: { code: string } }[] };
        expect(body.errors[0]?.extensions.code).toBe('FORBIDDEN');
        expect(JSON.stringify(body)).not.toContain('sdl');
      }
    },
  );
});
