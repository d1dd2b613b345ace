/**
 * Transaction templates of the Plaid sandbox seed: merchants, channels and categories (Plaid's
 * personal finance categories and its legacy category hierarchy), and a generator for regular series.
 */
import type { WireTransaction } from './wire.js';

/** A kind of transaction: who, how and how it is categorised. */
export interface TxTemplate {
  name: string;
  merchant: string | null;
  channel: WireTransaction['payment_channel'];
  pfc: [primary: string, detailed: string];
  legacy: [category: string[], categoryId: string];
  city?: [city: string, region: string, postalCode: string];
}

/** One seeded transaction. `minor` is signed the Plaid way (positive = outflow). */
export interface TxSeed {
  template: TxTemplate;
  minor: number;
  daysAgo: number;
  pending?: boolean;
  /** Whether the institution reports a time of day (Plaid's `datetime`), not only a date. */
  withTime?: boolean;
}

const t = (
  name: string,
  merchant: string | null,
  channel: TxTemplate['channel'],
  pfc: TxTemplate['pfc'],
  legacy: TxTemplate['legacy'],
  city?: TxTemplate['city'],
): TxTemplate => ({ name, merchant, channel, pfc, legacy, ...(city ? { city } : {}) });

const NYC: TxTemplate['city'] = ['New York', 'NY', '10001'];
const SF: TxTemplate['city'] = ['San Francisco', 'CA', '94103'];

export const T = {
  groceries: t(
    'WHOLEFDS MKT #10234',
    'Whole Foods Market',
    'in store',
    ['FOOD_AND_DRINK', 'FOOD_AND_DRINK_GROCERIES'],
    [['Shops', 'Supermarkets and Groceries'], '19047000'],
    NYC,
  ),
  coffee: t(
    'STARBUCKS STORE 08812',
    'Starbucks',
    'in store',
    ['FOOD_AND_DRINK', 'FOOD_AND_DRINK_COFFEE'],
    [['Food and Drink', 'Restaurants', 'Coffee Shop'], '13005043'],
    SF,
  ),
  ride: t(
    'UBER *TRIP HELP.UBER.COM',
    'Uber',
    'online',
    ['TRANSPORTATION', 'TRANSPORTATION_TAXIS_AND_RIDE_SHARES'],
    [['Travel', 'Taxi'], '22016000'],
  ),
  streaming: t(
    'NETFLIX.COM',
    'Netflix',
    'online',
    ['ENTERTAINMENT', 'ENTERTAINMENT_TV_AND_MOVIES'],
    [['Service', 'Subscription'], '18061000'],
  ),
  fuel: t(
    'SHELL OIL 57442',
    'Shell',
    'in store',
    ['TRANSPORTATION', 'TRANSPORTATION_GAS'],
    [['Travel', 'Gas Stations'], '22009000'],
    NYC,
  ),
  utility: t(
    'CON ED OF NY AUTOPAY',
    'Con Edison',
    'online',
    ['RENT_AND_UTILITIES', 'RENT_AND_UTILITIES_GAS_AND_ELECTRICITY'],
    [['Service', 'Utilities', 'Gas'], '18068000'],
  ),
  shopping: t(
    'AMAZON MKTPL*2K4L19',
    'Amazon',
    'online',
    ['GENERAL_MERCHANDISE', 'GENERAL_MERCHANDISE_ONLINE_MARKETPLACES'],
    [['Shops', 'Digital Purchase'], '19013000'],
  ),
  payroll: t(
    'ACME CORP PAYROLL PPD',
    null,
    'other',
    ['INCOME', 'INCOME_WAGES'],
    [['Transfer', 'Payroll'], '21009000'],
  ),
  venmo: t(
    'VENMO CASHOUT',
    'Venmo',
    'other',
    ['TRANSFER_IN', 'TRANSFER_IN_ACCOUNT_TRANSFER'],
    [['Transfer', 'Third Party', 'Venmo'], '21010001'],
  ),
  cardPayment: t(
    'AUTOPAY PAYMENT - THANK YOU',
    null,
    'other',
    ['LOAN_PAYMENTS', 'LOAN_PAYMENTS_CREDIT_CARD_PAYMENT'],
    [['Payment', 'Credit Card'], '16001000'],
  ),
  interest: t(
    'INTEREST PAID',
    null,
    'other',
    ['INCOME', 'INCOME_INTEREST_EARNED'],
    [['Interest', 'Interest Earned'], '15001000'],
  ),
  verification: t(
    'CARD VERIFICATION',
    'Apple',
    'online',
    ['GENERAL_SERVICES', 'GENERAL_SERVICES_OTHER_GENERAL_SERVICES'],
    [['Service'], '18000000'],
  ),
  loanPayment: t(
    'STUDENT LOAN PAYMENT',
    null,
    'other',
    ['LOAN_PAYMENTS', 'LOAN_PAYMENTS_STUDENT_LOAN_PAYMENT'],
    [['Payment', 'Loan'], '16003000'],
  ),
  ramen: t(
    'ICHIRAN SHIBUYA',
    'Ichiran',
    'in store',
    ['FOOD_AND_DRINK', 'FOOD_AND_DRINK_RESTAURANT'],
    [['Food and Drink', 'Restaurants'], '13005000'],
    ['Tokyo', '13', '150-0041'],
  ),
  salary: t(
    'KABUSHIKI KAISHA SALARY',
    null,
    'other',
    ['INCOME', 'INCOME_WAGES'],
    [['Transfer', 'Payroll'], '21009000'],
  ),
  souq: t(
    'MANAMA SOUQ',
    'Manama Souq',
    'in store',
    ['GENERAL_MERCHANDISE', 'GENERAL_MERCHANDISE_OTHER_GENERAL_MERCHANDISE'],
    [['Shops'], '19000000'],
    ['Manama', '13', '317'],
  ),
  deposit: t(
    'DEPOSIT TRANSFER',
    null,
    'other',
    ['TRANSFER_IN', 'TRANSFER_IN_DEPOSIT'],
    [['Transfer', 'Deposit'], '21007000'],
  ),
} as const;

/**
 * A regular series: `count` entries, newest first and two days apart, every `creditEvery`-th an inflow,
 * the first `pending` entries still pending. Amounts vary a little so no two are alike.
 */
export function series(
  count: number,
  debits: readonly [TxTemplate, number][],
  credits: readonly [TxTemplate, number][],
  options: { creditEvery: number; pending: number },
): TxSeed[] {
  const out: TxSeed[] = [];
  for (let i = 0; i < count; i++) {
    const credit = i % options.creditEvery === options.creditEvery - 1;
    const pool = credit ? credits : debits;
    const [template, minor] = pool[(i * 5 + 3) % pool.length] as [TxTemplate, number];
    const varied = minor + (Math.abs(minor) > 1000 ? (i * 37) % 100 : 0);
    out.push({
      template,
      minor: credit ? -varied : varied,
      daysAgo: i * 2,
      pending: i < options.pending,
      withTime: i % 2 === 0,
    });
  }
  return out;
}

export const EVERYDAY: [TxTemplate, number][] = [
  [T.groceries, 8423],
  [T.coffee, 645],
  [T.ride, 2170],
  [T.streaming, 1549],
  [T.fuel, 4512],
  [T.utility, 9630],
  [T.shopping, 3299],
];
export const INCOME: [TxTemplate, number][] = [
  [T.payroll, 325000],
  [T.venmo, 4500],
];
