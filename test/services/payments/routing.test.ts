/**
 * The route table and the failover rule, without partners: which rule and processors a card payment
 * gets, and which errors may move it to the next processor. The errors come from the real resilience
 * policy and the real Stripe client against a closed port, so the classification is the one payments
 * see; failover end to end is in test/e2e/payments-routing.test.ts.
 */
import { createServer } from 'node:net';
import pino from 'pino';
import { describe, expect, it } from 'vitest';
import { PartnerPolicy } from '../../../datasources/resilience.js';
import { createStripeProvider } from '../../../datasources/stripe/provider.js';
import { PartnerError } from '../../../domain/errors.js';
import {
  CardRouter,
  failoverReason,
  firstPlan,
  nextPlan,
  parseRouteTable,
  processorKey,
  routeOf,
} from '../../../services/payments/routing.js';

const CARD = ['stripe', 'adyen'];
const eur = (amount: string) => ({ minor: BigInt(Math.round(Number(amount) * 100)), currency: 'EUR' });
const gbp = (amount: string) => ({ minor: BigInt(Math.round(Number(amount) * 100)), currency: 'GBP' });

function table(json: unknown) {
  const { rules, problems } = parseRouteTable(JSON.stringify(json), CARD);
  expect(problems).toEqual([]);
  return rules!;
}

describe('the route table', () => {
  const rules = table([
    { name: 'eur-large', currencies: ['EUR'], minAmount: '1000', processors: ['adyen', 'stripe'] },
    { name: 'eur', currencies: ['EUR'], maxAmount: '999.99', processors: ['stripe', 'adyen'] },
    { name: 'split', processors: ['stripe', 'adyen'], weights: { stripe: 3, adyen: 1 } },
  ]);
  const router = new CardRouter(rules, CARD);

  it.each([
    ['EUR 1000.00 (the lower bound is inclusive)', eur('1000'), 'eur-large', ['adyen', 'stripe']],
    ['EUR 999.99 (the upper bound is inclusive)', eur('999.99'), 'eur', ['stripe', 'adyen']],
    ['EUR 0.01', eur('0.01'), 'eur', ['stripe', 'adyen']],
  ])('chooses the first matching rule: %s', (_name, amount, rule, candidates) => {
    expect(router.choose(amount, 'cust_alice\u0000key-1')).toEqual({ rule, candidates });
  });

  it('puts the weighted pick first, the same one for every retry of a payment, near the weights overall', () => {
    const first = (seed: string) => router.choose(gbp('10'), seed)!.candidates[0];
    expect(first('cust_alice\u0000key-7')).toBe(first('cust_alice\u0000key-7'));
    const picks = Array.from({ length: 4000 }, (_, i) => first(`cust_${i}\u0000key-${i}`));
    const stripeShare = picks.filter((pick) => pick === 'stripe').length / picks.length;
    expect(stripeShare).toBeGreaterThan(0.7);
    expect(stripeShare).toBeLessThan(0.8);
    // The other processor always stays as the failover.
    expect(router.choose(gbp('10'), 'x')!.candidates).toHaveLength(2);
  });

  it("puts the customer's preferred processor first when the rule allows it", () => {
    expect(router.choose(eur('5'), 's', 'adyen')).toEqual({ rule: 'eur', candidates: ['adyen', 'stripe'] });
  });

  it('skips processors this process does not reach, and rules left with none', () => {
    const stripeOnly = new CardRouter(
      table([
        { name: 'adyen-only', currencies: ['EUR'], processors: ['adyen'] },
        { name: 'rest', processors: ['stripe', 'adyen'] },
      ]),
      ['stripe'],
    );
    expect(stripeOnly.choose(eur('5'), 's')).toEqual({ rule: 'rest', candidates: ['stripe'] });
  });

  it.each([
    ['a GB Mastercard takes the scheme rule (the first that matches)', 'mastercard', 'GB', 'mastercard'],
    ['a GB Visa takes the country rule', 'visa', 'GB', 'gb-cards'],
    ['a US Amex takes the rule that asks for nothing', 'amex', 'US', 'rest'],
    ['a card whose scheme is unknown never takes a scheme rule', null, 'GB', 'gb-cards'],
    ['a card whose country is unknown never takes a country rule', 'visa', null, 'rest'],
  ] as const)('routes by card scheme and issuing country: %s', (_name, scheme, country, rule) => {
    const byCard = new CardRouter(
      table([
        { name: 'mastercard', schemes: ['mastercard'], processors: ['adyen', 'stripe'] },
        { name: 'gb-cards', countries: ['GB'], processors: ['stripe'] },
        { name: 'rest', processors: ['stripe', 'adyen'] },
      ]),
      CARD,
    );
    expect(byCard.needsCard).toBe(true);
    expect(byCard.choose(gbp('5'), 's', null, { scheme, country })?.rule).toBe(rule);
  });

  it('matches card rules whatever the card is when asked whether any rule could take a payment', () => {
    const cardsOnly = new CardRouter(
      table([{ name: 'visa-eur', currencies: ['EUR'], schemes: ['visa'], processors: ['adyen'] }]),
      CARD,
    );
    expect(cardsOnly.choose(eur('5'), 's', null, 'any')?.rule).toBe('visa-eur');
    expect(cardsOnly.choose(gbp('5'), 's', null, 'any')).toBeNull();
    expect(cardsOnly.choose(eur('5'), 's', null, null)).toBeNull();
    expect(router.needsCard).toBe(false);
  });

  it('answers null when no rule takes the payment', () => {
    const eurOnly = new CardRouter(
      table([{ name: 'eur', currencies: ['EUR'], processors: ['stripe'] }]),
      CARD,
    );
    expect(eurOnly.choose(gbp('5'), 's')).toBeNull();
  });

  it('without a table, tries every reachable processor in module-list order under "default"', () => {
    expect(new CardRouter(null, CARD).choose(gbp('5'), 's')).toEqual({
      rule: 'default',
      candidates: ['stripe', 'adyen'],
    });
  });

  it.each([
    ['not JSON', '[', 'not valid JSON'],
    ['an empty table', [], 'PAYMENT_ROUTES[]'],
    ['an unknown processor', [{ name: 'a', processors: ['paypal'] }], 'paypal is not a card processor'],
    ['a bank as processor', [{ name: 'a', processors: ['openbanking'] }], 'openbanking is not a card'],
    [
      'a weight off the list',
      [{ name: 'a', processors: ['stripe'], weights: { adyen: 1 } }],
      'weight for adyen',
    ],
    [
      'bounds without currencies',
      [{ name: 'a', minAmount: '10', processors: ['stripe'] }],
      'need the currencies',
    ],
    [
      'too many decimals',
      [{ name: 'a', currencies: ['JPY'], minAmount: '1.5', processors: ['stripe'] }],
      'not an amount in JPY',
    ],
    [
      'a rule named twice',
      [
        { name: 'a', processors: ['stripe'] },
        { name: 'a', processors: ['adyen'] },
      ],
      'named twice',
    ],
    ['an unknown field', [{ name: 'a', processors: ['stripe'], scheme: ['visa'] }], 'PAYMENT_ROUTES[0]'],
    [
      'an unknown card scheme',
      [{ name: 'a', schemes: ['maestro'], processors: ['stripe'] }],
      'PAYMENT_ROUTES[0.schemes.0]',
    ],
    [
      'a country that is not ISO 3166 alpha-2',
      [{ name: 'a', countries: ['GBR'], processors: ['stripe'] }],
      'ISO 3166-1 alpha-2',
    ],
  ])('refuses %s with a clear problem', (_name, json, problem) => {
    const text = typeof json === 'string' ? json : JSON.stringify(json);
    const { rules, problems } = parseRouteTable(text, CARD);
    expect(rules).toBeNull();
    expect(problems.join('\n')).toContain(problem);
  });
});

