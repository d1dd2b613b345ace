import type { CustomerResolvers } from './__generated__/types.js';
import { accountsOf } from './support/accounts.js';
import { connectionFrom, pageSize } from './support/connection.js';
import { accountPageReads } from './support/lookahead.js';
import { paymentsConnection } from './Payment.js';

/** Customer is owned by the customers subgraph; Tributary contributes accounts and payments. */
export const Customer: CustomerResolvers = {
  __resolveReference: (reference) => reference,
  accounts: async (_customer, args, context, info) => {
    pageSize(args.first);
    // Ownership (customer id = subject) is enforced by the shield rule on every Customer field.
    const reads = accountPageReads(info, args);
    return connectionFrom(await accountsOf(context, args.provider, info, reads), args);
  },
  payments: (_customer, args, context) => paymentsConnection(context, args),
};
