import { describe, expect, it } from 'vitest';
import { money } from '../../../domain/money.js';
import { createStripeProvider } from '../../../datasources/stripe/provider.js';
import { SEEDED_CUSTOMERS, STRIPE_SANDBOX_SECRET_KEY } from '../../../sandboxes/stripe/index.js';
import { IdempotencyError, InputError, NotFoundError, NotSupportedError } from '../../../domain/errors.js';
import { cardPayment, credentials, ctx, failure, key, logger, useStripeHarness } from './harness.js';

const h = useStripeHarness();

describe('Stripe provider: moving money', () => {
  it('creates a card payment under our idempotency key and correlation id', async () => {
    const request = cardPayment();
    const payment = await h.provider.payments.createPayment(ctx('cust_alice', 'corr-create-1'), request);
    expect(payment).toMatchObject({
      status: 'SETTLED',
      ownerId: 'cust_alice',
      amount: { minor: 2599n, currency: 'GBP' },
      reference: 'Order 77',
    });
    expect(payment.creditor?.name).toBe('Tributary Shop');
    expect(h.movements('payment-intent')).toEqual([
      expect.objectContaining({ id: payment.partnerId, idempotencyKey: request.partnerIdempotencyKey }),
    ]);
    const create = (await h.seen()).find((request) => request.method === 'POST');
    expect(create).toMatchObject({
      correlationId: 'corr-create-1',
      idempotencyKey: request.partnerIdempotencyKey,
    });
  });

  it('creates exactly one PaymentIntent when the same request is retried with the same key', async () => {
    const request = cardPayment();
    const first = await h.provider.payments.createPayment(ctx('cust_alice'), request);
    const again = await h.provider.payments.createPayment(ctx('cust_alice'), request);
    expect(again.partnerId).toBe(first.partnerId);
    expect(h.movements('payment-intent')).toHaveLength(1);
  });

  it('reports a reused key with another amount as IDEMPOTENCY_KEY_REUSED', async () => {
    const request = cardPayment();
    await h.provider.payments.createPayment(ctx('cust_alice'), request);
    const reused = await failure(
      h.provider.payments.createPayment(ctx('cust_alice'), { ...request, amount: money(2600, 'GBP') }),
    );
    expect(reused).toBeInstanceOf(IdempotencyError);
    expect(reused).toMatchObject({ code: 'IDEMPOTENCY_KEY_REUSED' });
  });

  it('returns a decline as a typed outcome with the FAILED payment, not as an error', async () => {
    const outcome = await h.provider.payments.createCardPayment(
      ctx('cust_alice'),
      cardPayment({ paymentMethodId: 'pm_card_chargeDeclinedInsufficientFunds' }),
    );
    expect(outcome.ok).toBe(false);
    if (outcome.ok) return;
    expect(outcome.declined).toMatchObject({ kind: 'PaymentDeclined', code: 'INSUFFICIENT_FUNDS' });
    expect(outcome.payment).toMatchObject({ status: 'FAILED', failureReason: 'INSUFFICIENT_FUNDS' });
    const generic = await h.provider.payments.createPayment(
      ctx('cust_alice'),
      cardPayment({ paymentMethodId: 'pm_card_chargeDeclined' }),
    );
    expect(generic).toMatchObject({ status: 'FAILED', failureReason: 'DECLINED' });
  });

  it('returns REQUIRES_ACTION with the 3-D Secure redirect', async () => {
    const payment = await h.provider.payments.createPayment(
      ctx('cust_alice'),
      cardPayment({ paymentMethodId: 'pm_card_authenticationRequired' }),
    );
    expect(payment.status).toBe('REQUIRES_ACTION');
    expect(payment.nextAction).toEqual({
      type: 'THREE_D_SECURE',
      url: expect.stringContaining('/__sandbox/stripe/authenticate/pi_'),
    });
  });

  it('leaves 3-D Secure to Stripe.js when no return URL is configured', async () => {
    const bare = createStripeProvider(
      { baseUrl: h.sandbox.url, secretKey: STRIPE_SANDBOX_SECRET_KEY },
      { credentials, logger },
    );
    try {
      const payment = await bare.payments.createPayment(
        ctx('cust_alice'),
        cardPayment({ paymentMethodId: 'pm_card_authenticationRequired' }),
      );
      expect(payment).toMatchObject({
        status: 'REQUIRES_ACTION',
        nextAction: { type: 'THREE_D_SECURE', url: null },
      });
    } finally {
      await bare.close();
    }
  });

  it('finishes 3-D Secure server-side: the client secret while it waits, confirmation once the customer passed', async () => {
    const bare = createStripeProvider(
      { baseUrl: h.sandbox.url, secretKey: STRIPE_SANDBOX_SECRET_KEY },
      { credentials, logger },
    );
    try {
      const payments = bare.payments;
      const waiting = await payments.createPayment(
        ctx('cust_alice'),
        cardPayment({ paymentMethodId: 'pm_card_authenticationRequired' }),
      );
      const secret = await payments.clientSecretOf(ctx('cust_alice'), waiting.partnerId);
      expect(secret).toMatch(new RegExp(`^${waiting.partnerId}_secret_`));
      // Another customer learns nothing, not even that the payment exists.
      expect(await failure(payments.clientSecretOf(ctx('cust_bob'), waiting.partnerId))).toBeInstanceOf(
        NotFoundError,
      );
      // Before the customer acts, confirming leaves the payment waiting for them (no second challenge).
      expect(
        await payments.confirmPayment(ctx('cust_alice'), waiting.partnerId, 'key-confirm-early-0001'),
      ).toMatchObject({
        status: 'REQUIRES_ACTION',
      });

      const approved = await fetch(`${h.sandbox.url}/__sandbox/stripe/authenticate/${waiting.partnerId}`, {
        method: 'POST',
      });
      expect(approved.status).toBe(200);
      expect(((await approved.json()) as { status: string }).status).toBe('requires_confirmation');
      expect(await payments.clientSecretOf(ctx('cust_alice'), waiting.partnerId)).toBeNull();

      const confirmed = await payments.confirmPayment(
        ctx('cust_alice'),
        waiting.partnerId,
        'key-confirm-0001',
      );
      expect(confirmed).toMatchObject({ status: 'SETTLED', nextAction: null });

      const failing = await payments.createPayment(
        ctx('cust_alice'),
        cardPayment({ paymentMethodId: 'pm_card_authenticationRequired' }),
      );
      await fetch(`${h.sandbox.url}/__sandbox/stripe/authenticate/${failing.partnerId}?result=fail`, {
        method: 'POST',
      });
      expect(
        await payments.confirmPayment(ctx('cust_alice'), failing.partnerId, 'key-confirm-0002'),
      ).toMatchObject({
        status: 'FAILED',
        failureReason: 'AUTHENTICATION_FAILED',
      });
    } finally {
      await bare.close();
    }
  });

  it('refuses a bank payment from a connected account without calling Stripe', async () => {
    const request = cardPayment({ paymentMethodId: null, debtorPartnerAccountId: 'acc-1' });
    expect(await failure(h.provider.payments.createPayment(ctx('cust_alice'), request))).toBeInstanceOf(
      NotSupportedError,
    );
    expect(h.sandbox.ledger().requests).toEqual({});
  });

  it('refunds in part, then the rest, and refuses more than is left', async () => {
    const payment = await h.provider.payments.createPayment(ctx('cust_alice'), cardPayment());
    const partial = await h.provider.payments.refundPayment(
      ctx('cust_alice'),
      payment.partnerId,
      money(599, 'GBP'),
      key(),
    );
    expect(partial.status).toBe('PARTIALLY_REFUNDED');
    expect(
      await failure(
        h.provider.payments.refundPayment(ctx('cust_alice'), payment.partnerId, money(2001, 'GBP'), key()),
      ),
    ).toBeInstanceOf(InputError);
    expect(
      await failure(
        h.provider.payments.refundPayment(ctx('cust_alice'), payment.partnerId, money(100, 'EUR'), key()),
      ),
    ).toBeInstanceOf(InputError);
    const full = await h.provider.payments.refundPayment(ctx('cust_alice'), payment.partnerId, null, key());
    expect(full.status).toBe('REFUNDED');
    expect(full.refunds.map((refund) => refund.amount.minor).sort()).toEqual([2000n, 599n].sort());
    expect(h.movements('refund')).toHaveLength(2);
  });

  it('cancels, treats a second cancel as done, and refuses to cancel a settled payment', async () => {
    const canceled = await h.provider.payments.cancelPayment(
      ctx('cust_alice'),
      'pi_SeedAliceFresh00000001',
      key(),
    );
    expect(canceled.status).toBe('CANCELLED');
    const again = await h.provider.payments.cancelPayment(
      ctx('cust_alice'),
      'pi_SeedAliceFresh00000001',
      key(),
    );
    expect(again.status).toBe('CANCELLED');
    expect(
      await failure(h.provider.payments.cancelPayment(ctx('cust_alice'), 'pi_SeedAliceSucceeded0001', key())),
    ).toBeInstanceOf(InputError);
  });

  it('links a sandbox customer: the seeded one, or a new one created once', async () => {
    expect((await h.provider.connectSandboxCustomer('cust_alice')).externalRef).toBe(
      SEEDED_CUSTOMERS.cust_alice,
    );
    const carol = await h.provider.connectSandboxCustomer('cust_carol');
    expect(carol).toMatchObject({
      externalRef: expect.stringMatching(/^cus_/),
      permissions: ['payments:read', 'payments:write'],
    });
    expect((await h.provider.connectSandboxCustomer('cust_carol')).externalRef).toBe(carol.externalRef);
  });
});
