/**
 * PAYMENT_ROUTES through the configuration reader: a valid table reaches `config.payments.routes`, a
 * broken one is reported with every other configuration problem, and no table means the default route.
 */
import { describe, expect, it } from 'vitest';
import { loadConfig } from '../../server/config.js';
import { problemsOf } from '../helpers/config.js';

describe('PAYMENT_ROUTES', () => {
  it('reads a valid table into the payments settings', () => {
    const config = loadConfig({
      PAYMENT_ROUTES: JSON.stringify([
        { name: 'eur', currencies: ['EUR'], maxAmount: '500.00', processors: ['adyen', 'stripe'] },
        { name: 'gb-amex', schemes: ['amex'], countries: ['GB'], processors: ['stripe'] },
        { name: 'rest', processors: ['stripe', 'adyen'], weights: { stripe: 9, adyen: 1 } },
      ]),
    });
    expect(config.payments.routes).toEqual([
      {
        name: 'eur',
        currencies: ['EUR'],
        minAmount: null,
        maxAmount: '500.00',
        schemes: null,
        countries: null,
        processors: ['adyen', 'stripe'],
        weights: null,
      },
      {
        name: 'gb-amex',
        currencies: null,
        minAmount: null,
        maxAmount: null,
        schemes: ['amex'],
        countries: ['GB'],
        processors: ['stripe'],
        weights: null,
      },
      {
        name: 'rest',
        currencies: null,
        minAmount: null,
        maxAmount: null,
        schemes: null,
        countries: null,
        processors: ['stripe', 'adyen'],
        weights: { stripe: 9, adyen: 1 },
      },
    ]);
  });

  it('leaves the routes to the default without a table', () => {
    expect(loadConfig({}).payments.routes).toBeNull();
  });

  it('reports a broken table with the other problems, naming the rule', () => {
    const problems = problemsOf({
      PAYMENT_ROUTES: JSON.stringify([{ name: 'bank', processors: ['openbanking'] }]),
      LOG_LEVEL: 'chatty',
    });
    expect(problems).toContainEqual(
      expect.stringContaining('PAYMENT_ROUTES rule "bank": openbanking is not a card processor'),
    );
    expect(problems).toContainEqual(expect.stringContaining('LOG_LEVEL'));
  });
});
