import { createHash } from 'node:crypto';
import { exportJWK, generateKeyPair, SignJWT, type CryptoKey } from 'jose';
import { beforeAll, describe, expect, it } from 'vitest';
import { KeyFetchBudgetError } from '../../../datasources/webhook-verify.js';
import { plaidWebhookVerifier, type PlaidVerificationKey } from '../../../datasources/plaid/webhook.js';

/** Plaid's key ids are UUIDs; the verifier fetches keys for nothing else. */
const KID_CURRENT = '6c5516e1-92dc-479e-a8ff-5a51992e0001';
const KID_OLD = '6c5516e1-92dc-479e-a8ff-5a51992e0002';
const KID_NOPE = '6c5516e1-92dc-479e-a8ff-5a51992e0003';

const NOW = new Date('2026-01-15T12:00:00Z');
const T = Math.floor(NOW.getTime() / 1000);
const BODY = Buffer.from(
  '{"environment":"sandbox","error":null,"item_id":"item_7","new_transactions":3,"webhook_code":"SYNC_UPDATES_AVAILABLE","webhook_type":"TRANSACTIONS"}',
);
const sha = (body: Buffer) => createHash('sha256').update(body).digest('hex');

let current: CryptoKey;
let rotated: CryptoKey;
let stranger: CryptoKey;
const keys = new Map<string, PlaidVerificationKey>();
let fetches = 0;

async function token(
  key: CryptoKey,
  kid: string,
  claims: { iat?: number; sha?: string } = {},
  alg = 'ES256',
): Promise<string> {
  const payload: Record<string, unknown> = { request_body_sha256: claims.sha ?? sha(BODY) };
  const jwt = new SignJWT(payload).setProtectedHeader({ alg, kid, typ: 'JWT' });
  jwt.setIssuedAt(claims.iat ?? T);
  return jwt.sign(key);
}

beforeAll(async () => {
  ({ privateKey: current } = await generateKeyPair('ES256', { extractable: true }));
  const pair = await generateKeyPair('ES256', { extractable: true });
  rotated = pair.privateKey;
  ({ privateKey: stranger } = await generateKeyPair('ES256'));
  const publicOf = async (k: CryptoKey, kid: string, expired: number | null) => {
    const { d: _d, ...jwk } = await exportJWK(k);
    keys.set(kid, { ...jwk, kid, alg: 'ES256', use: 'sig', created_at: T - 1000, expired_at: expired });
  };
  await publicOf(current, KID_CURRENT, null);
  await publicOf(rotated, KID_OLD, T - 10);
});

const verifier = () =>
  plaidWebhookVerifier({
    clockToleranceSeconds: 30,
    fetchKey: async (kid) => {
      fetches += 1;
      return keys.get(kid) ?? null;
    },
  });

