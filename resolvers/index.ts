/** The resolver map: one file per GraphQL type, merged here. */
import { PARTNER_NAMES } from '../datasources/modules.js';
import type { ProviderResolvers, Resolvers } from './__generated__/types.js';
import { Account } from './Account.js';
import { Consent } from './Consent.js';
import { Customer } from './Customer.js';
import { Money } from './Money.js';
import { Mutation } from './Mutation.js';
import { Node } from './Node.js';
import { Creditor, Payment, PaymentNextAction } from './Payment.js';
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
  Node,
  Payment,
  PaymentNextAction,
  Provider: providerEnum(),
  Query,
  Transaction,
};

/**
 * The `Provider` enum's internal values: each module's lower-case name under its upper-case SDL value.
 * test/resolvers/provider-enum.test.ts holds the SDL enum and the module list equal.
 */
function providerEnum(): ProviderResolvers {
  return Object.fromEntries(PARTNER_NAMES.map((name) => [name.toUpperCase(), name])) as ProviderResolvers;
}
