/**
 * Client idempotency keys, request fingerprints and the keys partners receive.
 */
import { createHash, createHmac } from 'node:crypto';
import { IdempotencyError } from '../../domain/errors.js';
import { canonicalJson } from '../../domain/canonical-json.js';

/** DESIGN §10: 16 to 255 characters of [A-Za-z0-9_.:-]. */
const KEY_FORMAT = /^[A-Za-z0-9_.:-]{16,255}$/;

/** The state-changing mutations that take an idempotency key. */
export type IdempotentMutation = 'initiatePayment' | 'confirmPayment' | 'cancelPayment' | 'refundPayment';

/** The money-moving mutations, in the order a payment meets them. */
export const IDEMPOTENT_MUTATIONS: readonly IdempotentMutation[] = [
  'initiatePayment',
  'confirmPayment',
  'cancelPayment',
  'refundPayment',
];

/** Every mutation that takes an idempotency key: money movement, and the consent lifecycle. */
export type KeyedMutation = IdempotentMutation | 'grantConsent' | 'completeConsent' | 'revokeConsent';

/** Throws IDEMPOTENCY_KEY_REQUIRED unless the key has the documented format. */
export function checkIdempotencyKey(key: string | null | undefined): string {
  if (typeof key !== 'string' || !KEY_FORMAT.test(key)) {
    throw new IdempotencyError(
      'IDEMPOTENCY_KEY_REQUIRED',
      'idempotencyKey must be 16 to 255 characters of letters, digits and _ . : -',
    );
  }
  return key;
}

/**
 * SHA-256 (hex) of the canonical JSON of the normalised arguments: the same request gives the same
 * fingerprint whatever the key order or the decimal spelling ("10.5" and "10.50" are one amount).
 */
export function fingerprintOf(mutation: KeyedMutation, args: unknown): string {
  return createHash('sha256').update(canonicalJson({ mutation, args }), 'utf8').digest('hex');
}

/** Prefix of every derived partner key, so a partner-side log line can be traced back to Tributary. */
const PARTNER_KEY_PREFIX = 'trb1-';

/**
 * The key a partner receives for one logical operation: `trb1-` plus 32 hex digits (37 characters,
 * within Open Banking's 40 and Stripe's 255). It is an HMAC of (subject, mutation, key), so it is the
 * same on every retry, differs between mutations (cancelling reuses no payment's key), and tells the
 * partner nothing about the subject. The secret only needs to be stable while a key is unfinished;
 * the key row stores what was sent, and retries read it from there.
 */
export function derivePartnerKey(
  secret: string | Buffer,
  subject: string,
  mutation: KeyedMutation,
  key: string,
): string {
  const digest = createHmac('sha256', secret)
    .update(canonicalJson(['tributary.partner-key.v1', subject, mutation, key]), 'utf8')
    .digest('hex');
  return `${PARTNER_KEY_PREFIX}${digest.slice(0, 32)}`;
}

/**
 * The partner-key secret derived from the process's secrets key (SECRETS_KEY), so every replica
 * derives the same partner keys without another secret to distribute.
 */
export function partnerKeySecretFrom(secretsKey: string): Buffer {
  return createHmac('sha256', secretsKey).update('tributary.partner-key-secret.v1', 'utf8').digest();
}
