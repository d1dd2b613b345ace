/**
 * Global ids: opaque to clients, but they carry the entity kind, the provider and the partner's own
 * id, so any entity can be routed to its partner without a lookup table and loader keys never collide.
 * Wire form: base64url("<Kind>:<provider>:<partner id>").
 */
import { isProviderName, type ProviderName } from './model.js';

export type EntityKind = 'Account' | 'Transaction' | 'Payment' | 'Consent';

export interface DecodedId {
  readonly kind: EntityKind;
  readonly provider: ProviderName;
  readonly partnerId: string;
}

const KINDS: readonly EntityKind[] = ['Account', 'Transaction', 'Payment', 'Consent'];

function isEntityKind(kind: string): kind is EntityKind {
  return (KINDS as readonly string[]).includes(kind);
}

/**
 * Ids encoded and decoded lately. Both are pure functions, and one entity's id is decoded by every
 * loader it reaches and encoded for every answer that shows it (`_entities` with 100 references: 200
 * decodes, each two Buffer conversions), so each answer is kept. A decoded id is shared, so it is
 * frozen. Bounded: a map that reaches REMEMBERED_IDS entries starts over. Malformed ids are not kept.
 */
export const REMEMBERED_IDS = 10_000;
const decodedIds = new Map<string, DecodedId>();
/** By kind, provider and partner id: a lookup builds no string. */
const encodedIds = new Map<EntityKind, Map<ProviderName, Map<string, string>>>();
let encodedCount = 0;

function remember<V>(memo: Map<string, V>, key: string, value: V): V {
  if (memo.size >= REMEMBERED_IDS) memo.clear();
  memo.set(key, value);
  return value;
}

export function encodeId(kind: EntityKind, provider: ProviderName, partnerId: string): string {
  const known = encodedIds.get(kind)?.get(provider)?.get(partnerId);
  if (known !== undefined) return known;
  if (encodedCount >= REMEMBERED_IDS) {
    encodedIds.clear();
    encodedCount = 0;
  }
  let byProvider = encodedIds.get(kind);
  if (!byProvider) encodedIds.set(kind, (byProvider = new Map()));
  let ids = byProvider.get(provider);
  if (!ids) byProvider.set(provider, (ids = new Map()));
  const id = Buffer.from(`${kind}:${provider}:${partnerId}`, 'utf8').toString('base64url');
  ids.set(partnerId, id);
  encodedCount += 1;
  return id;
}

/** Decodes a global id of the expected kind; null for anything malformed or of another kind. */
export function decodeId(id: string, expected: EntityKind): DecodedId | null {
  const decoded = decodeAnyId(id);
  return decoded?.kind === expected ? decoded : null;
}

/** Decodes a global id of any kind (`Query.node`); null for anything malformed. */
export function decodeAnyId(id: string): DecodedId | null {
  return decodedIds.get(id) ?? decodeNew(id);
}

function decodeNew(id: string): DecodedId | null {
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
  return remember(decodedIds, id, Object.freeze({ kind, provider, partnerId }));
}