/** A port nothing listens on. */
async function closedPort(): Promise<number> {
  const server = createServer();
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const { port } = server.address() as { port: number };
  await new Promise<void>((resolve) => server.close(() => resolve()));
  return port;
}

async function rejection(promise: Promise<unknown>): Promise<unknown> {
  return promise.then(
    () => expect.fail('expected a rejection'),
    (error: unknown) => error,
  );
}

describe('failover', () => {
  it('is allowed when the breaker refused the call (it never left)', async () => {
    const policy = new PartnerPolicy('stripe', {
      readDeadlineMs: 1_000,
      writeDeadlineMs: 1_000,
      retryAttempts: 0,
      retryBaseMs: 10,
      retryMaxDelayMs: 10,
      breakerFailureRatio: 0.5,
      breakerWindowMs: 10_000,
      breakerMinRequests: 2,
      breakerHalfOpenMs: 60_000,
      bulkheadLimit: 4,
      bulkheadQueue: 4,
    });
    const down = async () => {
      throw new PartnerError({
        partner: 'stripe',
        code: 'PARTNER_UNAVAILABLE',
        retryable: true,
        status: 500,
      });
    };
    const failures = [];
    for (let i = 0; i < 3; i++) failures.push(await rejection(policy.execute(down, { kind: 'write' })));
    // A 500 was an answer: the processor may have acted. The refusal by the open breaker was not.
    expect(failoverReason(failures[0])).toBeNull();
    expect(failoverReason(failures.at(-1))).toBe('breaker open');
  });

  it('is allowed when the processor refused the connection (the official SDK against a closed port)', async () => {
    const port = await closedPort();
    const provider = createStripeProvider(
      { baseUrl: `http://127.0.0.1:${port}`, secretKey: 'sk_test_routing' },
      {
        credentials: {
          get: async (subject: string) => ({
            subject,
            provider: 'stripe',
            externalRef: 'cus_routing',
            accessToken: '',
            refreshToken: null,
            expiresAt: null,
          }),
          update: async () => undefined,
        },
        logger: pino({ level: 'silent' }),
      } as never,
    );
    try {
      const error = await rejection(
        provider.payments.createPayment(
          { subject: 'cust_alice', correlationId: 'c', logger: pino({ level: 'silent' }) },
          {
            amount: gbp('10'),
            reference: 'r',
            debtorPartnerAccountId: null,
            paymentMethodId: 'pm_card_visa',
            creditor: null,
            partnerIdempotencyKey: 'tk_routing_test',
          },
        ),
      );
      expect(error).toBeInstanceOf(PartnerError);
      expect(failoverReason(error)).toBe('connection refused');
    } finally {
      await provider.close?.();
    }
  });

  it('is refused when an earlier retry of the same call may have reached the processor', async () => {
    const policy = new PartnerPolicy('stripe', {
      readDeadlineMs: 2_000,
      writeDeadlineMs: 2_000,
      retryAttempts: 1,
      retryBaseMs: 1,
      retryMaxDelayMs: 2,
      breakerFailureRatio: 0.9,
      breakerWindowMs: 10_000,
      breakerMinRequests: 100,
      breakerHalfOpenMs: 60_000,
      bulkheadLimit: 4,
      bulkheadQueue: 4,
    });
    const sequence = (...errors: PartnerError[]) => {
      let call = 0;
      return async () => {
        throw errors[Math.min(call++, errors.length - 1)]!;
      };
    };
    const reset = new PartnerError({ partner: 'stripe', code: 'PARTNER_UNAVAILABLE', retryable: true });
    const refused = new PartnerError({
      partner: 'stripe',
      code: 'PARTNER_UNAVAILABLE',
      retryable: true,
      unsent: 'connection refused',
    });
    const busy = new PartnerError({
      partner: 'stripe',
      code: 'PARTNER_UNAVAILABLE',
      retryable: true,
      status: 503,
    });
    // A reset (the request may have arrived), then a refused connection on the retry: still ambiguous.
    const afterReset = await rejection(policy.execute(sequence(reset, refused), { kind: 'keyed-write' }));
    expect(afterReset).toMatchObject({ doubtful: true });
    expect(failoverReason(afterReset)).toBeNull();
    // A 503, then a refused connection: neither can have reached it.
    const afterBusy = await rejection(policy.execute(sequence(busy, refused), { kind: 'keyed-write' }));
    expect(failoverReason(afterBusy)).toBe('connection refused');
  });

  it.each([
    ['a timeout (the processor may have the payment)', { code: 'PARTNER_TIMEOUT', status: undefined }, null],
    ['a 500 answer', { code: 'PARTNER_UNAVAILABLE', status: 500 }, null],
    ['a 502 answer', { code: 'PARTNER_UNAVAILABLE', status: 502 }, null],
    ['a contract violation', { code: 'PARTNER_CONTRACT_VIOLATION', status: 200 }, null],
    ['a 503 answer', { code: 'PARTNER_UNAVAILABLE', status: 503 }, 'HTTP 503 before acceptance'],
    ['a 429 answer', { code: 'PARTNER_RATE_LIMITED', status: 429 }, 'HTTP 429 before acceptance'],
  ] as const)('after %s: %s', (_name, details, reason) => {
    const error = new PartnerError({ partner: 'stripe', retryable: true, ...details });
    expect(failoverReason(error)).toBe(reason);
  });

  it('moves the plan to the next processor with its own key, records the attempt, and stops at the last', () => {
    const at = new Date('2026-12-06T10:00:00Z');
    const plan = firstPlan({ rule: 'default', candidates: ['stripe', 'adyen'] });
    const refused = new PartnerError({
      partner: 'stripe',
      code: 'PARTNER_UNAVAILABLE',
      retryable: true,
      unsent: 'connection refused',
    });
    const next = nextPlan(plan, refused, at)!;
    expect(processorKey('tk_abc', plan)).toBe('tk_abc');
    expect(processorKey('tk_abc', next)).toBe('tk_abc.adyen');
    expect(nextPlan(next, refused, at)).toBeNull();
    expect(routeOf(next, 'CREATED', at)).toEqual({
      rule: 'default',
      candidates: ['stripe', 'adyen'],
      attempts: [
        { processor: 'stripe', outcome: 'FAILED_OVER', reason: 'connection refused', at },
        { processor: 'adyen', outcome: 'CREATED', reason: null, at },
      ],
    });
  });
});
