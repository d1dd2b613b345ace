import type { CustomerResolvers } from './__generated__/types.js';
import { accountsOf } from './support/accounts.js';
import { connectionFrom, pageSize } from './support/connection.js';
import { paymentsConnection } from './Payment.js';

/** Customer is owned by the customers subgraph; Tributary contributes accounts and payments. */
export const Customer: CustomerResolvers = {
  __resolveReference: (reference) => reference,
  accounts: async (_customer, args, context, info) => {
    pageSize(args.first);
    // Ownership (customer id = subject) is enforced by the shield rule on every Customer field.
    return connectionFrom(await accountsOf(context, args.provider, info), args);
  },
  payments: (_customer, args, context) => paymentsConnection(context, args),
};
