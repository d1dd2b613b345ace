import type { CustomerResolvers } from './__generated__/types.js';
import { accountsOf } from './support/accounts.js';
import { connectionFrom, pageSize } from './support/connection.js';
import { NotImplementedError } from '../server/errors.js';

/** Customer is owned by the customers subgraph; Tributary contributes accounts and payments. */
export const Customer: CustomerResolvers = {
  __resolveReference: (reference) => reference,
  accounts: async (_customer, args, context) => {
    pageSize(args.first);
    // Ownership (customer id = subject) is enforced by the shield rule on every Customer field.
    return connectionFrom(await accountsOf(context, args.provider), args);
  },
  payments: () => {
    throw new NotImplementedError('Payments');
  },
};
