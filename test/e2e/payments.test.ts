/**
 * The payment mutations and queries over real HTTP: the fastify app, shield, the resolvers, the
 * payment service and the Stripe sandbox. Replays, key reuse, validation, business outcomes,
 * ownership, the ledger's payments connection and `_entities` references.
 */
import { randomBytes } from 'node:crypto';
import pino from 'pino';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createStripeProvider, type StripeProvider } from '../../datasources/stripe/provider.js';
import type { SandboxHandle } from '../../sandboxes/kit/sandbox.js';
import { startStripeSandbox, STRIPE_SANDBOX_SECRET_KEY } from '../../sandboxes/stripe/index.js';
import { PaymentService } from '../../services/payments/index.js';
import { startTestApp, type GraphQLAnswer, type TestApp } from '../helpers/app.js';
import { INITIATE } from '../services/payments/replicas.js';

const CANCEL = `mutation($id: ID!, $key: String!) { cancelPayment(id: $id, idempotencyKey: $key) {
  payment { id status events { status source } } userErrors { code message field } } }`;
const REFUND = `mutation($id: ID!, $amount: MoneyInput, $key: String!) { refundPayment(id: $id, amount: $amount, idempotencyKey: $key) {
  refund { id amount { amount currency } status } payment { status } userErrors { code message field } } }`;
const key = () => `http-e2e-${randomBytes(8).toString('hex')}`;
const card = (amount = '25.00', paymentMethodId = 'pm_card_visa') => ({
  paymentMethodId,
  amount: { amount, currency: 'GBP' },
  reference: 'HTTP test',
});

