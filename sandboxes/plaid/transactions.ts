/**
 * /transactions/sync over a customer's change log, and the changes the control routes make to it.
 *
 * A cursor is an opaque base64 string holding the Item, the change-log position it has seen, and, on
 * pages that say `has_more`, the log position when the paginated update began: if the log moved since,
 * the next page fails with TRANSACTIONS_SYNC_MUTATION_DURING_PAGINATION, as Plaid's does, and the
 * caller must restart from the cursor of the update's first page.
 */
import type { Book, Entry, Item } from './state.js';
import { wireTransaction } from './seed.js';
import { fail, isoDate, isoDateTime, stableId, type WireAccount, type WireTransaction } from './wire.js';

interface Cursor {
  /** Item id. */
  i: string;
  /** Change-log position already reported. */
  s: number;
  /** Log position when the paginated update began; only on has_more pages. */
  h?: number;
}

export interface SyncPage {
  accounts: WireAccount[];
  added: WireTransaction[];
  modified: WireTransaction[];
  removed: { transaction_id: string; account_id: string }[];
  next_cursor: string;
  has_more: boolean;
  transactions_update_status: 'HISTORICAL_UPDATE_COMPLETE';
}

function encodeCursor(cursor: Cursor): string {
  return Buffer.from(JSON.stringify(cursor), 'utf8').toString('base64');
}

function decodeCursor(text: string, item: Item): Cursor {
  try {
    const value = JSON.parse(Buffer.from(text, 'base64').toString('utf8')) as Partial<Cursor>;
    if (value.i === item.itemId && Number.isInteger(value.s) && (value.s as number) >= 0)
      return value as Cursor;
  } catch {
    // Falls through to Plaid's answer for a cursor it did not issue.
  }
  fail('INVALID_REQUEST', 'INVALID_FIELD', 'cursor is not valid for this item');
}

const MUTATION_MESSAGE =
  'Underlying transaction data changed since last page was fetched. Please restart pagination from last update.';

/** One page of updates after `cursorText` (absent or "" = from the beginning). */
export function syncPage(
  book: Book,
  item: Item,
  cursorText: string | undefined,
  count: number,
  accountId: string | undefined,
): SyncPage {
  const cursor: Cursor = cursorText ? decodeCursor(cursorText, item) : { i: item.itemId, s: 0 };
  if (cursor.h !== undefined) {
    if (book.mutationsArmed > 0 || book.seq !== cursor.h) {
      book.mutationsArmed = Math.max(0, book.mutationsArmed - 1);
      fail('TRANSACTIONS_ERROR', 'TRANSACTIONS_SYNC_MUTATION_DURING_PAGINATION', MUTATION_MESSAGE);
    }
  }
  if (accountId !== undefined && !book.accounts.some((account) => account.account_id === accountId)) {
    fail('INVALID_INPUT', 'INVALID_ACCOUNT_ID', 'account_id is not associated with the Item');
  }
  const since = cursor.s;
  const changes = [...book.entries.values()]
    .filter(
      (entry) => entry.lastSeq > since && (accountId === undefined || entry.wire.account_id === accountId),
    )
    // Added and removed again since the cursor: the caller never saw it, so there is nothing to say.
    .filter((entry) => !(entry.removedSeq !== null && entry.addedSeq > since))
    .sort((a, b) => a.lastSeq - b.lastSeq);
  const page = changes.slice(0, count);
  const hasMore = changes.length > count;
  const reached = hasMore ? (page.at(-1) as Entry).lastSeq : book.seq;
  const next: Cursor = { i: item.itemId, s: reached, ...(hasMore ? { h: cursor.h ?? book.seq } : {}) };
  return {
    accounts: book.accounts.filter((account) => account.type !== 'investment').map((a) => structuredClone(a)),
    added: page
      .filter((e) => e.removedSeq === null && e.addedSeq > since)
      .map((e) => structuredClone(e.wire)),
    modified: page
      .filter((e) => e.removedSeq === null && e.addedSeq <= since)
      .map((e) => structuredClone(e.wire)),
    removed: page
      .filter((e) => e.removedSeq !== null)
      .map((e) => ({ transaction_id: e.wire.transaction_id, account_id: e.wire.account_id })),
    next_cursor: encodeCursor(next),
    has_more: hasMore,
    transactions_update_status: 'HISTORICAL_UPDATE_COMPLETE',
  };
}

