/**
 * Bank payments through the graph: initiatePayment with a debtor account runs the Open Banking
 * consent -> approval -> domestic-payment flow over mutual TLS, exactly once per idempotency key.
 */
import { randomBytes } from 'node:crypto';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startTestApp, type TestApp } from '../helpers/app.js';
import { INITIATE } from '../services/payments/replicas.js';

let app: TestApp;
let debtorAccountId: string;

beforeAll(async () => {
  app = await startTestApp({ customers: ['cust_alice', 'cust_bob'] });
  const accounts = await app.graphql('{ accounts(provider: OPENBANKING) { edges { node { id type } } } }');
  const edges = (accounts.body.data?.accounts as { edges: { node: { id: string; type: string } }[] }).edges;
  debtorAccountId = edges.find((edge) => edge.node.type === 'CURRENT')!.node.id;
}, 180_000);
afterAll(() => app?.close());

const bankPayment = (amount: string) => ({
  debtorAccountId,
  amount: { amount, currency: 'GBP' },
  creditor: { name: 'Acme Supplies Ltd', sortCode: '040004', accountNumber: '12345678' },
  reference: 'INV-2041',
});
const key = () => `ob-e2e-${randomBytes(12).toString('hex')}`;
const bankPayments = () =>
  app.sandboxes
    .openbanking!.handle.ledger()
    .movements.filter((movement) => movement.kind === 'domestic-payment');

describe('Open Banking payments through the graph', () => {
  it('creates one bank payment for ten requests with one key, and answers each the same', async () => {
    const before = bankPayments().length;
    const variables = { input: bankPayment('12.34'), key: key() };
    const answers = [];
    for (let attempt = 0; attempt < 10; attempt += 1) answers.push(await app.graphql(INITIATE, variables));
    for (const answer of answers) {
      expect(answer.body.errors).toBeUndefined();
      expect(answer.body.data).toEqual(answers[0]!.body.data);
    }
    const payment = (
      answers[0]!.body.data?.initiatePayment as { payment: { status: string; amount: unknown } }
    ).payment;
    expect(payment.amount).toEqual({ amount: '12.34', currency: 'GBP' });
    expect(['PROCESSING', 'SETTLED']).toContain(payment.status);
    expect(bankPayments().length - before).toBe(1);
    // A bank payment is not routed: no route, no processor attempts.
    const id = (answers[0]!.body.data?.initiatePayment as { payment: { id: string } }).payment.id;
    const read = await app.graphql(
      'query($id: ID!) { payment(id: $id) { route { rule } attempts { processor } } }',
      {
        id,
      },
    );
    expect(read.body.data?.payment).toEqual({ route: null, attempts: [] });
  });

  it('refuses the same key with the amount changed by one penny, without calling the bank', async () => {
    const k = key();
    await app.graphql(INITIATE, { input: bankPayment('20.00'), key: k });
    const before = bankPayments().length;
    const reused = await app.graphql(INITIATE, { input: bankPayment('20.01'), key: k });
    expect(reused.body.errors?.[0]?.extensions?.code).toBe('IDEMPOTENCY_KEY_REUSED');
    expect(bankPayments().length).toBe(before);
  });

  it("does not let cust_bob pay from cust_alice's account", async () => {
    const before = bankPayments().length;
    const answer = await app.graphql(
      INITIATE,
      { input: bankPayment('5.00'), key: key() },
      { subject: 'cust_bob' },
    );
    const payload = answer.body.data?.initiatePayment as {
      payment: unknown;
      userErrors: { code: string }[];
    } | null;
    const refused =
      answer.body.errors?.[0]?.extensions?.code === 'NOT_FOUND' ||
      payload?.userErrors.some((e) => e.code === 'INVALID_ACCOUNT');
    expect(refused).toBe(true);
    expect(payload?.payment ?? null).toBeNull();
    expect(bankPayments().length).toBe(before);
  });

  it('sends x-fapi-interaction-id on every call it makes to the bank', async () => {
    await app.graphql(INITIATE, { input: bankPayment('1.00'), key: key() });
    const seen = app.sandboxes.openbanking!.handle.ledger();
    const calls = Object.values(seen.requests).reduce((sum, count) => sum + count, 0);
    expect(calls).toBeGreaterThan(3);
    expect(seen.uncorrelated).toEqual({});
  });
});
