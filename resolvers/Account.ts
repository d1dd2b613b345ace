import type { AccountResolvers } from './__generated__/types.js';
import { found } from './support/connection.js';
import { transactionsOf } from './support/transactions.js';

export const Account: AccountResolvers = {
  __resolveReference: (reference, context) => found(context.loaders.account.load(reference.id), 'Account'),
  balance: (account, _args, context) => context.loaders.balance.load(account.id),
  transactions: (account, args, context) => transactionsOf(context, [account.id], args),
};
