import { formatDecimal } from '../domain/money.js';
import type { MoneyResolvers } from './__generated__/types.js';

/** Minor units become an exact decimal string only here, at the edge of the graph. */
export const Money: MoneyResolvers = {
  amount: (money) => formatDecimal(money),
};
