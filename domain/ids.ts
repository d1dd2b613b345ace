/**
 * Global ids: opaque to clients, but they carry the entity kind, the provider and the partner's own
 * id, so any entity can be routed to its partner without a lookup table and loader keys never collide.
 * Wire form: base64url("<Kind>:<provider>:<partner id>").
 */
import { isProviderName, type ProviderName } from './model.js';

export type EntityKind = 'Account' | 'Transaction' | 'Payment' | 'Consent';

export interface DecodedId {
  kind: EntityKind;
  provider: ProviderName;
  partnerId: string;
}

const KINDS: readonly EntityKind[] = ['Account', 'Transaction', 'Payment', 'Consent'];

function isEntityKind(kind: string): kind is EntityKind {
  return (KINDS as readonly string[]).includes(kind);
}

export function encodeId(kind: EntityKind, provider: ProviderName, partnerId: string): string {
  return Buffer.from(`${kind}:${provider}:${partnerId}`, 'utf8').toString('base64url');
}

/** Decodes a global id of the expected kind; null for anything malformed or of another kind. */
export function decodeId(id: string, expected: EntityKind): DecodedId | null {
  const decoded = decodeAnyId(id);
  return decoded?.kind === expected ? decoded : null;
}

/** Decodes a global id of any kind (`Query.node`); null for anything malformed. */
export function decodeAnyId(id: string): DecodedId | null {
  if (id.length === 0 || id.length > 512 || !/^[A-Za-z0-9_-]+$/.test(id)) return null;
  const text = Buffer.from(id, 'base64url').toString('utf8');
  const first = text.indexOf(':');
  const second = text.indexOf(':', first + 1);
  if (first < 0 || second < 0) return null;
  const kind = text.slice(0, first);
  const provider = text.slice(first + 1, second);
  const partnerId = text.slice(second + 1);
  if (!isEntityKind(kind) || !isProviderName(provider) || partnerId.length === 0) return null;
  // Re-encoding must give the same id, so two spellings of one entity cannot exist.
  if (encodeId(kind, provider, partnerId) !== id) return null;
  return { kind, provider, partnerId };
}
