import type { TransactionResolvers } from './__generated__/types.js';
import { found } from './support/connection.js';

export const Transaction: TransactionResolvers = {
  __resolveReference: (reference, context) =>
    found(context.loaders.transaction.load(reference.id), 'Transaction'),
  account: (transaction, _args, context) =>
    found(context.loaders.account.load(transaction.accountId), 'Account'),
};
