/**
 * Open Banking as banks answer, end to end through the graph: an account outside the customer's
 * consent (the bank answers 403) is answered exactly like an account that does not exist (the bank
 * answers 400); and a payment answer whose signature does not hold never moves a payment. The bank
 * sandbox signs its payment answers and checks the subgraph's signed payment requests throughout.
 */
import { randomBytes } from 'node:crypto';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { decodeId, encodeId } from '../../domain/ids.js';
import { AISP_BASE, PISP_BASE } from '../../sandboxes/openbanking/index.js';
import { startTestApp, type GraphQLAnswer, type TestApp } from '../helpers/app.js';
import { INITIATE } from '../services/payments/replicas.js';

const PAYMENT = 'query($id: ID!) { payment(id: $id) { id status events { status source } } }';
const ACCOUNT_READS = `GET ${AISP_BASE}/accounts/{AccountId}`;
const PAYMENT_READS = `${PISP_BASE}/domestic-payments/{DomesticPaymentId}`;

let app: TestApp;
let debtorAccountId: string;

beforeAll(async () => {
  app = await startTestApp({
    // Only the control route moves payments, so the test decides when the bank settles one.
    sandboxes: { openbanking: { paymentSettlementSeconds: null } },
    customers: ['cust_alice', 'cust_bob'],
  });
  const accounts = await app.graphql('{ accounts(provider: OPENBANKING) { edges { node { id type } } } }');
  const edges = (accounts.body.data?.accounts as { edges: { node: { id: string; type: string } }[] }).edges;
  debtorAccountId = edges.find((edge) => edge.node.type === 'CURRENT')!.node.id;
}, 180_000);
afterAll(() => app?.close());

const bank = () => app.sandboxes.openbanking!.handle;
const input = (debtor: string, amount = '5.00') => ({
  debtorAccountId: debtor,
  amount: { amount, currency: 'GBP' },
  creditor: { name: 'Acme Supplies Ltd', sortCode: '040004', accountNumber: '12345678' },
  reference: 'OB bank answers',
});
const key = () => `ob-answers-${randomBytes(8).toString('hex')}`;

/** Everything but the correlation id, with the asked-for id and the idempotency key replaced. */
function normalised(answer: GraphQLAnswer, id: string, idempotencyKey: string): unknown {
  const text = JSON.stringify({ status: answer.status, body: answer.body })
    .split(id)
    .join('<id>')
    .split(idempotencyKey)
    .join('<key>');
  return JSON.parse(text.replace(/"correlationId":"[^"]*"/g, '"correlationId":"-"'));
}

async function inbox() {
  await app.server.services.webhooks.worker.drain();
  return app.server.services.webhooks.repository.list({ limit: 100, provider: 'openbanking' });
}

async function until<T>(what: string, read: () => Promise<T>, done: (value: T) => boolean): Promise<T> {
  const deadline = Date.now() + 60_000;
  for (;;) {
    const value = await read();
    if (done(value)) return value;
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await new Promise((resolve) => setTimeout(resolve, 200));
  }
}

async function payment(id: string) {
  return (await app.graphql(PAYMENT, { id })).body.data?.payment as {
    status: string;
    events: { status: string; source: string }[];
  };
}

async function moveAtBank(partnerId: string, Status: string): Promise<void> {
  const { Agent, request } = await import('undici');
  const { sharedSandboxTls } = await import('../../sandboxes/certs.js');
  const tls = await sharedSandboxTls();
  const agent = new Agent({ connect: { ca: tls.ca, ...tls.client } });
  try {
    const res = await request(`${bank().url}/__sandbox/domestic-payments/${partnerId}/status`, {
      method: 'POST',
      dispatcher: agent,
      headers: { 'content-type': 'application/json' },
      body: JSON.stringify({ Status }),
    });
    expect(res.statusCode).toBe(200);
    await res.body.dump();
  } finally {
    await agent.close();
  }
}

describe('Open Banking as banks answer, through the graph', { timeout: 180_000 }, () => {
  it("answers a payment from an account outside the customer's consent exactly like one from an account that does not exist", async () => {
    const movements = bank().ledger().movements.length;
    const reads = bank().ledger().requests[ACCOUNT_READS] ?? 0;
    const outside = encodeId('Account', 'openbanking', 'bob-current-01');
    const missing = encodeId('Account', 'openbanking', 'no-such-account');
    const [k1, k2] = [key(), key()];
    const fromOutside = await app.graphql(INITIATE, { input: input(outside), key: k1 });
    const fromMissing = await app.graphql(INITIATE, { input: input(missing), key: k2 });
    expect(normalised(fromOutside, outside, k1)).toEqual(normalised(fromMissing, missing, k2));
    const payload = fromOutside.body.data?.initiatePayment as {
      payment: unknown;
      userErrors: { code: string }[];
    } | null;
    const refused =
      fromOutside.body.errors?.[0]?.extensions?.code === 'NOT_FOUND' ||
      payload?.userErrors.some((error) => error.code === 'INVALID_ACCOUNT');
    expect(refused).toBe(true);
    expect(JSON.stringify(fromOutside.body)).not.toContain('bob-current-01');
    // Both reached the bank (403 for Bob's account, 400 for the unknown id); no money moved.
    expect((bank().ledger().requests[ACCOUNT_READS] ?? 0) - reads).toBe(2);
    expect(bank().ledger().movements.length).toBe(movements);
  });

  it('never moves a payment on an answer whose signature does not hold, and moves it on the honest one', async () => {
    const answer = await app.graphql(INITIATE, { input: input(debtorAccountId, '6.54'), key: key() });
    expect(answer.body.errors).toBeUndefined();
    const created = (answer.body.data?.initiatePayment as { payment: { id: string; status: string } })
      .payment;
    expect(created.status).toBe('PROCESSING');
    const partnerId = decodeId(created.id, 'Payment')!.partnerId;
    const since = new Date();

    // Every answer about the payment now has its body changed after signing: the bank settled it,
    // the tampered answer says it was rejected.
    bank().setFaults([{ match: PAYMENT_READS, kind: 'tamper' }]);
    await moveAtBank(partnerId, 'AcceptedSettlementCompleted');
    const notified = (events: Awaited<ReturnType<typeof inbox>>) =>
      events.find(
        (event) =>
          event.resource?.partnerId === partnerId &&
          event.receivedAt >= since &&
          event.attempts >= 1 &&
          event.status !== 'processing',
      );
    const event = notified(
      await until('the settlement notification to be handled', inbox, (e) => !!notified(e)),
    )!;
    expect([event.status, event.lastError]).toEqual([
      'pending',
      'openbanking answered with data that breaks its contract.',
    ]);
    const untouched = await payment(created.id);
    expect(untouched.status).toBe('PROCESSING');
    expect(untouched.events.map((e) => e.status)).toEqual(['PROCESSING']);

    // Honest answers again: a replay of the notifications fetches the payment, and it is SETTLED.
    bank().setFaults([]);
    await app.server.services.webhooks.operations.replaySince(since, 'test', 'openbanking');
    const settled = await until(
      'the payment to settle',
      async () => {
        await app.server.services.webhooks.worker.drain();
        return payment(created.id);
      },
      (view) => view.status === 'SETTLED',
    );
    expect(settled.events.map((e) => e.status)).toEqual(['PROCESSING', 'SETTLED']);
    expect(settled.events.some((e) => e.status === 'FAILED')).toBe(false);
  });
});
