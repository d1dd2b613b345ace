/**
 * Keeps an Item's local transaction copy current with /transactions/sync (Plaid's integration guide):
 * from the Item's cursor, pull every page while `has_more`, then apply the net added/modified/removed
 * and the new cursor in one store transaction. The cursor is the one this replica last stored or read
 * (no statement on a live read); if another replica has moved it since, the store's compare-and-set
 * refuses the sync and the caller reads the copy that replica wrote. When Plaid answers
 * TRANSACTIONS_SYNC_MUTATION_DURING_PAGINATION, the whole loop restarts from the cursor the update began
 * with (never from scratch, never only the failed page). Nothing is written until every page is in and
 * mapped, so a failure part-way leaves the copy and cursor as they were.
 */
import type { PlaidCopy, PlaidCopyRead, PlaidStoredTransaction, PlaidSyncChanges } from './copy.js';
import type { PlaidSyncStore } from './store.js';
import type { PlaidCall, PlaidClient } from './client.js';
import { contractViolation } from '../contract.js';
import { isMutationDuringPagination, mapReported } from './errors.js';
import { toStoredTransaction } from './mapper.js';
import type { PlaidTransaction } from './types.js';

const ENDPOINT = 'POST /transactions/sync';

export interface SyncSettings {
  /** Updates per page, 1..500. */
  pageSize: number;
  /** Restarts after a mutation during pagination before the error is passed on. */
  maxRestarts: number;
  /** Pages one update may take before it is treated as a runaway. */
  maxPages: number;
}

/** The Item being synced and whose it is. */
export interface SyncTarget {
  subject: string;
  itemId: string;
  accessToken: string;
}

/**
 * Brings the Item's local copy up to date. With `read`, a sync that brought nothing new is applied and
 * read back in one statement and the copy is returned; otherwise (changes to write, a first sync, a
 * race lost) the answer is null and the caller reads the copy itself.
 */
export async function syncItem(
  client: PlaidClient,
  store: PlaidSyncStore,
  settings: SyncSettings,
  call: PlaidCall,
  target: SyncTarget,
  read?: PlaidCopyRead,
): Promise<PlaidCopy | null> {
  const start = await store.startCursor(target.subject, target.itemId);
  for (let restart = 0; ; restart++) {
    try {
      const pulled = await pullUpdates(client, settings, call, target.accessToken, start);
      const unchanged = pulled.changes.upserted.length === 0 && pulled.changes.removed.length === 0;
      if (read && unchanged && start !== null) {
        const copy = await store.advanceAndRead(target.subject, target.itemId, start, pulled.cursor, read);
        if (copy) return copy;
      }
      const applied = await store.applySync(
        target.subject,
        target.itemId,
        start,
        pulled.changes,
        pulled.cursor,
      );
      if (!applied) {
        call.logger.info(
          { partner: 'plaid' },
          'Another sync stored these Plaid updates first; keeping its copy.',
        );
      }
      return null;
    } catch (error) {
      if (!isMutationDuringPagination(error) || restart >= settings.maxRestarts) throw error;
      call.logger.info(
        { partner: 'plaid', restart: restart + 1 },
        'Plaid transactions changed during pagination; restarting the sync from its first cursor.',
      );
    }
  }
}

async function pullUpdates(
  client: PlaidClient,
  settings: SyncSettings,
  call: PlaidCall,
  accessToken: string,
  start: string | null,
): Promise<{ changes: PlaidSyncChanges; cursor: string }> {
  // Latest state per transaction id across all pages; null = gone.
  const latest = new Map<string, PlaidStoredTransaction | null>();
  let cursor = start;
  for (let page = 0; ; page++) {
    if (page >= settings.maxPages) {
      throw violation(call, `has_more: still true after ${settings.maxPages} pages`);
    }
    const response = await client.syncTransactions(call, accessToken, cursor, settings.pageSize);
    if (response.has_more && response.next_cursor === (cursor ?? '')) {
      throw violation(call, 'next_cursor: has_more without advancing the cursor');
    }
    const keep = (list: readonly PlaidTransaction[], name: string) =>
      list.forEach((wire, index) => {
        const source = { endpoint: ENDPOINT, path: `page ${page + 1} ${name}[${index}]` };
        const stored = mapReported(call, () => toStoredTransaction(wire, source));
        latest.set(stored.transactionId, stored);
        // A posted transaction replaces its pending one; Plaid also reports that one as removed.
        if (stored.pendingTransactionId !== null && stored.pendingTransactionId !== stored.transactionId) {
          latest.set(stored.pendingTransactionId, null);
        }
      });
    keep(response.added, 'added');
    keep(response.modified, 'modified');
    for (const removed of response.removed) latest.set(removed.transaction_id, null);
    cursor = response.next_cursor;
    if (!response.has_more) break;
  }
  const upserted: PlaidStoredTransaction[] = [];
  const removed: string[] = [];
  for (const [id, stored] of latest) {
    if (stored) upserted.push(stored);
    else removed.push(id);
  }
  return { changes: { upserted, removed }, cursor };
}

function violation(call: PlaidCall, issue: string) {
  return contractViolation({ partner: 'plaid', endpoint: ENDPOINT, issues: [issue], call });
}
