/**
 * The graph as a client library sees it (issue 19), over HTTP with the real sandboxes:
 * - a field that can fail on its own fails at its own path (a missing scope, a failed partner), with one
 *   error per failed path and its code, and the rest of the answer arrives;
 * - `Query.node(id)` refetches an object by its global id, with the scope of the object's own type checked
 *   before anything is loaded;
 * - a 3-D Secure card payment completes through the graph: the client secret for the app's SDK (owner,
 *   `payments:write`), the challenge answered at the sandbox bank, then `confirmPayment`.
 */
import { randomUUID } from 'node:crypto';
import { afterAll, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { decodeId } from '../../domain/ids.js';
import { CUSTOMER_SCOPES } from '../../server/auth.js';
import { startTestApp, type GraphQLAnswer, type TestApp } from '../helpers/app.js';
import { partnerRequests } from './security-support.js';

const DASHBOARD = `{
  accounts { edges { node { id provider name transactions(first: 5) { edges { node { id } } } } } }
}`;
const INITIATE = `mutation($input: InitiatePaymentInput!, $key: String!) {
  initiatePayment(input: $input, idempotencyKey: $key) {
    payment { id status nextAction { type url clientSecret } }
    userErrors { code }
  }
}`;
const CONFIRM = `mutation($id: ID!, $key: String!) {
  confirmPayment(id: $id, idempotencyKey: $key) {
    payment { id status failureCode nextAction { type } events { status source } }
    userErrors { code message }
  }
}`;
const OB_TRANSACTIONS = [
  'GET /open-banking/v3.1/aisp/accounts/{AccountId}/transactions',
  'GET /open-banking/v3.1/aisp/transactions',
];

interface DashboardAccount {
  id: string;
  provider: string;
  name: string;
  transactions: { edges: { node: { id: string } }[] } | null;
}

let app: TestApp;
const key = () => `client-conventions-${randomUUID()}`;
const accountsOf = (answer: GraphQLAnswer) =>
  (answer.body.data?.accounts as { edges: { node: DashboardAccount }[] }).edges.map((edge) => edge.node);

beforeAll(async () => {
  app = await startTestApp();
}, 180_000);
afterAll(() => app?.close());
beforeEach(() => app.sandboxes.openbanking!.handle.setFaults([]));

describe('partial results', () => {
  it('serves the accounts to an accounts:read token, with one FORBIDDEN error per account at its transactions', async () => {
    const token = await app.token('cust_alice', ['accounts:read']);
    const answer = await app.graphql(DASHBOARD, {}, { token });

    const accounts = accountsOf(answer);
    expect(accounts.length).toBeGreaterThan(1);
    expect(accounts.every((account) => account.name.length > 0 && account.transactions === null)).toBe(true);
    expect(answer.body.errors).toHaveLength(accounts.length);
    expect(answer.body.errors!.map((error) => error.path)).toEqual(
      accounts.map((_account, index) => ['accounts', 'edges', index, 'node', 'transactions']),
    );
    expect(answer.body.errors!.every((error) => error.extensions?.code === 'FORBIDDEN')).toBe(true);
  });

  it('keeps a transaction without accounts:read, with the error at its account', async () => {
    const token = await app.token('cust_alice', ['transactions:read']);
    const answer = await app.graphql(
      '{ transactions(first: 3) { edges { node { id amount { amount } account { id } } } } }',
      {},
      { token },
    );
    const edges = (answer.body.data?.transactions as { edges: { node: { id: string; account: unknown } }[] })
      .edges;
    expect(edges).toHaveLength(3);
    expect(edges.every(({ node }) => node.id && node.account === null)).toBe(true);
    expect(answer.body.errors).toHaveLength(3);
    expect(answer.body.errors![0]).toMatchObject({
      path: ['transactions', 'edges', 0, 'node', 'account'],
      extensions: { code: 'FORBIDDEN' },
    });
  });

  it("nulls only the failed partner's transactions when the bank fails with nothing cached", async () => {
    app.sandboxes.openbanking!.handle.setFaults(
      OB_TRANSACTIONS.map((match) => ({ kind: 'status' as const, status: 500, match })),
    );
    // cust_bob's bank transactions were never read, so nothing cached can answer for them.
    const answer = await app.graphql(DASHBOARD, {}, { subject: 'cust_bob' });

    const accounts = accountsOf(answer);
    const bank = accounts.filter((account) => account.provider === 'OPENBANKING');
    const others = accounts.filter((account) => account.provider !== 'OPENBANKING');
    expect(bank.length).toBeGreaterThan(0);
    expect(others.length).toBeGreaterThan(0);
    expect(bank.every((account) => account.transactions === null)).toBe(true);
    expect(others.every((account) => (account.transactions?.edges.length ?? 0) > 0)).toBe(true);
    expect(answer.body.errors).toHaveLength(bank.length);
    for (const error of answer.body.errors!) {
      expect(error.extensions).toMatchObject({ code: 'PARTNER_UNAVAILABLE', partner: 'openbanking' });
      const index = error.path![2] as number;
      expect(accounts[index]!.provider).toBe('OPENBANKING');
    }
  });
});

describe('Query.node', () => {
  it('refetches an account, a transaction, a payment and a consent by global id', async () => {
    const listed = await app.graphql(
      `{ accounts(first: 1) { edges { node { id name } } }
         transactions(first: 1) { edges { node { id description } } }
         consents { id status } }`,
    );
    const account = (listed.body.data?.accounts as { edges: { node: { id: string; name: string } }[] })
      .edges[0]!.node;
    const transaction = (
      listed.body.data?.transactions as { edges: { node: { id: string; description: string } }[] }
    ).edges[0]!.node;
    const consent = (listed.body.data?.consents as { id: string }[])[0]!;
    const paid = await app.graphql(INITIATE, {
      input: {
        paymentMethodId: 'pm_card_visa',
        amount: { amount: '4.20', currency: 'GBP' },
        reference: 'node',
      },
      key: key(),
    });
    const payment = (paid.body.data?.initiatePayment as { payment: { id: string } }).payment;

    const node = `query($id: ID!) { node(id: $id) { __typename id
      ... on Account { name } ... on Transaction { description } ... on Payment { status } ... on Consent { permissions } } }`;
    const read = async (id: string) => {
      const answer = await app.graphql(node, { id });
      expect(answer.body.errors).toBeUndefined();
      return answer.body.data?.node;
    };
    expect(await read(account.id)).toEqual({ __typename: 'Account', id: account.id, name: account.name });
    expect(await read(transaction.id)).toEqual({
      __typename: 'Transaction',
      id: transaction.id,
      description: transaction.description,
    });
    expect(await read(payment.id)).toEqual({ __typename: 'Payment', id: payment.id, status: 'SETTLED' });
    expect(await read(consent.id)).toMatchObject({ __typename: 'Consent', id: consent.id });
  });

  it("checks the object's own scope before loading it, and answers NOT_FOUND for an id of nothing", async () => {
    const listed = await app.graphql('{ accounts(first: 1) { edges { node { id } } } }');
    const accountId = (listed.body.data?.accounts as { edges: { node: { id: string } }[] }).edges[0]!.node.id;
    // The accounts' partners only: the previous test's card payment may still be reading its intent from
    // Stripe while its webhook is processed, which is not this request's doing.
    const accountPartners = (): Record<string, number> =>
      Object.fromEntries(
        Object.entries(partnerRequests(app.sandboxes)).filter(([call]) => !call.startsWith('stripe ')),
      );
    const before = accountPartners();

    const token = await app.token('cust_alice', ['payments:read']);
    const refused = await app.graphql(
      'query($id: ID!) { node(id: $id) { id } }',
      { id: accountId },
      { token },
    );
    expect(refused.body.data).toEqual({ node: null });
    expect(refused.body.errors?.[0]).toMatchObject({ path: ['node'], extensions: { code: 'FORBIDDEN' } });
    expect(accountPartners()).toEqual(before);

    const none = await app.graphql('query($id: ID!) { node(id: $id) { id } }', { id: 'bm90LWFuLWlk' });
    expect(none.body.data).toEqual({ node: null });
    expect(none.body.errors?.[0]?.extensions?.code).toBe('NOT_FOUND');

    const unauthenticated = await app.graphql(
      'query($id: ID!) { node(id: $id) { id } }',
      { id: accountId },
      {
        token: null,
      },
    );
    expect(unauthenticated.body.errors?.[0]?.extensions?.code).toBe('UNAUTHENTICATED');
  });
});

describe('3-D Secure through the graph', () => {
  async function challenged(): Promise<{ id: string; intent: string; clientSecret: string | null }> {
    const answer = await app.graphql(INITIATE, {
      input: {
        paymentMethodId: 'pm_card_authenticationRequired',
        amount: { amount: '31.00', currency: 'GBP' },
        reference: '3-D Secure',
      },
      key: key(),
    });
    expect(answer.body.errors).toBeUndefined();
    const payment = (
      answer.body.data?.initiatePayment as {
        payment: { id: string; status: string; nextAction: { type: string; clientSecret: string | null } };
      }
    ).payment;
    expect(payment.status).toBe('REQUIRES_ACTION');
    expect(payment.nextAction.type).toBe('THREE_D_SECURE');
    const intent = decodeId(payment.id, 'Payment')!.partnerId;
    return { id: payment.id, intent, clientSecret: payment.nextAction.clientSecret };
  }

  async function answerChallenge(intent: string, result: 'approve' | 'fail'): Promise<void> {
    const url = `${app.sandboxes.stripe!.handle.url}/__sandbox/stripe/authenticate/${intent}?result=${result}`;
    const response = await fetch(url, { method: 'POST', redirect: 'manual' });
    expect(response.status).toBeLessThan(400);
  }

  it("hands the owner's app the client secret, then confirms server-side once the challenge is passed", async () => {
    const { id, intent, clientSecret } = await challenged();
    expect(clientSecret).toMatch(new RegExp(`^${intent}_secret_`));

    // A read-only token sees the payment and what to do, never the secret that completes it.
    const reader = await app.token('cust_alice', ['payments:read']);
    const read = await app.graphql(
      'query($id: ID!) { payment(id: $id) { status nextAction { type clientSecret } } }',
      { id },
      { token: reader },
    );
    expect(read.body.data?.payment).toEqual({
      status: 'REQUIRES_ACTION',
      nextAction: { type: 'THREE_D_SECURE', clientSecret: null },
    });
    expect(read.body.errors?.[0]).toMatchObject({
      path: ['payment', 'nextAction', 'clientSecret'],
      extensions: { code: 'FORBIDDEN' },
    });

    // Confirming before the customer answered leaves the payment waiting for them.
    const early = await app.graphql(CONFIRM, { id, key: key() });
    expect(early.body.data?.confirmPayment).toMatchObject({
      payment: { status: 'REQUIRES_ACTION', nextAction: { type: 'THREE_D_SECURE' } },
      userErrors: [],
    });

    await answerChallenge(intent, 'approve');
    const confirmKey = key();
    const confirmed = await app.graphql(CONFIRM, { id, key: confirmKey });
    expect(confirmed.body.errors).toBeUndefined();
    expect(confirmed.body.data?.confirmPayment).toMatchObject({
      payment: { id, status: 'SETTLED', failureCode: null, nextAction: null },
      userErrors: [],
    });
    const events = (confirmed.body.data?.confirmPayment as { payment: { events: { status: string }[] } })
      .payment.events;
    expect(events.at(-1)).toEqual({ status: 'SETTLED', source: 'API' });

    const replay = await app.graphql(CONFIRM, { id, key: confirmKey });
    expect(replay.body.extensions?.idempotency).toMatchObject({ replayed: true });
    expect(replay.body.data?.confirmPayment).toMatchObject({
      payment: { status: 'SETTLED' },
      userErrors: [],
    });

    // The secret is gone with the challenge.
    const after = await app.graphql('query($id: ID!) { payment(id: $id) { nextAction { clientSecret } } }', {
      id,
    });
    expect(after.body.data?.payment).toEqual({ nextAction: null });
  });

  it('fails the payment when the challenge is failed, and refuses to confirm it again', async () => {
    const { id, intent } = await challenged();
    await answerChallenge(intent, 'fail');

    // Stripe's payment_failed webhook may reach the ledger before the app confirms: then the payment is
    // already FAILED and the confirmation is refused; otherwise the confirmation finds it failed.
    const failed = await app.graphql(CONFIRM, { id, key: key() });
    const answered = failed.body.data?.confirmPayment as { payment: unknown; userErrors: { code: string }[] };
    if (answered.payment === null) expect(answered.userErrors).toMatchObject([{ code: 'NOT_CONFIRMABLE' }]);
    else
      expect(answered).toMatchObject({
        payment: { status: 'FAILED', failureCode: 'AUTHENTICATION_FAILED' },
        userErrors: [],
      });
    const read = await app.graphql('query($id: ID!) { payment(id: $id) { status failureCode } }', { id });
    expect(read.body.data?.payment).toEqual({ status: 'FAILED', failureCode: 'AUTHENTICATION_FAILED' });
    const again = await app.graphql(CONFIRM, { id, key: key() });
    expect(again.body.data?.confirmPayment).toMatchObject({
      payment: null,
      userErrors: [{ code: 'NOT_CONFIRMABLE' }],
    });
  });

  it("answers NOT_SUPPORTED for a bank payment, whose bank's redirect completes it", async () => {
    const listed = await app.graphql(
      '{ accounts(provider: OPENBANKING, first: 1) { edges { node { id } } } }',
    );
    const debtorAccountId = (listed.body.data?.accounts as { edges: { node: { id: string } }[] }).edges[0]!
      .node.id;
    const bank = await app.graphql(INITIATE, {
      input: {
        debtorAccountId,
        amount: { amount: '2.00', currency: 'GBP' },
        creditor: { name: 'Confirm Test', sortCode: '040004', accountNumber: '12345678' },
        reference: 'confirm bank',
      },
      key: key(),
    });
    const id = (bank.body.data?.initiatePayment as { payment: { id: string } }).payment.id;
    const answer = await app.graphql(CONFIRM, { id, key: key() });
    expect(answer.body.data?.confirmPayment).toMatchObject({
      payment: null,
      userErrors: [{ code: 'NOT_SUPPORTED' }],
    });
  });

  it('counts confirmPayment as a money-moving mutation: one per operation', async () => {
    const token = await app.token('cust_alice', CUSTOMER_SCOPES);
    const answer = await app.graphql(
      `mutation($id: ID!) {
        a: confirmPayment(id: $id, idempotencyKey: "client-conventions-two-a") { userErrors { code } }
        b: confirmPayment(id: $id, idempotencyKey: "client-conventions-two-b") { userErrors { code } }
      }`,
      { id: 'bm90LWFuLWlk' },
      { token },
    );
    expect(answer.body.data ?? null).toBeNull();
    expect(answer.body.errors?.[0]?.extensions?.code).toBe('BAD_USER_INPUT');
  });
});
