/**
 * The audit chain's row format (store/audit.ts): what an entry is, how a row is hashed into the chain,
 * and how a row's personal payload is checked against its digest.
 */
import { createHash } from 'node:crypto';
import { canonicalJson } from '../domain/canonical-json.js';

/** One event to record. */
export interface AuditEntry {
  actor: string;
  action: string;
  /** The customer the event concerns; erased on request. */
  subject?: string | null;
  target?: string | null;
  /** Personal or free-form detail; erased with the subject. Must be JSON (no bigint). */
  details?: Record<string, unknown> | null;
}

/** Identifies one link of the chain. */
export interface AuditLink {
  seq: bigint;
  hash: string;
}

/** The outcome of `verify`. */
export interface AuditVerification {
  ok: boolean;
  /** Rows checked before the first break (all of them when ok). */
  checked: number;
  brokenAt?: bigint;
  reason?: string;
  /** The newest row seen, to keep as the next anchor. */
  head?: AuditLink;
}

/** A row of the chain as stored. */
export interface AuditRow {
  seq: string;
  at: Date;
  actor: string;
  action: string;
  target: string | null;
  subject: string | null;
  payload: string | null;
  payload_digest: string;
  prev_hash: string;
  hash: string;
  erased_at: Date | null;
}

export const GENESIS = '0'.repeat(64);
export const sha256 = (text: string): string => createHash('sha256').update(text, 'utf8').digest('hex');

export function rowHash(
  row: Pick<AuditRow, 'at' | 'actor' | 'action' | 'target' | 'payload_digest' | 'prev_hash'> & {
    seq: bigint;
  },
) {
  return sha256(
    canonicalJson({
      v: 1,
      seq: row.seq.toString(),
      at: row.at.toISOString(),
      actor: row.actor,
      action: row.action,
      target: row.target,
      payloadDigest: row.payload_digest,
      prevHash: row.prev_hash,
    }),
  );
}

/** A staged entry as the sealer reads it: a row before the chain gives it a place and a hash. */
export type PendingRow = Omit<AuditRow, 'seq' | 'prev_hash' | 'hash'> & { id: string };

/** Why a row's payload does not agree with its digest and subject, or null when it does. */
export function checkPayload(row: AuditRow): string | null {
  if (row.erased_at) {
    return row.payload === null && row.subject === null ? null : 'erased row still holds personal data';
  }
  if (row.payload === null) return 'payload is missing but the row was never erased';
  if (sha256(row.payload) !== row.payload_digest) return 'payload does not match its digest';
  let subject: unknown;
  try {
    subject = (JSON.parse(row.payload) as { subject?: unknown }).subject;
  } catch {
    return 'payload is not JSON';
  }
  return subject === row.subject ? null : 'subject column does not match the payload';
}
