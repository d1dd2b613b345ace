import { describe, expect, it } from 'vitest';
import {
  exponentOf,
  formatDecimal,
  fromJsonNumber,
  isCurrencyCode,
  money,
  MoneyError,
  parseDecimal,
} from '../../domain/money.js';

describe('money', () => {
  it('knows the minor-unit exponent of 0, 2 and 3 decimal currencies', () => {
    expect(exponentOf('JPY')).toBe(0);
    expect(exponentOf('GBP')).toBe(2);
    expect(exponentOf('EUR')).toBe(2);
    expect(exponentOf('BHD')).toBe(3);
    expect(exponentOf('KWD')).toBe(3);
    expect(exponentOf('CLF')).toBe(4);
  });

  it('rejects codes that are not currencies', () => {
    expect(isCurrencyCode('gbp')).toBe(false);
    expect(isCurrencyCode('XAU')).toBe(false);
    expect(isCurrencyCode('GB')).toBe(false);
    expect(() => exponentOf('XXX')).toThrow(MoneyError);
  });

  it('knows only the codes on the ISO 4217 list: made-up codes are not currencies', () => {
    for (const code of ['QQQ', 'ABC', 'XTS', 'XXX']) expect(isCurrencyCode(code), code).toBe(false);
    for (const code of ['GBP', 'USD', 'EUR', 'JPY', 'KWD', 'CHF', 'ZAR'])
      expect(isCurrencyCode(code), code).toBe(true);
  });

  it.each([
    ['12.30', 'GBP', 1230n],
    ['-12.30', 'GBP', -1230n],
    ['0', 'GBP', 0n],
    ['0.01', 'GBP', 1n],
    ['1000', 'JPY', 1000n],
    ['1.234', 'BHD', 1234n],
    ['-0.005', 'BHD', -5n],
    ['12.300000', 'GBP', 1230n],
    ['92233720368547758.07', 'GBP', 9223372036854775807n],
  ])('parses %s %s exactly into %s minor units', (text, currency, minor) => {
    expect(parseDecimal(text, currency)).toEqual({ minor, currency });
  });

  it('refuses more fractional digits than the currency has unless asked to round', () => {
    expect(() => parseDecimal('12.345', 'GBP')).toThrow(/more than 2 decimal places/);
    expect(() => parseDecimal('1.5', 'JPY')).toThrow(/more than 0 decimal places/);
  });

  it.each([
    ['0.125', 'GBP', 12n],
    ['0.135', 'GBP', 14n],
    ['0.1251', 'GBP', 13n],
    ['-0.125', 'GBP', -12n],
    ['-0.135', 'GBP', -14n],
    ['2.5', 'JPY', 2n],
    ['3.5', 'JPY', 4n],
    ['1.2345', 'BHD', 1234n],
    ['1.2355', 'BHD', 1236n],
  ])('rounds %s %s half-even to %s', (text, currency, minor) => {
    expect(parseDecimal(text, currency, 'half-even').minor).toBe(minor);
  });

  it('rejects text that is not a plain decimal', () => {
    for (const text of ['', '1,00', '1e3', '12.', '.5', 'NaN', '0x10', '--1']) {
      expect(() => parseDecimal(text, 'GBP')).toThrow(MoneyError);
    }
  });

  it.each([
    [1230n, 'GBP', '12.30'],
    [-1230n, 'GBP', '-12.30'],
    [5n, 'GBP', '0.05'],
    [-5n, 'BHD', '-0.005'],
    [1234n, 'BHD', '1.234'],
    [1000n, 'JPY', '1000'],
    [0n, 'GBP', '0.00'],
    [9223372036854775807n, 'GBP', '92233720368547758.07'],
  ])('formats %s %s as %s', (minor, currency, text) => {
    expect(formatDecimal({ minor, currency })).toBe(text);
  });

  it('round-trips every formatted value', () => {
    for (const currency of ['JPY', 'GBP', 'BHD']) {
      for (const minor of [0n, 1n, -1n, 99n, 100n, -101n, 123456789n]) {
        expect(parseDecimal(formatDecimal({ minor, currency }), currency).minor).toBe(minor);
      }
    }
  });

  it('converts JSON floats without float arithmetic (0.1 + 0.2 style errors cannot appear)', () => {
    expect(fromJsonNumber(12.3, 'GBP').minor).toBe(1230n);
    expect(fromJsonNumber(0.07, 'GBP').minor).toBe(7n);
    expect(fromJsonNumber(1.005, 'GBP').minor).toBe(100n); // 1.005 is written as 1.005: half-even keeps 1.00
    expect(fromJsonNumber(-4.2, 'GBP').minor).toBe(-420n);
    expect(fromJsonNumber(1e21, 'JPY').minor).toBe(10n ** 21n);
    expect(fromJsonNumber(1e-7, 'GBP').minor).toBe(0n);
    expect(fromJsonNumber(1.234, 'BHD').minor).toBe(1234n);
    expect(() => fromJsonNumber(Number.NaN, 'GBP')).toThrow(MoneyError);
  });

  it('refuses non-integer minor units', () => {
    expect(() => money(1.5, 'GBP')).toThrow(MoneyError);
    expect(money(150, 'GBP')).toEqual({ minor: 150n, currency: 'GBP' });
  });
});
