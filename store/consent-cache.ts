/**
 * A subject's active consents and their decrypted partner credentials, kept in memory between
 * requests, so a warm read asks the database nothing (DESIGN §14: per-instance caches invalidated
 * across replicas).
 *
 * What keeps it honest:
 * - every change to a subject's consents or credentials (grant, revoke, refresh, erasure) is published
 *   on the change feed by ConsentRepository, and every replica drops that subject at once (this one
 *   synchronously, the others when PostgreSQL relays the NOTIFY);
 * - an entry is never used past the earliest expiry among its consents, nor past `maxAgeMs`, a bound
 *   on how long a lost notice can matter;
 * - a read that started before a change is not stored after it (a generation per subject);
 * - when the feed's connection drops, everything is dropped until it is back.
 *
 * Bounded by bytes (an estimate per consent); least recently used subjects leave first.
 */
import { LRUCache } from 'lru-cache';
import type { PartnerCredential } from '../domain/providers.js';
import type { ChangeFeed } from './change-feed.js';
import { CONSENTS_TOPIC, type ActiveConsent, type ConsentRepository } from './consents.js';

export interface ConsentCacheSettings {
  /** Upper bound of the estimated size of all entries. */
  maxBytes: number;
  /** The longest an entry is used without a fresh read; 0 turns the cache off. */
  maxAgeMs: number;
}

interface Entry {
  active: ActiveConsent[];
  /** Epoch ms after which the entry must not be used. */
  validUntil: number;
}

/** Rough size of one consent with its credential: ids, permissions, two tokens. */
const CONSENT_BYTES = 2_048;

/** A cached view of ConsentRepository's `listActive`, for the per-request consent snapshots. */
export class ConsentCache {
  readonly #entries: LRUCache<string, Entry>;
  readonly #generations = new Map<string, number>();
  #epoch = 0;

  constructor(
    private readonly repository: Pick<ConsentRepository, 'listActive' | 'credentials'>,
    changes: ChangeFeed,
    private readonly settings: ConsentCacheSettings,
    private readonly now: () => number = Date.now,
  ) {
    this.#entries = new LRUCache<string, Entry>({
      maxSize: Math.max(CONSENT_BYTES, settings.maxBytes),
      sizeCalculation: (entry) => CONSENT_BYTES * Math.max(1, entry.active.length),
    });
    changes.subscribe(CONSENTS_TOPIC, {
      onChange: (subject) => this.invalidate(subject),
      onReset: () => this.invalidateAll(),
    });
  }

  /** The process-wide credential store (reads of other subjects, writes of refreshed tokens). */
  get credentials() {
    return this.repository.credentials;
  }

  /** The subject's active consents: from memory when a valid entry exists, else one read. */
  async listActive(subject: string): Promise<ActiveConsent[]> {
    const now = this.now();
    const hit = this.#entries.get(subject);
    if (hit && hit.validUntil > now) return hit.active;
    if (this.settings.maxAgeMs <= 0) return this.repository.listActive(subject);
    const generation = this.#generation(subject);
    const epoch = this.#epoch;
    const active = (await this.repository.listActive(subject)).map(memoised);
    // A change heard while reading makes what was read stale: answer it, but do not keep it.
    if (generation === this.#generation(subject) && epoch === this.#epoch) {
      this.#entries.set(subject, { active, validUntil: validUntil(active, now + this.settings.maxAgeMs) });
    }
    return active;
  }

  /** Drops what is known of the subject (its consents or credentials changed). */
  invalidate(subject: string): void {
    this.#generations.set(subject, this.#generation(subject) + 1);
    this.#entries.delete(subject);
    // Generations matter only while a read is in flight; keep the map from growing without bound.
    if (this.#generations.size > 10_000) this.#generations.clear();
  }

  invalidateAll(): void {
    this.#epoch += 1;
    this.#generations.clear();
    this.#entries.clear();
  }

  /** Subjects held now (tests, metrics). */
  get size(): number {
    return this.#entries.size;
  }

  #generation(subject: string): number {
    return this.#generations.get(subject) ?? 0;
  }
}

/** The entry lapses at the earliest consent expiry, or at `cap`. */
function validUntil(active: readonly ActiveConsent[], cap: number): number {
  let until = cap;
  for (const { consent } of active) {
    if (consent.expiresAt) until = Math.min(until, consent.expiresAt.getTime());
  }
  return until;
}

/** Decrypts a consent's credential once, on first use, for as long as the entry lives. */
function memoised(entry: ActiveConsent): ActiveConsent {
  const open = entry.openCredential;
  if (!open) return entry;
  let opened: PartnerCredential | null = null;
  return { consent: entry.consent, openCredential: () => (opened ??= open()) };
}
