/**
 * What every partner's `webhook.ts` shares: the canonical event a verified delivery becomes, the
 * verification outcome as data, constant-time comparison and the timestamp window.
 *
 * Verification always runs over the raw request bytes: a body parsed and re-serialised is a different
 * message, and its signature must fail.
 */
import { createHash, timingSafeEqual } from 'node:crypto';
import type { ProviderName } from '../domain/model.js';

export type { CanonicalWebhookEvent, WebhookResource } from '../domain/webhooks.js';
import type { CanonicalWebhookEvent } from '../domain/webhooks.js';

/** Why a delivery was refused. Bounded set: it is a metric label. */
export type RejectionReason =
  | 'missing_headers'
  | 'malformed_signature'
  | 'timestamp_out_of_range'
  | 'bad_signature'
  | 'unknown_key'
  | 'body_mismatch'
  | 'malformed_body'
  | 'not_configured';

export type VerificationResult =
  | { ok: true; event: CanonicalWebhookEvent; method: string }
  | { ok: false; reason: RejectionReason; detail: string };

/** A delivery as the HTTP route received it: raw bytes and lower-case header names. */
export interface WebhookDelivery {
  body: Buffer;
  headers: Record<string, string | undefined>;
  /** When we received it (tests pass a fixed clock). */
  receivedAt: Date;
  /**
   * Whether the verifier may call out (fetch a key from the partner) for this delivery: false while
   * refused deliveries are over their budget, so forgeries cannot spend our partner quota. Absent: yes.
   */
  mayCallOut?: () => boolean;
}

/**
 * Thrown by a verifier that would have to call the partner (fetch a key) while it may not: the
 * delivery is answered 429 without a call, and the partner retries a real one later.
 */
export class KeyFetchBudgetError extends Error {
  override name = 'KeyFetchBudgetError';
}

/** One partner's verifier. */
export interface WebhookVerifier {
  readonly provider: ProviderName;
  /** The header names worth keeping in the inbox with the body (never secrets). */
  readonly keptHeaders: readonly string[];
  verify(delivery: WebhookDelivery): Promise<VerificationResult>;
}

/** A refusal, as data. */
export function reject(reason: RejectionReason, detail: string): VerificationResult {
  return { ok: false, reason, detail };
}

/** Constant-time equality of two byte strings; different lengths are unequal without a timing leak of content. */
export function safeEqual(a: Buffer, b: Buffer): boolean {
  if (a.length !== b.length) {
    // Still spend one comparison, so a length probe costs the same as a content probe.
    timingSafeEqual(a, a);
    return false;
  }
  return timingSafeEqual(a, b);
}

/** Whether `timestampSeconds` lies within `toleranceSeconds` of `now`, in the past or the future. */
export function withinTolerance(timestampSeconds: number, now: Date, toleranceSeconds: number): boolean {
  if (!Number.isSafeInteger(timestampSeconds)) return false;
  return Math.abs(Math.floor(now.getTime() / 1000) - timestampSeconds) <= toleranceSeconds;
}

/** Lower-case hex SHA-256 of the raw body. */
export function sha256Hex(body: Buffer): string {
  return createHash('sha256').update(body).digest('hex');
}

/** Parses JSON from raw bytes; null when it is not a JSON object. */
export function parseObject(body: Buffer): Record<string, unknown> | null {
  try {
    const value: unknown = JSON.parse(body.toString('utf8'));
    return value !== null && typeof value === 'object' && !Array.isArray(value)
      ? (value as Record<string, unknown>)
      : null;
  } catch {
    return null;
  }
}
