/**
 * The shapes of idempotency key rows (store/idempotency.ts): the record a caller sees, the claim
 * outcomes, and the mapping from database rows.
 */
import type { Payment } from '../domain/model.js';

export type RecoveryPoint = 'started' | 'partner_requested' | 'partner_confirmed' | 'finished';

/** A JSON value as stored in a jsonb column. */
export type Json = null | boolean | number | string | Json[] | { [key: string]: Json };

/** One idempotency key row. */
export interface IdempotencyRecord {
  subject: string;
  mutation: string;
  key: string;
  fingerprint: string;
  state: 'running' | 'finished';
  recoveryPoint: RecoveryPoint;
  partnerKey: string;
  lockedUntil: Date | null;
  attempts: number;
  paymentId: string | null;
  recovery: Json;
  response: Json;
  partnerRequestedAt: Date | null;
  createdAt: Date;
  updatedAt: Date;
  expiresAt: Date;
}

/** Proof of holding a key's lease; every write of the holder presents it. */
export interface Lease {
  subject: string;
  mutation: string;
  key: string;
  token: string;
}

/** What a claim found. */
export type ClaimResult =
  /** This attempt owns the operation; `record.recoveryPoint` says where to resume. */
  | { kind: 'acquired'; lease: Lease; record: IdempotencyRecord; takenOver: boolean }
  /**
   * Finished earlier with the same arguments: replay `record.response`. `payment` is the key's payment
   * as the ledger holds it now, read by the claim itself (null: the key has none, or it is gone);
   * absent when the claim did not read it.
   */
  | { kind: 'finished'; record: IdempotencyRecord; payment?: Payment | null }
  /** The key was used with other arguments. */
  | { kind: 'mismatch'; record: IdempotencyRecord }
  /** Another attempt holds a live lease. */
  | { kind: 'busy'; record: IdempotencyRecord };

/** One operation's identity and the lease and retention it asks for. */
export interface ClaimInput {
  subject: string;
  mutation: string;
  key: string;
  fingerprint: string;
  partnerKey: string;
  leaseMs: number;
  retentionMs: number;
}

/** A row as the database returns it. */
export interface Row {
  subject: string;
  mutation: string;
  key: string;
  fingerprint: string;
  state: 'running' | 'finished';
  recovery_point: RecoveryPoint;
  partner_key: string;
  locked_until: Date | null;
  attempts: number;
  payment_id: string | null;
  recovery: Json;
  response: Json;
  partner_requested_at: Date | null;
  created_at: Date;
  updated_at: Date;
  expires_at: Date;
  db_now: Date;
}

/** The columns every read returns. */
export const COLUMNS = `subject, mutation, key, fingerprint, state, recovery_point, partner_key, locked_until, attempts,
  payment_id, recovery, response, partner_requested_at, created_at, updated_at, expires_at`;
/** The record of a row. */
export function toRecord(row: Row): IdempotencyRecord {
  return {
    subject: row.subject,
    mutation: row.mutation,
    key: row.key,
    fingerprint: row.fingerprint,
    state: row.state,
    recoveryPoint: row.recovery_point,
    partnerKey: row.partner_key,
    lockedUntil: row.locked_until,
    attempts: row.attempts,
    paymentId: row.payment_id,
    recovery: row.recovery,
    response: row.response,
    partnerRequestedAt: row.partner_requested_at,
    createdAt: row.created_at,
    updatedAt: row.updated_at,
    expiresAt: row.expires_at,
  };
}
