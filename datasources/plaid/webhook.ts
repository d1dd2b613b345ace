/**
 * Plaid webhooks: the `Plaid-Verification` header is a JWT signed with ES256 (any other alg is
 * refused before a key is looked up). Its `kid` names a key fetched from Plaid with
 * `/webhook_verification_key/get` and cached; a key with `expired_at` set is no longer accepted. The
 * payload's `iat` must be at most 5 minutes old (and not in the future beyond the clock tolerance), and
 * its `request_body_sha256` must equal the SHA-256 of the raw body, compared in constant time.
 *
 * Plaid events carry no event id, and every SYNC_UPDATES_AVAILABLE of one Item has the same body, so
 * the body's SHA-256 alone would take each later notification for a duplicate of the first and drop it.
 * The event id is the body's SHA-256 with the token's `iat`: copies signed in the same second (duplicate
 * deliveries, a replayed token) are one event, a later notification is a new one. A retry Plaid signs
 * later is stored again; Item events are idempotent syncs, so that costs one call. Plaid here aggregates
 * accounts; events name the Item they concern.
 */
import { decodeProtectedHeader, importJWK, jwtVerify, type JWK } from 'jose';
import { TokenBucket } from '../../domain/token-bucket.js';
import {
  KeyFetchBudgetError,
  parseObject,
  reject,
  safeEqual,
  sha256Hex,
  type CanonicalWebhookEvent,
  type VerificationResult,
  type WebhookDelivery,
  type WebhookVerifier,
} from '../webhook-verify.js';

export const PLAID_VERIFICATION_HEADER = 'plaid-verification';
/** Plaid's documented maximum age of a verification token. */
export const PLAID_MAX_AGE_SECONDS = 5 * 60;

/** A verification key as `/webhook_verification_key/get` returns it. */
export interface PlaidVerificationKey extends JWK {
  kid: string;
  created_at?: number;
  expired_at?: number | null;
}

/** Fetches one key by kid from Plaid; null when Plaid does not know it. */
export type PlaidKeyFetcher = (kid: string) => Promise<PlaidVerificationKey | null>;

/** Maps a verified Plaid webhook body, signed at `iat` (epoch seconds), to the canonical event. */
export function normalisePlaidEvent(body: Buffer, iat: number): CanonicalWebhookEvent | null {
  const event = parseObject(body);
  if (!event || typeof event.webhook_type !== 'string' || typeof event.webhook_code !== 'string') return null;
  const itemId = typeof event.item_id === 'string' && event.item_id ? event.item_id : null;
  return {
    partnerEventId: `${sha256Hex(body)}.${iat}`,
    type: `${event.webhook_type}.${event.webhook_code}`,
    resource: itemId ? { kind: 'item', partnerId: itemId } : null,
    occurredAt: null,
  };
}

export interface PlaidWebhookOptions {
  fetchKey: PlaidKeyFetcher;
  /** Key fetches allowed per minute across all kids, whatever the deliveries ask (default 10). */
  maxKeyFetchesPerMinute?: number;
  /** Future skew allowed on iat (the age limit is Plaid's 5 minutes). */
  clockToleranceSeconds: number;
  /** How long a fetched key is trusted before it is fetched again (expiry may be set meanwhile). */
  keyCacheMs?: number;
}

/** Plaid's key ids are UUIDs; anything else is not worth a call to Plaid. */
const PLAID_KID = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/i;

/**
 * The Plaid verifier, with its key cache. A key is fetched from Plaid only for a kid shaped like
 * Plaid's, at most once per kid per cache interval (unknown kids are remembered too), at most
 * `maxKeyFetchesPerMinute` times a minute in all, and never while refused deliveries are over their
 * budget (`WebhookDelivery.mayCallOut`).
 */
