import { describe, expect, it } from 'vitest';
import { encodeId } from '../../../domain/ids.js';
import { IdempotencyError, InputError } from '../../../domain/errors.js';
import { parseCrashSwitch } from '../../../services/payments/crash.js';
import { checkIdempotencyKey, derivePartnerKey, fingerprintOf } from '../../../services/payments/keys.js';
import { failureOf, PaymentRejectedError, refusalOf } from '../../../services/payments/outcomes.js';
import { validateInitiate, type InitiatePaymentArgs } from '../../../services/payments/validation.js';

const account = encodeId('Account', 'openbanking', 'acc-001');
const bank = (overrides: Partial<InitiatePaymentArgs> = {}): InitiatePaymentArgs => ({
  debtorAccountId: account,
  amount: { amount: '125.50', currency: 'GBP' },
  creditor: { name: ' Bob Builder ', sortCode: '11-22-33', accountNumber: '1234 5678' },
  reference: 'Rent March',
  ...overrides,
});

function inputError(run: () => unknown): InputError {
  try {
    run();
  } catch (error) {
    if (error instanceof InputError) return error;
    throw error;
  }
  throw new Error('no InputError');
}

describe('payment input validation', () => {
  it('routes a bank payment to the debtor account provider and normalises the creditor', () => {
    expect(validateInitiate(bank(), 'stripe')).toEqual({
      provider: 'openbanking',
      debtorAccountId: account,
      debtorPartnerAccountId: 'acc-001',
      paymentMethodId: null,
      amount: { minor: 12550n, currency: 'GBP' },
      creditor: { name: 'Bob Builder', sortCode: '112233', accountNumber: '12345678', iban: null },
      reference: 'Rent March',
    });
  });

  it('routes a card payment to the card provider', () => {
    const order = validateInitiate(
      { paymentMethodId: 'pm_card_visa', amount: { amount: '1000', currency: 'JPY' }, reference: 'x' },
      'stripe',
    );
    expect(order).toMatchObject({
      provider: 'stripe',
      amount: { minor: 1000n, currency: 'JPY' },
      creditor: null,
    });
  });

  it('accepts a valid IBAN and refuses a wrong check digit', () => {
    const iban = validateInitiate(
      bank({ creditor: { name: 'A', iban: 'gb82 west 1234 5698 7654 32' } }),
      'stripe',
    );
    expect(iban.creditor?.iban).toBe('GB82WEST12345698765432');
    expect(
      inputError(() =>
        validateInitiate(bank({ creditor: { name: 'A', iban: 'GB83WEST12345698765432' } }), 'stripe'),
      ).field,
    ).toBe('input.creditor.iban');
  });

  it.each([
    ['too many decimals', '1.005', 'GBP', 'INVALID_AMOUNT', ['input', 'amount']],
    ['zero', '0', 'GBP', 'INVALID_AMOUNT', ['input', 'amount']],
    ['negative', '-5.00', 'GBP', 'INVALID_AMOUNT', ['input', 'amount']],
    ['decimals in yen', '1.5', 'JPY', 'INVALID_AMOUNT', ['input', 'amount']],
    ['a made-up currency', '10.00', 'QQQ', 'UNSUPPORTED_CURRENCY', ['input', 'amount', 'currency']],
    ['ABC', '10.00', 'ABC', 'UNSUPPORTED_CURRENCY', ['input', 'amount', 'currency']],
    ['"no currency" (XXX)', '10', 'XXX', 'UNSUPPORTED_CURRENCY', ['input', 'amount', 'currency']],
    ['gold (XAU)', '10', 'XAU', 'UNSUPPORTED_CURRENCY', ['input', 'amount', 'currency']],
    ['a lower-case code', '10.00', 'gbp', 'UNSUPPORTED_CURRENCY', ['input', 'amount', 'currency']],
  ] as const)('refuses %s as %s', (_name, amount, currency, code, field) => {
    const refusal = (() => {
      try {
        validateInitiate(bank({ amount: { amount, currency } }), 'stripe');
      } catch (error) {
        return error;
      }
      return null;
    })();
    expect(refusal).toBeInstanceOf(PaymentRejectedError);
    expect(refusal).toMatchObject({ userErrorCode: code, field });
  });

  it('accepts three decimals where the currency has them (KWD 1.234)', () => {
    expect(validateInitiate(bank({ amount: { amount: '1.234', currency: 'KWD' } }), 'stripe').amount).toEqual(
      {
        minor: 1234n,
        currency: 'KWD',
      },
    );
  });

  it.each([
    ['no creditor', bank({ creditor: null }), 'input.creditor'],
    [
      'both schemes',
      bank({
        creditor: {
          name: 'A',
          sortCode: '112233',
          accountNumber: '12345678',
          iban: 'GB82WEST12345698765432',
        },
      }),
      'input.creditor',
    ],
    [
      'short sort code',
      bank({ creditor: { name: 'A', sortCode: '1122', accountNumber: '12345678' } }),
      'input.creditor.sortCode',
    ],
    [
      'blank name',
      bank({ creditor: { name: '  ', sortCode: '112233', accountNumber: '12345678' } }),
      'input.creditor.name',
    ],
    ['long reference', bank({ reference: 'x'.repeat(36) }), 'input.reference'],
    ['both sources', bank({ paymentMethodId: 'pm_card_visa' }), 'input'],
    ['no source', bank({ debtorAccountId: null }), 'input'],
    [
      'not an account id',
      bank({ debtorAccountId: encodeId('Payment', 'openbanking', 'p') }),
      'input.debtorAccountId',
    ],
    [
      'card with creditor',
      {
        paymentMethodId: 'pm_card_visa',
        amount: { amount: '1.00', currency: 'GBP' },
        creditor: { name: 'A' },
        reference: 'x',
      },
      'input.creditor',
    ],
  ] as const)('refuses %s', (_name, input, field) => {
    expect(inputError(() => validateInitiate(input as InitiatePaymentArgs, 'stripe')).field).toBe(field);
  });
});