describe('payments over HTTP', () => {
  let app: TestApp;
  let sandbox: SandboxHandle;
  let stripe: StripeProvider;
  /** Whether server/wiring.ts builds the payment service (and app.ts registers its plugin). */

  beforeAll(async () => {
    app = await startTestApp();
    sandbox = await startStripeSandbox({ empty: true });
    const logger = pino({ level: 'silent' });
    const services = app.server.services;
    stripe = createStripeProvider(
      { baseUrl: sandbox.url, secretKey: STRIPE_SANDBOX_SECRET_KEY, returnUrl: 'https://app.example/return' },
      { credentials: services.consents.credentials, logger },
    );
    // The customers' Stripe links point at this suite's sandbox, in the consents table as in production
    // (a request's consent snapshot reads them there).
    for (const subject of ['cust_alice', 'cust_bob']) {
      const seeded = await services.consents.findActive(subject, 'stripe');
      if (seeded) await services.consents.revoke(subject, seeded.id);
      const link = await stripe.connectSandboxCustomer(subject);
      await services.consents.grant({
        subject,
        provider: 'stripe',
        permissions: link.permissions,
        partnerRef: link.externalRef,
        credential: {
          accessToken: link.accessToken,
          refreshToken: link.refreshToken,
          expiresAt: link.tokenExpiresAt,
        },
        expiresAt: link.expiresAt,
      });
    }
    const payments = new PaymentService(
      { db: services.db, audit: services.audit, logger, providers: () => stripe.payments },
      { partnerKeySecret: 'http-e2e', cardProvider: 'stripe' },
    );
    // This suite's own Stripe provider carries a 3-D Secure return URL; swap it in for the server's.
    Object.assign(services, { payments });
  }, 120_000);
  afterAll(async () => {
    await app?.close();
    await stripe?.close();
    await sandbox?.close();
  });

  const paymentOf = (answer: GraphQLAnswer) =>
    (answer.body.data?.initiatePayment as { payment: { id: string; status: string } | null }).payment;

  it('initiates once and replays with the replay marker', async () => {
    const variables = { input: card(), key: key() };
    const first = await app.graphql(INITIATE, variables);
    expect(first.body.errors).toBeUndefined();
    expect(paymentOf(first)).toMatchObject({
      status: 'SETTLED',
      amount: { amount: '25.00', currency: 'GBP' },
    });
    expect(first.body.extensions?.idempotency).toBeUndefined();
    const again = await app.graphql(INITIATE, variables);
    expect(again.body.data).toEqual(first.body.data);
    expect(again.body.extensions).toMatchObject({ idempotency: { replayed: true } });
    expect(again.headers.get('idempotent-replayed')).toBe('true');
    expect(sandbox.ledger().movements.filter((m) => m.kind === 'payment-intent')).toHaveLength(1);
  });

  it('answers IDEMPOTENCY_KEY_REUSED, _REQUIRED and BAD_USER_INPUT as errors with codes', async () => {
    const k = key();
    await app.graphql(INITIATE, { input: card('10.00'), key: k });
    const reused = await app.graphql(INITIATE, { input: card('10.01'), key: k });
    expect(reused.body.errors?.[0]?.extensions).toMatchObject({ code: 'IDEMPOTENCY_KEY_REUSED' });
    expect(reused.body.errors?.[0]?.extensions?.correlationId).toBeTruthy();
    const short = await app.graphql(INITIATE, { input: card(), key: 'too-short' });
    expect(short.body.errors?.[0]?.extensions).toMatchObject({ code: 'IDEMPOTENCY_KEY_REQUIRED' });
    const bad = await app.graphql(INITIATE, { input: { ...card(), reference: 'x'.repeat(36) }, key: key() });
    expect(bad.body.errors?.[0]?.extensions).toMatchObject({
      code: 'BAD_USER_INPUT',
      field: 'input.reference',
    });
  });

  it('refuses currencies that are not ISO 4217 and amounts finer than their currency before calling Stripe', async () => {
    const creates = () => sandbox.ledger().requests['POST /v1/payment_intents'] ?? 0;
    const before = creates();
    const refused = async (amount: string, currency: string) => {
      const answer = await app.graphql(INITIATE, {
        input: { ...card(), amount: { amount, currency } },
        key: key(),
      });
      expect(answer.body.errors).toBeUndefined();
      return answer.body.data?.initiatePayment as {
        payment: unknown;
        userErrors: { code: string; field: string[] | null }[];
      };
    };
    for (const currency of ['QQQ', 'XXX', 'ABC']) {
      expect(await refused('10.00', currency)).toEqual({
        payment: null,
        userErrors: [
          expect.objectContaining({ code: 'UNSUPPORTED_CURRENCY', field: ['input', 'amount', 'currency'] }),
        ],
      });
    }
    expect(await refused('1.5', 'JPY')).toEqual({
      payment: null,
      userErrors: [expect.objectContaining({ code: 'INVALID_AMOUNT', field: ['input', 'amount'] })],
    });
    expect(creates()).toBe(before);
  });

  it('takes KWD in thousandths and answers INVALID_AMOUNT, replayably, when Stripe refuses the last digit', async () => {
    const k = key();
    const variables = { input: { ...card(), amount: { amount: '1.234', currency: 'KWD' } }, key: k };
    const first = await app.graphql(INITIATE, variables);
    expect(first.body.errors).toBeUndefined();
    expect(first.body.data?.initiatePayment).toEqual({
      payment: null,
      userErrors: [expect.objectContaining({ code: 'INVALID_AMOUNT', field: ['input', 'amount'] })],
    });
    // The refusal is the key's final answer: replayed, not left unfinished or retried at Stripe.
    const again = await app.graphql(INITIATE, variables);
    expect(again.body.extensions?.idempotency).toMatchObject({ replayed: true });
    expect(again.body.data?.initiatePayment).toEqual(first.body.data?.initiatePayment);

    const whole = await app.graphql(INITIATE, {
      input: { ...card(), amount: { amount: '1.230', currency: 'KWD' } },
      key: key(),
    });
    expect(whole.body.data?.initiatePayment).toMatchObject({
      payment: { status: 'SETTLED', amount: { amount: '1.230', currency: 'KWD' } },
      userErrors: [],
    });
  });

  it('answers a declined card as the FAILED payment with its failure code and no user error, as the SDL says', async () => {
    const declined = `mutation($input: InitiatePaymentInput!, $key: String!) {
      initiatePayment(input: $input, idempotencyKey: $key) {
        payment { id status failureCode failureReason } userErrors { code }
      }
    }`;
    const answer = await app.graphql(declined, { input: card('3.00', 'pm_card_chargeDeclined'), key: key() });
    expect(answer.body.errors).toBeUndefined();
    expect(answer.body.data?.initiatePayment).toEqual({
      payment: {
        id: expect.any(String),
        status: 'FAILED',
        failureCode: 'DECLINED',
        failureReason: 'The payment was declined.',
      },
      userErrors: [],
    });
    const poor = await app.graphql(declined, {
      input: card('3.00', 'pm_card_chargeDeclinedInsufficientFunds'),
      key: key(),
    });
    expect(poor.body.data?.initiatePayment).toMatchObject({
      payment: { status: 'FAILED', failureCode: 'INSUFFICIENT_FUNDS' },
      userErrors: [],
    });
    // The SDL's words: the payment is null only when a user error stopped it before it was created.
    const sdl = await app.graphql('{ _service { sdl } }');
    expect((sdl.body.data?._service as { sdl: string }).sdl).toContain(
      'A payment the partner\n  created and then failed (a declined card) is returned FAILED',
    );
  });

  it("reads the caller's payments from the ledger, and hides them from anyone else", async () => {
    const created = paymentOf(await app.graphql(INITIATE, { input: card('4.00'), key: key() }))!;
    const query =
      'query($id: ID!) { payment(id: $id) { id status reference events { status source } debtorAccount { id } } }';
    const mine = await app.graphql(query, { id: created.id });
    expect(mine.body.data?.payment).toMatchObject({
      id: created.id,
      events: [{ status: 'SETTLED', source: 'API' }],
      debtorAccount: null,
    });
    const theirs = await app.graphql(query, { id: created.id }, { subject: 'cust_bob' });
    expect(theirs.body.data?.payment).toBeNull();
    const entities = await app.graphql(
      'query($r: [_Any!]!) { _entities(representations: $r) { ... on Payment { id status } } }',
      { r: [{ __typename: 'Payment', id: created.id }] },
    );
    expect(entities.body.data?._entities).toEqual([{ id: created.id, status: 'SETTLED' }]);
  });

  it('pages the payments connection newest first and filters by status', async () => {
    const first = await app.graphql(
      '{ payments(first: 2) { edges { cursor node { id createdAt } } pageInfo { hasNextPage endCursor } } }',
    );
    const page = first.body.data?.payments as {
      edges: { node: { id: string } }[];
      pageInfo: { hasNextPage: boolean; endCursor: string };
    };
    expect(page.edges).toHaveLength(2);
    expect(page.pageInfo.hasNextPage).toBe(true);
    const next = await app.graphql(
      'query($after: String) { payments(first: 100, after: $after) { edges { node { id } } } }',
      {
        after: page.pageInfo.endCursor,
      },
    );
    const ids = (next.body.data?.payments as { edges: { node: { id: string } }[] }).edges.map(
      (edge) => edge.node.id,
    );
    expect(ids).not.toContain(page.edges[0]!.node.id);
    const failed = await app.graphql('{ payments(status: [FAILED]) { edges { node { status } } } }');
    const statuses = (failed.body.data?.payments as { edges: { node: { status: string } }[] }).edges.map(
      (e) => e.node.status,
    );
    expect(statuses.length).toBeGreaterThan(0);
    expect(new Set(statuses)).toEqual(new Set(['FAILED']));
    const bogus = await app.graphql('{ payments(after: "bm9wZQ") { edges { cursor } } }');
    expect(bogus.body.errors?.[0]?.extensions).toMatchObject({ code: 'BAD_USER_INPUT' });
  });

  it('cancels and refunds through the graph', async () => {
    const pending = paymentOf(
      await app.graphql(INITIATE, { input: card('9.00', 'pm_card_authenticationRequired'), key: key() }),
    )!;
    const cancelled = await app.graphql(CANCEL, { id: pending.id, key: key() });
    expect(cancelled.body.data?.cancelPayment).toMatchObject({
      payment: { status: 'CANCELLED' },
      userErrors: [],
    });
    const settled = paymentOf(await app.graphql(INITIATE, { input: card('20.00'), key: key() }))!;
    const refunded = await app.graphql(REFUND, {
      id: settled.id,
      amount: { amount: '5.00', currency: 'GBP' },
      key: key(),
    });
    expect(refunded.body.data?.refundPayment).toMatchObject({
      refund: { amount: { amount: '5.00', currency: 'GBP' }, status: 'SUCCEEDED' },
      payment: { status: 'PARTIALLY_REFUNDED' },
      userErrors: [],
    });
    const notCancellable = await app.graphql(CANCEL, { id: settled.id, key: key() });
    expect(notCancellable.body.data?.cancelPayment).toMatchObject({
      payment: null,
      userErrors: [{ code: 'NOT_CANCELLABLE' }],
    });
    const someoneElse = await app.graphql(CANCEL, { id: settled.id, key: key() }, { subject: 'cust_bob' });
    expect(someoneElse.body.errors?.[0]?.extensions).toMatchObject({ code: 'NOT_FOUND' });
  });

  it('needs the payments:write scope to move money', async () => {
    const token = await app.token('cust_alice', ['payments:read']);
    const answer = await app.graphql(INITIATE, { input: card(), key: key() }, { token });
    expect(answer.body.errors?.[0]?.extensions?.code).toBe('FORBIDDEN');
  });
});
