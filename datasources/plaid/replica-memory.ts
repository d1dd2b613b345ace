/**
 * What one replica remembers of each Item between statements: the cursor its last sync stored or read
 * (a live read starts its sync without a statement), and the copy its last live read was answered
 * with, with the cursor that copy was read at.
 *
 * A copy is a function of Plaid's change log up to its cursor. So when a sync from that cursor brings
 * nothing new and Plaid hands the same cursor back, the copy held here is still the Item's copy: a live
 * read answers with it and writes nothing (store.ts `advanceAndRead`). Only the read a copy was taken for
 * (its accounts and window) is answered from it. Both are bounded (copies in bytes) and forgotten with
 * the Item or the subject, here and, on erasure, when another replica says so.
 */
import { LRUCache } from 'lru-cache';
import { keptBytes, sameRead, type PlaidCopyRead, type PlaidStoredTransaction } from './copy.js';

interface HeldCopy {
  cursor: string;
  read: PlaidCopyRead;
  transactions: readonly PlaidStoredTransaction[];
}

/** Default bounds: cursors by count, copies by bytes (a few thousand Items of a few dozen each). */
const DEFAULT_REMEMBERED_CURSORS = 10_000;
const DEFAULT_HELD_COPY_BYTES = 8 * 1024 * 1024;

export class ReplicaMemory {
  readonly #cursors: LRUCache<string, string>;
  readonly #copies: LRUCache<string, HeldCopy>;

  constructor(options: { cursors?: number; copyBytes?: number } = {}) {
    this.#cursors = new LRUCache({ max: options.cursors ?? DEFAULT_REMEMBERED_CURSORS });
    this.#copies = new LRUCache({
      maxSize: Math.max(1, options.copyBytes ?? DEFAULT_HELD_COPY_BYTES),
      sizeCalculation: (held) =>
        held.transactions.reduce((bytes, transaction) => bytes + keptBytes(transaction), 256),
    });
  }

  /** The cursor this replica last stored or read for the Item; undefined when it holds none. */
  cursor(subject: string, itemId: string): string | undefined {
    return this.#cursors.get(keyOf(subject, itemId));
  }

  /** Keeps the cursor; null (none, or a sync refused) forgets it. */
  remember(subject: string, itemId: string, cursor: string | null): void {
    const key = keyOf(subject, itemId);
    if (cursor === null) this.#cursors.delete(key);
    else this.#cursors.set(key, cursor);
  }

  /** The transactions of the copy held for exactly this read at exactly this cursor, if any. */
  copy(
    subject: string,
    itemId: string,
    cursor: string,
    read: PlaidCopyRead,
  ): readonly PlaidStoredTransaction[] | undefined {
    const held = this.#copies.get(keyOf(subject, itemId));
    if (!held || held.cursor !== cursor || !sameRead(held.read, read)) return undefined;
    return held.transactions;
  }

  /** Holds a copy read at `cursor`; it replaces whatever was held for the Item. */
  hold(
    subject: string,
    itemId: string,
    cursor: string,
    read: PlaidCopyRead,
    transactions: readonly PlaidStoredTransaction[],
  ): void {
    const kept: PlaidCopyRead = {
      accountIds: [...read.accountIds],
      window: { from: read.window?.from, to: read.window?.to },
    };
    this.#copies.set(keyOf(subject, itemId), { cursor, read: kept, transactions });
  }

  /** Forgets the copy held for the Item (its cursor stays). */
  release(subject: string, itemId: string): void {
    this.#copies.delete(keyOf(subject, itemId));
  }

  forgetItem(subject: string, itemId: string): void {
    this.#cursors.delete(keyOf(subject, itemId));
    this.#copies.delete(keyOf(subject, itemId));
  }

  forgetSubject(subject: string): void {
    const prefix = keyOf(subject, '');
    for (const key of [...this.#cursors.keys()]) if (key.startsWith(prefix)) this.#cursors.delete(key);
    for (const key of [...this.#copies.keys()]) if (key.startsWith(prefix)) this.#copies.delete(key);
  }
}

const keyOf = (subject: string, itemId: string) => `${subject}\u0000${itemId}`;
