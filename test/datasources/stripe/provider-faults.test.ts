import { describe, expect, it } from 'vitest';
import { createStripeProvider } from '../../../datasources/stripe/provider.js';
import type { FaultRule } from '../../../sandboxes/kit/sandbox.js';
import { STRIPE_SANDBOX_SECRET_KEY } from '../../../sandboxes/stripe/index.js';
import { PartnerError } from '../../../domain/errors.js';
import { cardPayment, credentials, ctx, failure, logger, useStripeHarness } from './harness.js';

const h = useStripeHarness();

describe('Stripe provider: partner failures', () => {
  it('treats an answer for another amount as a contract violation, not a success', async () => {
    h.sandbox.setFaults([{ match: 'POST /v1/payment_intents', kind: 'contract', times: 1 }]);
    const error = await failure(h.provider.payments.createPayment(ctx('cust_alice'), cardPayment()));
    expect(error).toBeInstanceOf(PartnerError);
    expect(error).toMatchObject({
      code: 'PARTNER_CONTRACT_VIOLATION',
      issues: [expect.stringMatching(/^amount: 2600, asked for 2599/)],
    });
  });

  it.each<[string, FaultRule, Record<string, unknown>]>([
    ['a 500', { kind: 'status', status: 500 }, { code: 'PARTNER_UNAVAILABLE', retryable: true, status: 500 }],
    ['a 503', { kind: 'status', status: 503 }, { code: 'PARTNER_UNAVAILABLE', retryable: true }],
    [
      'a 429',
      { kind: 'rate_limit', retryAfter: 4 },
      { code: 'PARTNER_RATE_LIMITED', retryable: true, retryAfterSeconds: 4 },
    ],
    ['a hung request', { kind: 'hang' }, { code: 'PARTNER_TIMEOUT', retryable: true }],
    [
      'slowness beyond the timeout',
      { kind: 'latency', ms: 3_000 },
      { code: 'PARTNER_TIMEOUT', retryable: true },
    ],
    ['a connection reset', { kind: 'reset' }, { code: 'PARTNER_UNAVAILABLE', retryable: true }],
    ['a truncated body', { kind: 'truncate' }, { code: 'PARTNER_UNAVAILABLE', retryable: true }],
    ['a malformed body', { kind: 'malformed' }, { code: 'PARTNER_CONTRACT_VIOLATION', retryable: false }],
    [
      'a body breaking the contract',
      { kind: 'contract' },
      { code: 'PARTNER_CONTRACT_VIOLATION', retryable: false },
    ],
  ])('turns %s into a typed PartnerError and maps nothing', async (_name, fault, expected) => {
    h.sandbox.setFaults([{ match: 'GET /v1/payment_intents/{id}', ...fault }]);
    const error = await failure(
      h.provider.payments.getPayments(ctx('cust_alice'), ['pi_SeedAliceSucceeded0001']),
    );
    expect(error).toBeInstanceOf(PartnerError);
    expect(error).toMatchObject({ partner: 'stripe', ...expected });
  });

  it("makes one attempt per call: the SDK retries nothing behind the policy's back", async () => {
    h.sandbox.setFaults([{ match: 'GET /v1/payment_intents/{id}', kind: 'reset' }]);
    await failure(h.provider.payments.getPayments(ctx('cust_alice'), ['pi_SeedAliceSucceeded0001']));
    h.sandbox.setFaults([{ match: 'GET /v1/payment_intents/{id}', kind: 'status', status: 503 }]);
    await failure(h.provider.payments.getPayments(ctx('cust_alice'), ['pi_SeedAliceSucceeded0001']));
    expect(h.sandbox.ledger().requests['GET /v1/payment_intents/{id}']).toBe(2);
  });

  it('refuses a response larger than the body cap', async () => {
    const small = createStripeProvider(
      {
        baseUrl: h.sandbox.url,
        secretKey: STRIPE_SANDBOX_SECRET_KEY,
        returnUrl: 'https://app.example/r',
        maxResponseBytes: 1_000,
      },
      { credentials, logger },
    );
    try {
      const error = await failure(
        small.payments.getPayments(ctx('cust_alice'), ['pi_SeedAliceSucceeded0001']),
      );
      expect(error).toMatchObject({
        code: 'PARTNER_CONTRACT_VIOLATION',
        issues: ['(body): larger than the response cap'],
      });
    } finally {
      await small.close();
    }
  });
});