/** A transaction added through the control route. `amount` is Plaid's signed float. */
export interface NewTransaction {
  account_id: string;
  amount: number;
  name: string;
  merchant_name?: string | null;
  pending?: boolean;
  /** YYYY-MM-DD; default: the sandbox's today. */
  date?: string;
  /** A personal finance category primary, e.g. FOOD_AND_DRINK. */
  category?: string;
  transaction_id?: string;
}

export interface TransactionPatch {
  transaction_id: string;
  amount?: number;
  name?: string;
  merchant_name?: string | null;
  date?: string;
}

function touch(book: Book, entry: Entry): void {
  book.seq += 1;
  entry.lastSeq = book.seq;
}

function live(book: Book, transactionId: string): Entry {
  const entry = book.entries.get(transactionId);
  if (!entry || entry.removedSeq !== null)
    throw new Error(`no transaction ${transactionId} for ${book.customer}`);
  return entry;
}

export function addTransaction(book: Book, input: NewTransaction, now: Date): WireTransaction {
  const exponent = book.exponents.get(input.account_id);
  const account = book.accounts.find((candidate) => candidate.account_id === input.account_id);
  if (exponent === undefined || !account)
    throw new Error(`no account ${input.account_id} for ${book.customer}`);
  const transactionId = input.transaction_id ?? stableId(`plaid/added/${book.customer}/${book.seq + 1}`);
  if (book.entries.has(transactionId)) throw new Error(`transaction ${transactionId} already exists`);
  const wire = wireTransaction({
    transactionId,
    accountId: input.account_id,
    amount: input.amount,
    currency: account.balances.iso_currency_code ?? 'USD',
    name: input.name,
    merchant: input.merchant_name ?? null,
    channel: 'other',
    pfc: input.category ? [input.category, `${input.category}_OTHER`] : null,
    legacy: null,
    date: input.date ? new Date(`${input.date}T12:00:00Z`) : now,
    withTime: false,
    pending: input.pending ?? false,
    pendingTransactionId: null,
  });
  const entry: Entry = { wire, addedSeq: 0, lastSeq: 0, removedSeq: null };
  touch(book, entry);
  entry.addedSeq = entry.lastSeq;
  book.entries.set(transactionId, entry);
  return wire;
}

export function modifyTransaction(book: Book, patch: TransactionPatch): WireTransaction {
  const entry = live(book, patch.transaction_id);
  if (patch.amount !== undefined) entry.wire.amount = patch.amount;
  if (patch.name !== undefined) entry.wire.name = patch.name;
  if (patch.merchant_name !== undefined) entry.wire.merchant_name = patch.merchant_name;
  if (patch.date !== undefined) entry.wire.date = patch.date;
  touch(book, entry);
  return entry.wire;
}

export function removeTransaction(book: Book, transactionId: string): void {
  const entry = live(book, transactionId);
  touch(book, entry);
  entry.removedSeq = entry.lastSeq;
}

/**
 * Posts a pending transaction the way Plaid reports it: the pending one is removed and a new posted
 * one, with its own id and `pending_transaction_id` naming the pending one, is added.
 */
export function postTransaction(book: Book, pendingId: string, now: Date, amount?: number): WireTransaction {
  const pending = live(book, pendingId);
  if (!pending.wire.pending) throw new Error(`transaction ${pendingId} is not pending`);
  removeTransaction(book, pendingId);
  const posted: WireTransaction = {
    ...structuredClone(pending.wire),
    transaction_id: stableId(`plaid/posted/${pendingId}`),
    amount: amount ?? pending.wire.amount,
    pending: false,
    pending_transaction_id: pendingId,
    date: isoDate(now),
    datetime: isoDateTime(now),
  };
  const entry: Entry = { wire: posted, addedSeq: 0, lastSeq: 0, removedSeq: null };
  touch(book, entry);
  entry.addedSeq = entry.lastSeq;
  book.entries.set(posted.transaction_id, entry);
  return posted;
}
