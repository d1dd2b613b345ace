/**
 * Money inside the process: an integer count of minor units (bigint) and an ISO 4217 code.
 * Currencies and their exponents come from the ISO 4217 list as the `currency-codes` package publishes it
 * (kept current by its maintainers from SIX's list), so a made-up code like QQQ is no currency at all.
 * Floats never hold money. Conversion to and from decimal strings is exact; rounding, where a
 * partner sends more digits than the currency has, is explicit and half-even (banker's rounding).
 */

import currencyCodes from 'currency-codes';

export interface Money {
  /** Integer minor units: pence for GBP, yen for JPY, fils for BHD. Negative = money out. */
  minor: bigint;
  /** ISO 4217 alphabetic code, upper case. */
  currency: string;
}

/**
 * ISO 4217 units that have no minor unit ("N.A." in the standard): precious metals, bond-market units,
 * the SDR, the testing code and "no currency". They are on the list but money is never held in them.
 */
const NOT_CURRENCIES = new Set([
  'XAG',
  'XAU',
  'XBA',
  'XBB',
  'XBC',
  'XBD',
  'XDR',
  'XPD',
  'XPT',
  'XSU',
  'XTS',
  'XUA',
  'XXX',
]);

const CODE = /^[A-Z]{3}$/;

/** Minor-unit digits of every currency money can be held in, from the published list, built once. */
const EXPONENTS: ReadonlyMap<string, number> = new Map(
  currencyCodes
    .codes()
    .filter((code) => !NOT_CURRENCIES.has(code))
    .map((code) => [code, currencyCodes.code(code)!.digits]),
);

export class MoneyError extends Error {
  override name = 'MoneyError';
}

/** True when the code is a current ISO 4217 currency (the published list) that money can be held in. */
export function isCurrencyCode(code: string): boolean {
  return CODE.test(code) && EXPONENTS.has(code);
}

/** The number of minor-unit digits of a currency (JPY 0, GBP 2, BHD 3). */
export function exponentOf(currency: string): number {
  if (!isCurrencyCode(currency))
    throw new MoneyError(`not an ISO 4217 currency code: ${JSON.stringify(currency)}`);
  return EXPONENTS.get(currency)!;
}

export type Rounding = 'reject' | 'half-even';

const DECIMAL = /^([+-])?(\d+)(?:\.(\d+))?$/;
const SCIENTIFIC = /^([+-])?(\d+)(?:\.(\d+))?[eE]([+-]?\d+)$/;

/**
 * Parses an exact decimal string ("-12.30", "1000", "0.005") into minor units.
 * With rounding 'reject' (the default), more fractional digits than the currency has is an error
 * unless they are zeros; with 'half-even' they are rounded to the nearest minor unit, ties to even.
 */
export function parseDecimal(text: string, currency: string, rounding: Rounding = 'reject'): Money {
  const exponent = exponentOf(currency);
  const match = DECIMAL.exec(text.trim());
  if (!match) throw new MoneyError(`not a decimal amount: ${JSON.stringify(text)}`);
  const [, sign, whole = '0', fraction = ''] = match;
  return { minor: scale(sign === '-', whole, fraction, exponent, rounding, text), currency };
}

/**
 * Converts a JSON number (Plaid sends floats) into minor units without float arithmetic: the
 * number's shortest round-trip decimal form is what the partner wrote, and that string is parsed
 * exactly. 12.3 becomes 1230 pence, never 1229.
 */
export function fromJsonNumber(value: number, currency: string, rounding: Rounding = 'half-even'): Money {
  if (!Number.isFinite(value)) throw new MoneyError(`not a finite amount: ${value}`);
  const text = String(value);
  const sci = SCIENTIFIC.exec(text);
  if (!sci) return parseDecimal(text, currency, rounding);
  const [, sign, whole = '0', fraction = '', exp = '0'] = sci;
  const digits = whole + fraction;
  const point = whole.length + Number(exp);
  const plain =
    point <= 0
      ? `0.${'0'.repeat(-point)}${digits}`
      : point >= digits.length
        ? digits + '0'.repeat(point - digits.length)
        : `${digits.slice(0, point)}.${digits.slice(point)}`;
  return parseDecimal(`${sign === '-' ? '-' : ''}${plain}`, currency, rounding);
}

function scale(
  negative: boolean,
  whole: string,
  fraction: string,
  exponent: number,
  rounding: Rounding,
  original: string,
): bigint {
  const kept = fraction.slice(0, exponent).padEnd(exponent, '0');
  const dropped = fraction.slice(exponent);
  let minor = BigInt(whole + kept);
  if (/[1-9]/.test(dropped)) {
    if (rounding === 'reject') {
      throw new MoneyError(`${JSON.stringify(original)} has more than ${exponent} decimal places`);
    }
    const first = Number(dropped[0]);
    const restNonZero = /[1-9]/.test(dropped.slice(1));
    const roundUp = first > 5 || (first === 5 && (restNonZero || minor % 2n === 1n));
    if (roundUp) minor += 1n;
  }
  return negative ? -minor : minor;
}

/** Formats minor units as an exact decimal string with the currency's digits: -1230n GBP -> "-12.30". */
export function formatDecimal(money: Money): string {
  const exponent = exponentOf(money.currency);
  const negative = money.minor < 0n;
  const digits = (negative ? -money.minor : money.minor).toString().padStart(exponent + 1, '0');
  const whole = digits.slice(0, digits.length - exponent);
  const fraction = digits.slice(digits.length - exponent);
  return `${negative ? '-' : ''}${whole}${exponent > 0 ? `.${fraction}` : ''}`;
}

export function money(minor: bigint | number, currency: string): Money {
  if (typeof minor === 'number' && !Number.isSafeInteger(minor)) {
    throw new MoneyError(`minor units must be an integer: ${minor}`);
  }
  exponentOf(currency);
  return { minor: BigInt(minor), currency };
}

export function negate(value: Money): Money {
  return { minor: -value.minor, currency: value.currency };
}

export function add(a: Money, b: Money): Money {
  assertSameCurrency(a, b);
  return { minor: a.minor + b.minor, currency: a.currency };
}

export function equals(a: Money, b: Money): boolean {
  return a.currency === b.currency && a.minor === b.minor;
}

function assertSameCurrency(a: Money, b: Money): void {
  if (a.currency !== b.currency) throw new MoneyError(`currency mismatch: ${a.currency} vs ${b.currency}`);
}
