import type { QueryResolvers } from './__generated__/types.js';
import { accountsOf } from './support/accounts.js';
import { connectionFrom, found, pageSize } from './support/connection.js';
import { transactionsOf } from './support/transactions.js';
import { accountPageReads, windowOf } from './support/lookahead.js';
import { paymentLoader, paymentsConnection } from './Payment.js';
import { webhookEventsConnection } from './support/webhooks.js';
import { latestReconciliation } from './support/reconciliation.js';
import { node } from './Node.js';

export const Query: QueryResolvers = {
  accounts: async (_root, args, context, info) => {
    pageSize(args.first);
    const reads = accountPageReads(info, args);
    return connectionFrom(await accountsOf(context, args.provider, info, reads), args);
  },
  account: (_root, args, context) => found(context.loaders.account.load(args.id), 'Account'),
  node,
  transactions: async (_root, args, context, info) => {
    if (!args.accountId) {
      const accounts = await accountsOf(context, null, info, {
        balances: false,
        transactionWindows: [windowOf(args.filter)],
      });
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
  payment: (_root, args, context) => paymentLoader(context).load(args.id),
  payments: (_root, args, context) => paymentsConnection(context, args),
  partnerHealth: (_root, _args, context) => context.services.partners.health(),
  webhookEvents: (_root, args, context) => webhookEventsConnection(context, args),
  reconciliation: (_root, _args, context) => latestReconciliation(context),
};
