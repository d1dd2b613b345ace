import { describe, expect, it } from 'vitest';
import { createStripeProvider } from '../../../datasources/stripe/provider.js';
import { PartnerError } from '../../../domain/errors.js';
import { STRIPE_SANDBOX_SECRET_KEY } from '../../../sandboxes/stripe/index.js';
import { cardPayment, credentials, ctx, failure, logger, useStripeHarness } from './harness.js';

const h = useStripeHarness();

describe('Stripe provider: timeouts per endpoint class', () => {
  it('bounds reads by the read timeout while a payment may wait for the card network', async () => {
    const provider = createStripeProvider(
      { baseUrl: h.sandbox.url, secretKey: STRIPE_SANDBOX_SECRET_KEY, timeoutMs: 5_000, readTimeoutMs: 300 },
      { credentials, logger },
    );
    try {
      h.sandbox.setFaults([
        { match: 'GET /v1/payment_intents/{id}', kind: 'latency', ms: 1_000 },
        { match: 'POST /v1/payment_intents', kind: 'latency', ms: 1_000 },
      ]);
      const read = await failure(
        provider.payments.getPayments(ctx('cust_alice'), ['pi_SeedAliceSucceeded0001']),
      );
      expect(read).toBeInstanceOf(PartnerError);
      expect(read).toMatchObject({ partner: 'stripe', code: 'PARTNER_TIMEOUT' });
      const payment = await provider.payments.createPayment(ctx('cust_alice'), cardPayment());
      expect(payment.status).toBe('SETTLED');
    } finally {
      await provider.close();
    }
  });
});
