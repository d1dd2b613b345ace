/** Transactions of one or more accounts as a connection, with the schema's filter applied. */
import type { Transaction } from '../../domain/model.js';
import type { RequestContext } from '../context.js';
import type { TransactionFilter } from '../__generated__/types.js';
import { connectionFrom, pageSize, type ConnectionArgs } from './connection.js';
import { windowOf } from './lookahead.js';

export async function transactionsOf(
  context: RequestContext,
  accountIds: readonly string[],
  args: ConnectionArgs & { filter?: TransactionFilter | null },
) {
  pageSize(args.first);
  const window = windowOf(args.filter);
  const lists = await Promise.all(
    accountIds.map((accountId) => context.loaders.transactions.load({ accountId, window })),
  );
  const statuses = args.filter?.status;
  const all = lists
    .flat()
    .filter((transaction) => !statuses || statuses.includes(transaction.status))
    .sort(newestFirst);
  return connectionFrom(all, args);
}

function newestFirst(a: Transaction, b: Transaction): number {
  return b.bookedAt.getTime() - a.bookedAt.getTime() || (a.id < b.id ? -1 : a.id > b.id ? 1 : 0);
}