describe('Plaid-Verification', () => {
  it('accepts a valid token, fetches the key once, and uses the body hash and iat as event id', async () => {
    const v = verifier();
    fetches = 0;
    const headers = { 'plaid-verification': await token(current, KID_CURRENT) };
    const result = await v.verify({ body: BODY, headers, receivedAt: NOW });
    expect(result).toEqual({
      ok: true,
      method: 'plaid-es256-jwt',
      event: {
        partnerEventId: `${sha(BODY)}.${T}`,
        type: 'TRANSACTIONS.SYNC_UPDATES_AVAILABLE',
        resource: { kind: 'item', partnerId: 'item_7' },
        occurredAt: null,
      },
    });
    await v.verify({ body: BODY, headers, receivedAt: NOW });
    expect(fetches).toBe(1);
  });

  it('tells a later notification with the same body from a copy signed in the same second', async () => {
    const v = verifier();
    const idOf = async (iat: number) => {
      const headers = { 'plaid-verification': await token(current, KID_CURRENT, { iat }) };
      const result = await v.verify({ body: BODY, headers, receivedAt: NOW });
      return result.ok ? result.event.partnerEventId : result.reason;
    };
    expect(await idOf(T - 60)).toBe(await idOf(T - 60));
    expect(await idOf(T - 60)).not.toBe(await idOf(T));
  });

  it('refuses a token signed by another key under a known kid', async () => {
    const result = await verifier().verify({
      body: BODY,
      headers: { 'plaid-verification': await token(stranger, KID_CURRENT) },
      receivedAt: NOW,
    });
    expect(result).toMatchObject({ ok: false, reason: 'bad_signature' });
  });

  it('refuses an unknown kid and a key Plaid has expired (rotation)', async () => {
    const v = verifier();
    expect(
      await v.verify({
        body: BODY,
        headers: { 'plaid-verification': await token(stranger, KID_NOPE) },
        receivedAt: NOW,
      }),
    ).toMatchObject({ reason: 'unknown_key' });
    expect(
      await v.verify({
        body: BODY,
        headers: { 'plaid-verification': await token(rotated, KID_OLD) },
        receivedAt: NOW,
      }),
    ).toMatchObject({ reason: 'unknown_key' });
  });

  it('fetches no key for a kid not shaped like Plaid’s', async () => {
    const v = verifier();
    fetches = 0;
    for (const kid of ['kid-current', '1', `${KID_CURRENT}x`, '../../etc/passwd']) {
      const result = await v.verify({
        body: BODY,
        headers: { 'plaid-verification': await token(current, kid) },
        receivedAt: NOW,
      });
      expect(result).toMatchObject({ ok: false, reason: 'malformed_signature' });
    }
    expect(fetches).toBe(0);
  });

  it('fetches each unknown kid once per interval, within a global budget, and never when told not to', async () => {
    const v = verifier();
    fetches = 0;
    const unknown = (n: number) => `6c5516e1-92dc-479e-a8ff-${n.toString().padStart(12, '0')}`;
    const attempt = async (kid: string, mayCallOut?: () => boolean) =>
      v
        .verify({
          body: BODY,
          headers: { 'plaid-verification': await token(stranger, kid) },
          receivedAt: NOW,
          ...(mayCallOut ? { mayCallOut } : {}),
        })
        .catch((error: unknown) => error);
    // Told not to call out (refusals over their budget): no fetch, a KeyFetchBudgetError.
    expect(await attempt(unknown(100), () => false)).toBeInstanceOf(KeyFetchBudgetError);
    expect(fetches).toBe(0);
    // The same unknown kid twice: one fetch; then fresh kids until the minute's budget (10) is spent.
    await attempt(unknown(1));
    await attempt(unknown(1));
    expect(fetches).toBe(1);
    const outcomes = [];
    for (let n = 2; n <= 15; n += 1) outcomes.push(await attempt(unknown(n)));
    expect(fetches).toBe(10);
    expect(outcomes.filter((outcome) => outcome instanceof KeyFetchBudgetError)).toHaveLength(5);
  });

  it('refuses a flipped byte and a re-serialised body (request_body_sha256)', async () => {
    const headers = { 'plaid-verification': await token(current, KID_CURRENT) };
    const flipped = Buffer.from(BODY);
    flipped[3] = flipped[3]! ^ 0x01;
    expect(await verifier().verify({ body: flipped, headers, receivedAt: NOW })).toMatchObject({
      reason: 'body_mismatch',
    });
    const reserialised = Buffer.from(JSON.stringify(JSON.parse(BODY.toString()), null, 2));
    expect(await verifier().verify({ body: reserialised, headers, receivedAt: NOW })).toMatchObject({
      reason: 'body_mismatch',
    });
  });

  it('refuses iat older than 5 minutes and iat in the future', async () => {
    for (const iat of [T - 301, T + 120]) {
      const headers = { 'plaid-verification': await token(current, KID_CURRENT, { iat }) };
      expect(await verifier().verify({ body: BODY, headers, receivedAt: NOW })).toMatchObject({
        reason: 'timestamp_out_of_range',
      });
    }
    const edge = { 'plaid-verification': await token(current, KID_CURRENT, { iat: T - 290 }) };
    expect(await verifier().verify({ body: BODY, headers: edge, receivedAt: NOW })).toMatchObject({
      ok: true,
    });
  });

  it('refuses other algorithms before looking up a key, and missing or malformed headers', async () => {
    const v = verifier();
    fetches = 0;
    const none = `${Buffer.from(`{"alg":"none","kid":"${KID_CURRENT}"}`).toString('base64url')}.${Buffer.from('{}').toString('base64url')}.`;
    expect(
      await v.verify({ body: BODY, headers: { 'plaid-verification': none }, receivedAt: NOW }),
    ).toMatchObject({ reason: 'malformed_signature' });
    const hs = await new SignJWT({ request_body_sha256: sha(BODY) })
      .setProtectedHeader({ alg: 'HS256', kid: KID_CURRENT })
      .setIssuedAt(T)
      .sign(new TextEncoder().encode('x'.repeat(32)));
    expect(
      await v.verify({ body: BODY, headers: { 'plaid-verification': hs }, receivedAt: NOW }),
    ).toMatchObject({ reason: 'malformed_signature' });
    expect(fetches).toBe(0);
    expect(await v.verify({ body: BODY, headers: {}, receivedAt: NOW })).toMatchObject({
      reason: 'missing_headers',
    });
    expect(
      await v.verify({ body: BODY, headers: { 'plaid-verification': 'garbage' }, receivedAt: NOW }),
    ).toMatchObject({ reason: 'malformed_signature' });
  });
});
