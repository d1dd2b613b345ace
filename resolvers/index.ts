/** The resolver map: one file per GraphQL type, merged here. */
import type { Resolvers } from './__generated__/types.js';
import { Account } from './Account.js';
import { Consent } from './Consent.js';
import { Customer } from './Customer.js';
import { Money } from './Money.js';
import { Mutation } from './Mutation.js';
import { Creditor, Payment } from './Payment.js';
import { Query } from './Query.js';
import { CurrencyCode, DateTime, Decimal } from './scalars.js';
import { Transaction } from './Transaction.js';

export const resolvers: Resolvers = {
  Account,
  Consent,
  Creditor,
  CurrencyCode,
  Customer,
  DateTime,
  Decimal,
  Money,
  Mutation,
  Payment,
  // Canonical provider names are lower case; the enum's values are upper case.
  Provider: { OPENBANKING: 'openbanking', PLAID: 'plaid', STRIPE: 'stripe' },
  Query,
  Transaction,
};
