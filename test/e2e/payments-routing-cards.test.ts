/**
 * Routing by card scheme and issuing country through the graph, against the Stripe and Adyen sandboxes:
 * the card is described by Stripe (`GET /v1/payment_methods/{id}`) on the first attempt only, a
 * Mastercard goes to Adyen, a UK-issued card to Stripe, any other card to the rule that asks for
 * neither; with Stripe off the network the card cannot be described, so it takes that rule too (and
 * fails over to Adyen). A retry keeps the committed route and asks nothing again, even across a change
 * of the route table (the processor is not part of the request's fingerprint).
 */
import { randomBytes } from 'node:crypto';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { partnerKeySecretFrom } from '../../services/payments/keys.js';
import { PaymentService } from '../../services/payments/index.js';
import { CardRouter, parseRouteTable } from '../../services/payments/routing.js';
import { startTestApp, type TestApp } from '../helpers/app.js';

const ROUTES = JSON.stringify([
  { name: 'mastercard', schemes: ['mastercard'], processors: ['adyen', 'stripe'] },
  { name: 'gb-cards', countries: ['GB'], processors: ['stripe'] },
  { name: 'rest', processors: ['stripe', 'adyen'] },
]);

const PAY = /* GraphQL */ `
  mutation Pay($input: InitiatePaymentInput!, $key: String!) {
    initiatePayment(input: $input, idempotencyKey: $key) {
      payment {
        id
        provider
        status
        route {
          rule
          attempts {
            processor
            outcome
          }
        }
      }
      userErrors {
        code
        field
      }
    }
  }
`;

interface Routed {
  provider: string;
  status: string;
  route: { rule: string; attempts: { processor: string; outcome: string }[] };
}

describe('card payment routing by scheme and country', { timeout: 240_000 }, () => {
  let app: TestApp;

  beforeAll(async () => {
    app = await startTestApp({
      customers: ['cust_alice'],
      env: { PAYMENT_ROUTES: ROUTES, STRIPE_RETRY_ATTEMPTS: '0' },
    });
  }, 240_000);
  afterAll(async () => app?.close());

  const stripe = () => app.sandboxes.stripe!.handle;
  const described = () => stripe().ledger().requests['GET /v1/payment_methods/{id}'] ?? 0;

  async function pay(paymentMethodId: string, key = `card-route-${randomBytes(8).toString('hex')}`) {
    const answer = await app.graphql(PAY, {
      input: { paymentMethodId, amount: { amount: '19.99', currency: 'GBP' }, reference: 'Card routing' },
      key,
    });
    expect(answer.body.errors).toBeUndefined();
    return answer.body.data?.initiatePayment as { payment: Routed | null; userErrors: unknown[] };
  }

  it.each([
    ['a Mastercard to Adyen', 'pm_card_mastercard', 'mastercard', 'ADYEN'],
    ['a UK-issued Visa to Stripe', 'pm_card_gb', 'gb-cards', 'STRIPE'],
    ['a US Visa by the rule that asks for neither', 'pm_card_visa', 'rest', 'STRIPE'],
  ])('sends %s', async (_name, method, rule, provider) => {
    const before = described();
    const { payment, userErrors } = await pay(method);
    expect(userErrors).toEqual([]);
    expect(payment).toMatchObject({ provider, status: 'SETTLED', route: { rule } });
    expect(described() - before).toBe(1);
  });

  it('describes the card once: the retry replays the route it committed', async () => {
    const key = `card-route-${randomBytes(8).toString('hex')}`;
    const first = await pay('pm_card_mastercard', key);
    const before = described();
    const again = await pay('pm_card_mastercard', key);
    expect(again.payment).toEqual(first.payment);
    expect(described()).toBe(before);
  });

  /** A payment service over the app's database and partners, with another route table. */
  function serviceWith(routes: unknown) {
    const { db, audit, registry, logger, config } = app.server.services;
    const { rules } = parseRouteTable(JSON.stringify(routes), ['stripe', 'adyen']);
    return new PaymentService(
      { db, audit, providers: (name) => registry.payments(name), logger },
      {
        partnerKeySecret: partnerKeySecretFrom(config.secretsKey),
        cardRouter: new CardRouter(rules, ['stripe', 'adyen']),
      },
    );
  }
  const callAs = () => ({
    subject: 'cust_alice',
    correlationId: 'card-routing',
    logger: app.server.services.logger,
  });

  it('answers NOT_SUPPORTED, charging nothing, when the card is one no rule takes', async () => {
    const amexOnly = serviceWith([{ name: 'amex-only', schemes: ['amex'], processors: ['stripe'] }]);
    const input = {
      paymentMethodId: 'pm_card_visa',
      amount: { amount: '3.00', currency: 'GBP' },
      reference: 'Amex only',
    };
    const made = () =>
      stripe()
        .ledger()
        .movements.filter((m) => m.kind === 'payment-intent').length;
    const before = made();
    const refused = await amexOnly.initiate(callAs(), input, `card-route-${randomBytes(8).toString('hex')}`);
    expect(refused.payload).toMatchObject({
      payment: null,
      userErrors: [{ code: 'NOT_SUPPORTED', field: ['input', 'paymentMethodId'] }],
    });
    expect(made()).toBe(before);
    const amex = await amexOnly.initiate(
      callAs(),
      { ...input, paymentMethodId: 'pm_card_amex' },
      `card-route-${randomBytes(8).toString('hex')}`,
    );
    expect(amex.payload.payment).toMatchObject({ provider: 'stripe', route: { rule: 'amex-only' } });
  });

  it('takes a retry across a route table change as the same request, kept on its committed route', async () => {
    const before = serviceWith([{ name: 'stripe-first', processors: ['stripe', 'adyen'] }]);
    const after = serviceWith([{ name: 'adyen-first', processors: ['adyen', 'stripe'] }]);
    const input = {
      paymentMethodId: 'pm_card_visa',
      amount: { amount: '7.00', currency: 'GBP' },
      reference: 'Table change',
    };
    const key = `card-route-${randomBytes(8).toString('hex')}`;
    const call = callAs();
    const first = await before.initiate(call, input, key);
    const retried = await after.initiate(call, input, key);
    expect(first.payload.payment).toMatchObject({ provider: 'stripe', route: { rule: 'stripe-first' } });
    expect(retried.replayed).toBe(true);
    expect(retried.payload.payment?.id).toBe(first.payload.payment?.id);
  });

  it('routes a card nobody can describe by the rule that asks for neither, while Stripe is down', async () => {
    await stripe().down();
    try {
      const { payment, userErrors } = await pay('pm_card_mastercard');
      expect(userErrors).toEqual([]);
      expect(payment).toMatchObject({
        provider: 'ADYEN',
        status: 'SETTLED',
        route: {
          rule: 'rest',
          attempts: [
            { processor: 'STRIPE', outcome: 'FAILED_OVER' },
            { processor: 'ADYEN', outcome: 'CREATED' },
          ],
        },
      });
    } finally {
      await stripe().up();
    }
  });
});
