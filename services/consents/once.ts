/**
 * Idempotency for the consent mutations (DESIGN §10), on the same key table as payments: the first
 * attempt of (subject, mutation, key) runs and stores its outcome, a retry with the same arguments
 * gets the stored outcome back, other arguments are IDEMPOTENCY_KEY_REUSED, a retry while the first
 * still runs IDEMPOTENCY_KEY_IN_USE. A failure (an outage, not a user error) releases the key so the
 * client can retry. Consent mutations move no money, so there are no recovery points: a retry after a
 * crash runs the operation again, which every step here tolerates (an unanswered grant at the bank
 * lapses on its own; revoking and completing are idempotent by state).
 */
import { IdempotencyError } from '../../domain/errors.js';
import type { IdempotencyStore, Json } from '../../store/idempotency.js';
import {
  checkIdempotencyKey,
  derivePartnerKey,
  fingerprintOf,
  type KeyedMutation,
} from '../payments/keys.js';

export interface OnceSettings {
  keys: IdempotencyStore;
  partnerKeySecret: string | Buffer;
  leaseMs: number;
  retentionMs: number;
}

/** The stored outcome of the first attempt, and whether this answer is a replay of it. */
export interface Once<T extends Json> {
  stored: T;
  replayed: boolean;
}

/** Runs `run` once per (subject, mutation, key) with these arguments; replays its stored outcome. */
export async function once<T extends Json>(
  settings: OnceSettings,
  operation: { subject: string; mutation: KeyedMutation; key: string; args: unknown },
  run: () => Promise<T>,
): Promise<Once<T>> {
  const key = checkIdempotencyKey(operation.key);
  const claim = await settings.keys.claim({
    subject: operation.subject,
    mutation: operation.mutation,
    key,
    fingerprint: fingerprintOf(operation.mutation, operation.args),
    partnerKey: derivePartnerKey(settings.partnerKeySecret, operation.subject, operation.mutation, key),
    leaseMs: settings.leaseMs,
    retentionMs: settings.retentionMs,
  });
  switch (claim.kind) {
    case 'finished':
      return { stored: claim.record.response as T, replayed: true };
    case 'mismatch':
      throw new IdempotencyError(
        'IDEMPOTENCY_KEY_REUSED',
        'This idempotency key was already used for a different request.',
      );
    case 'busy':
      throw new IdempotencyError(
        'IDEMPOTENCY_KEY_IN_USE',
        'A request with this idempotency key is still in progress.',
      );
    case 'acquired':
      break;
  }
  let stored: T;
  try {
    stored = await run();
  } catch (error) {
    await settings.keys.release(claim.lease);
    throw error;
  }
  await settings.keys.finish(claim.lease, stored, { retentionMs: settings.retentionMs });
  return { stored, replayed: false };
}
