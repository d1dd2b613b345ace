import { NotImplementedError } from '../server/errors.js';
import type { QueryResolvers } from './__generated__/types.js';
import { accountsOf } from './support/accounts.js';
import { connectionFrom, found, pageSize } from './support/connection.js';
import { transactionsOf } from './support/transactions.js';

export const Query: QueryResolvers = {
  accounts: async (_root, args, context) => {
    pageSize(args.first);
    return connectionFrom(await accountsOf(context, args.provider), args);
  },
  account: (_root, args, context) => found(context.loaders.account.load(args.id), 'Account'),
  transactions: async (_root, args, context) => {
    if (!args.accountId) {
      const accounts = await accountsOf(context, null);
      return transactionsOf(
        context,
        accounts.map((account) => account.id),
        args,
      );
    }
    const account = await found(context.loaders.account.load(args.accountId), 'Account');
    return transactionsOf(context, [account.id], args);
  },
  consents: (_root, _args, context) => context.services.consents.listBySubject(context.principal!.subject),
  payment: () => {
    throw new NotImplementedError('Payments');
  },
  payments: () => {
    throw new NotImplementedError('Payments');
  },
  partnerHealth: () => {
    throw new NotImplementedError('Partner health');
  },
  webhookEvents: () => {
    throw new NotImplementedError('The webhook inbox');
  },
};