export function plaidWebhookVerifier(options: PlaidWebhookOptions): WebhookVerifier {
  const cacheMs = options.keyCacheMs ?? 10 * 60_000;
  const perMinute = options.maxKeyFetchesPerMinute ?? 10;
  const cache = new Map<string, { key: PlaidVerificationKey | null; until: number }>();
  // The delivery's receipt time is the bucket's clock (tests pass fixed times).
  let clock = 0;
  const fetches = new TokenBucket(perMinute, () => clock);

  async function keyFor(
    kid: string,
    now: number,
    mayCallOut: () => boolean,
  ): Promise<PlaidVerificationKey | null> {
    const hit = cache.get(kid);
    if (hit && hit.until > now) return hit.key;
    clock = now;
    if (!mayCallOut() || !fetches.take()) {
      throw new KeyFetchBudgetError('Plaid verification keys: no fetch allowed now');
    }
    const key = await options.fetchKey(kid);
    // Unknown kids are remembered briefly too, so forged kids cannot make us hammer Plaid.
    cache.set(kid, { key, until: now + (key ? cacheMs : 60_000) });
    if (cache.size > 100) cache.delete(cache.keys().next().value!);
    return key;
  }

  return {
    provider: 'plaid',
    keptHeaders: [PLAID_VERIFICATION_HEADER],
    async verify(delivery: WebhookDelivery): Promise<VerificationResult> {
      const token = delivery.headers[PLAID_VERIFICATION_HEADER];
      if (!token) return reject('missing_headers', 'Plaid-Verification is missing');
      let header: ReturnType<typeof decodeProtectedHeader>;
      try {
        header = decodeProtectedHeader(token);
      } catch {
        return reject('malformed_signature', 'Plaid-Verification is not a JWT');
      }
      if (header.alg !== 'ES256') return reject('malformed_signature', 'Plaid-Verification alg is not ES256');
      if (typeof header.kid !== 'string' || !PLAID_KID.test(header.kid))
        return reject('malformed_signature', "Plaid-Verification has no kid shaped like Plaid's");
      const now = delivery.receivedAt.getTime();
      const jwk = await keyFor(header.kid, now, delivery.mayCallOut ?? (() => true));
      if (!jwk) return reject('unknown_key', 'Plaid does not know this kid');
      if (jwk.expired_at != null && jwk.expired_at * 1000 <= now)
        return reject('unknown_key', 'the Plaid verification key has expired');
      let claims: Record<string, unknown>;
      try {
        const key = await importJWK({ kty: jwk.kty, crv: jwk.crv, x: jwk.x, y: jwk.y }, 'ES256');
        const verified = await jwtVerify(token, key, {
          algorithms: ['ES256'],
          requiredClaims: ['iat'],
          clockTolerance: options.clockToleranceSeconds,
          currentDate: delivery.receivedAt,
        });
        claims = verified.payload as Record<string, unknown>;
      } catch (error) {
        const code = (error as { code?: string }).code ?? '';
        return code.includes('CLAIM') || code.includes('EXPIRED')
          ? reject('timestamp_out_of_range', 'Plaid-Verification iat is too old or in the future')
          : reject('bad_signature', 'Plaid-Verification signature does not verify');
      }
      const iat = claims.iat;
      // The age limit is Plaid's 5 minutes exactly; the clock tolerance only forgives a future iat.
      if (
        typeof iat !== 'number' ||
        iat * 1000 > now + options.clockToleranceSeconds * 1000 ||
        now - iat * 1000 > PLAID_MAX_AGE_SECONDS * 1000
      )
        return reject(
          'timestamp_out_of_range',
          'Plaid-Verification iat is too old, missing or in the future',
        );
      const claimed = claims.request_body_sha256;
      if (typeof claimed !== 'string' || !/^[0-9a-f]{64}$/.test(claimed))
        return reject('body_mismatch', 'request_body_sha256 is missing');
      if (!safeEqual(Buffer.from(sha256Hex(delivery.body), 'hex'), Buffer.from(claimed, 'hex')))
        return reject('body_mismatch', 'the body does not match request_body_sha256');
      const event = normalisePlaidEvent(delivery.body, iat);
      if (!event) return reject('malformed_body', 'the signed body is not a Plaid webhook');
      return { ok: true, event, method: 'plaid-es256-jwt' };
    },
  };
}