describe('idempotency keys and fingerprints', () => {
  it('accepts 16 to 255 characters of [A-Za-z0-9_.:-] only', () => {
    expect(checkIdempotencyKey('a'.repeat(16))).toBe('a'.repeat(16));
    expect(checkIdempotencyKey(`Ab0_.:-${'x'.repeat(248)}`)).toHaveLength(255);
    for (const bad of ['a'.repeat(15), 'a'.repeat(256), 'spaces are not ok!!', 'ümlaut-key-000000', '']) {
      expect(() => checkIdempotencyKey(bad)).toThrow(IdempotencyError);
    }
  });

  it('fingerprints the canonical arguments: key order does not matter, any value does', () => {
    expect(fingerprintOf('initiatePayment', { a: 1, b: { c: 2, d: 3 } })).toBe(
      fingerprintOf('initiatePayment', { b: { d: 3, c: 2 }, a: 1 }),
    );
    expect(fingerprintOf('initiatePayment', { a: 1 })).not.toBe(fingerprintOf('initiatePayment', { a: 2 }));
    expect(fingerprintOf('initiatePayment', { a: 1 })).not.toBe(fingerprintOf('refundPayment', { a: 1 }));
    expect(fingerprintOf('initiatePayment', {})).toMatch(/^[0-9a-f]{64}$/);
  });

  it('derives partner keys that fit Open Banking, repeat for one operation and differ between operations', () => {
    const key = derivePartnerKey('secret', 'cust_alice', 'initiatePayment', 'client-key-0000001');
    expect(key.length).toBeLessThanOrEqual(40);
    expect(key).toMatch(/^trb1-[0-9a-f]{32}$/);
    expect(derivePartnerKey('secret', 'cust_alice', 'initiatePayment', 'client-key-0000001')).toBe(key);
    const others = [
      derivePartnerKey('secret', 'cust_bob', 'initiatePayment', 'client-key-0000001'),
      derivePartnerKey('secret', 'cust_alice', 'cancelPayment', 'client-key-0000001'),
      derivePartnerKey('secret', 'cust_alice', 'initiatePayment', 'client-key-0000002'),
      derivePartnerKey('other', 'cust_alice', 'initiatePayment', 'client-key-0000001'),
    ];
    expect(new Set([key, ...others]).size).toBe(5);
  });
});

describe('business outcomes', () => {
  it('turns provider refusals into user errors and leaves outages alone', () => {
    const codes = {
      code: 'NOT_REFUNDABLE',
      byField: { amount: 'REFUND_EXCEEDS_PAYMENT' },
      path: [],
    } as const;
    expect(refusalOf(new InputError('too much', 'amount'), codes)).toEqual({
      code: 'REFUND_EXCEEDS_PAYMENT',
      message: 'too much',
      field: ['amount'],
    });
    expect(refusalOf(new InputError('no'), codes)).toMatchObject({ code: 'NOT_REFUNDABLE', field: null });
    expect(refusalOf(new Error('socket hang up'), codes)).toBeNull();
  });

  it("reads a failed payment's failure code and its words, DECLINED for a reason the graph does not name", () => {
    const failed = { status: 'FAILED', failureReason: 'INSUFFICIENT_FUNDS' } as never;
    expect(failureOf(failed)).toEqual({
      code: 'INSUFFICIENT_FUNDS',
      message: 'The account or card has insufficient funds.',
    });
    expect(failureOf({ status: 'FAILED', failureReason: 'EXPIRED_CARD' } as never)).toMatchObject({
      code: 'EXPIRED_CARD',
    });
    expect(failureOf({ status: 'FAILED', failureReason: 'do_not_honor' } as never)).toMatchObject({
      code: 'DECLINED',
    });
    expect(failureOf({ status: 'FAILED', failureReason: 'toString' } as never)).toMatchObject({
      code: 'DECLINED',
    });
    expect(failureOf({ status: 'SETTLED', failureReason: null } as never)).toBeNull();
  });

  it('parses the crash switch strictly', () => {
    expect(parseCrashSwitch('partner_called:initiatePayment')).toEqual({
      point: 'partner_called',
      mutation: 'initiatePayment',
    });
    expect(parseCrashSwitch('started')).toEqual({ point: 'started', mutation: null });
    expect(() => parseCrashSwitch('partner-called')).toThrow();
    expect(() => parseCrashSwitch('started:payEveryone')).toThrow();
    expect(parseCrashSwitch('partner_called:confirmPayment').mutation).toBe('confirmPayment');
  });
});
