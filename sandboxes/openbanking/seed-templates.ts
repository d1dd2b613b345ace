/**
 * Transaction templates of the seeded bank: what customers typically see on a statement, with
 * merchants and ISO 20022 bank transaction codes. Amounts are minor units of the account currency.
 */

export interface TxTemplate {
  info: string;
  /** Amount in the account currency's minor units. */
  minor: number;
  merchant?: { name: string; mcc: string };
  /** ISO 20022 bank transaction code domain/family, and the bank's own short code. */
  code: { code: string; subCode: string; proprietary: string };
}

const card = { code: 'CustomerCardTransactions', subCode: 'PointOfSalePayment', proprietary: 'CARD' };
const dd = { code: 'IssuedDirectDebits', subCode: 'DirectDebitPayment', proprietary: 'DD' };
const so = { code: 'IssuedCreditTransfer', subCode: 'StandingOrder', proprietary: 'SO' };
const fpIn = { code: 'ReceivedCreditTransfer', subCode: 'DomesticCreditTransfer', proprietary: 'FPI' };
const fpOut = { code: 'IssuedCreditTransfer', subCode: 'DomesticCreditTransfer', proprietary: 'FPO' };

const m = (name: string, mcc: string) => ({ name, mcc });

export const EVERYDAY_DEBITS: TxTemplate[] = [
  { info: 'Card payment TESCO STORES 2041', minor: 2345, merchant: m('Tesco Stores', '5411'), code: card },
  { info: 'Card payment PRET A MANGER', minor: 685, merchant: m('Pret A Manger', '5814'), code: card },
  { info: 'Direct debit THAMES WATER', minor: 3850, merchant: m('Thames Water', '4900'), code: dd },
  {
    info: 'Card payment TFL TRAVEL CHARGE',
    minor: 280,
    merchant: m('Transport for London', '4111'),
    code: card,
  },
  { info: 'Card payment AMAZON UK MARKETPLACE', minor: 1999, merchant: m('Amazon UK', '5942'), code: card },
  { info: 'Standing order RENT FLAT 2', minor: 95000, code: so },
  { info: 'Card payment SAINSBURYS S/MKTS', minor: 4312, merchant: m("Sainsbury's", '5411'), code: card },
  { info: 'Card payment NETFLIX.COM', minor: 1099, merchant: m('Netflix', '4899'), code: card },
];

export const EVERYDAY_CREDITS: TxTemplate[] = [
  { info: 'Salary ACME LTD', minor: 285000, code: fpIn },
  { info: 'Refund AMAZON UK MARKETPLACE', minor: 1999, merchant: m('Amazon UK', '5942'), code: card },
  { info: 'Faster payment from J SMITH', minor: 2500, code: fpIn },
];

export const SAVINGS_DEBITS: TxTemplate[] = [
  { info: 'Transfer to current account', minor: 25000, code: fpOut },
];
export const SAVINGS_CREDITS: TxTemplate[] = [
  { info: 'Transfer from current account', minor: 10000, code: fpIn },
  { info: 'Interest paid', minor: 1234, code: { ...fpIn, proprietary: 'INT' } },
];

export const CARD_DEBITS: TxTemplate[] = [
  { info: 'BRITISH AIRWAYS LONDON', minor: 42950, merchant: m('British Airways', '3009'), code: card },
  { info: 'DELIVEROO.CO.UK', minor: 2780, merchant: m('Deliveroo', '5812'), code: card },
  { info: 'APPLE.COM/BILL', minor: 299, merchant: m('Apple', '5735'), code: card },
  { info: 'JOHN LEWIS OXFORD ST', minor: 8900, merchant: m('John Lewis', '5311'), code: card },
  { info: 'SHELL KINGS CROSS', minor: 6120, merchant: m('Shell', '5541'), code: card },
];
export const CARD_CREDITS: TxTemplate[] = [
  { info: 'PAYMENT RECEIVED - THANK YOU', minor: 50000, code: fpIn },
];

/** Yen and dinar accounts keep their own magnitudes: amounts are minor units of each currency. */
export const FX_DEBITS: TxTemplate[] = [
  { info: 'Card payment LAWSON 1021', minor: 1480, merchant: m('Lawson', '5411'), code: card },
  { info: 'Card payment JR EAST SUICA', minor: 3000, merchant: m('JR East', '4111'), code: card },
  {
    info: 'Card payment LULU HYPERMARKET',
    minor: 12345,
    merchant: m('LuLu Hypermarket', '5411'),
    code: card,
  },
];
export const FX_CREDITS: TxTemplate[] = [{ info: 'Transfer in', minor: 250000, code: fpIn }];
