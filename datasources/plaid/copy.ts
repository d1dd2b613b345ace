/**
 * The vocabulary of an Item's local transaction copy, shared by the store (store.ts), the memory a
 * replica keeps of it (replica-memory.ts), the sync and the mapper.
 */
import type { Money } from '../../domain/money.js';

/** One transaction as kept locally, already in canonical terms (signed minor units, status). */
export interface PlaidStoredTransaction {
  transactionId: string;
  accountId: string;
  /** Negative = money out of the account. */
  amount: Money;
  status: 'PENDING' | 'BOOKED';
  /** On a posted transaction: the pending one it replaced. */
  pendingTransactionId: string | null;
  description: string;
  merchantName: string | null;
  category: string | null;
  bookedAt: Date;
  /** A calendar date (UTC midnight), when the partner reports one. */
  valueDate: Date | null;
}

/** The net effect of one completed sync: the latest state of each changed transaction. */
export interface PlaidSyncChanges {
  upserted: readonly PlaidStoredTransaction[];
  removed: readonly string[];
}

/** An Item's local copy as of its last completed sync. */
export interface PlaidCopy {
  syncedAt: Date;
  transactions: readonly PlaidStoredTransaction[];
}

/** Bounds on booking time, both inclusive. */
export interface PlaidTransactionWindow {
  from?: Date;
  to?: Date;
}

/** Which part of a copy a read serves. */
export interface PlaidCopyRead {
  accountIds: readonly string[];
  window?: PlaidTransactionWindow;
}

/** Whether two reads ask for the same part of a copy: the same accounts in order, the same window. */
export function sameRead(one: PlaidCopyRead, other: PlaidCopyRead): boolean {
  const ids = other.accountIds;
  return (
    one.accountIds.length === ids.length &&
    one.accountIds.every((id, index) => id === ids[index]) &&
    one.window?.from?.getTime() === other.window?.from?.getTime() &&
    one.window?.to?.getTime() === other.window?.to?.getTime()
  );
}

/** Roughly what a stored transaction keeps alive in memory: its objects, two bytes per character. */
export function keptBytes(t: PlaidStoredTransaction): number {
  const optional = (t.merchantName?.length ?? 0) + (t.category?.length ?? 0);
  const text = t.transactionId.length + t.accountId.length + t.description.length + optional;
  return 320 + 2 * (text + (t.pendingTransactionId?.length ?? 0));
}
