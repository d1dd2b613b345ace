/**
 * Reconciliation through the graph, as on-call runs it against a running deployment (under `npm start`
 * the embedded database belongs to the server, so the CLI cannot open it): `reconcilePayments` compares
 * the ledger with the partners, records the run and audits it; `reconciliation` answers the latest run.
 * A status the subgraph was never told about shows as BEHIND and is applied only on request.
 */
import { randomBytes } from 'node:crypto';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { decodeId } from '../../domain/ids.js';
import { startTestApp, type TestApp } from '../helpers/app.js';
import { INITIATE } from '../services/payments/replicas.js';

const RUN = `id actor providers apply checked matched
  discrepancies { kind provider paymentId ours partner applied detail }`;
const RECONCILE = `mutation($provider: Provider, $apply: Boolean) {
  reconcilePayments(provider: $provider, apply: $apply) { run { ${RUN} } userErrors { code field } }
}`;

interface Run {
  id: string;
  actor: string;
  providers: string[];
  checked: number;
  matched: number;
  discrepancies: {
    kind: string;
    paymentId: string | null;
    ours: string;
    partner: string;
    applied: boolean;
  }[];
}

let app: TestApp;
let ops: string;

beforeAll(async () => {
  app = await startTestApp({ customers: ['cust_alice'] });
  // Only reconciliation may tell the ledger about the partner-side change below.
  await app.server.services.webhooks.worker.stop();
  ops = await app.token('ops_oncall', ['ops:read', 'ops:write']);
}, 180_000);
afterAll(async () => app?.close());

async function pay(paymentMethodId: string): Promise<string> {
  const answer = await app.graphql(INITIATE, {
    input: { paymentMethodId, amount: { amount: '7.00', currency: 'GBP' }, reference: 'reconcile ops' },
    key: `reconcile-ops-${randomBytes(8).toString('hex')}`,
  });
  return (answer.body.data?.initiatePayment as { payment: { id: string } }).payment.id;
}

async function reconcile(variables: Record<string, unknown>): Promise<Run> {
  const answer = await app.graphql(RECONCILE, variables, { token: ops });
  expect(answer.body.errors).toBeUndefined();
  const payload = answer.body.data?.reconcilePayments as { run: Run; userErrors: unknown[] };
  expect(payload.userErrors).toEqual([]);
  return payload.run;
}

describe('reconcilePayments and reconciliation', { timeout: 120_000 }, () => {
  it('compares every payments partner, finds nothing wrong with fresh payments, and keeps the run', async () => {
    await pay('pm_card_visa');
    const run = await reconcile({});
    expect(run).toMatchObject({ actor: 'operator:ops_oncall', discrepancies: [] });
    expect([...run.providers].sort()).toEqual(['ADYEN', 'OPENBANKING', 'STRIPE']);
    expect(run.checked).toBeGreaterThan(0);
    expect(run.matched).toBe(run.checked);

    const latest = await app.graphql(`{ reconciliation { ${RUN} } }`, {}, { token: ops });
    expect(latest.body.data?.reconciliation).toEqual(run);
    const audit = await app.server.services.db.query<{ actor: string; action: string }>(
      'SELECT actor, action FROM audit_log WHERE target = $1',
      [`reconciliation:${run.id}`],
    );
    expect(audit).toEqual([{ actor: 'operator:ops_oncall', action: 'payments.reconciled' }]);
  });

  it('reports a status it was never told about as BEHIND, and applies it only when asked', async () => {
    const id = await pay('pm_sandbox_processing');
    const intent = decodeId(id, 'Payment')!.partnerId;
    const settled = await fetch(
      `${app.sandboxes.stripe!.handle.url}/__sandbox/stripe/payment_intents/${intent}/status`,
      { method: 'POST', headers: { 'content-type': 'application/json' }, body: '{"status":"succeeded"}' },
    );
    expect(settled.status).toBe(200);

    const reported = await reconcile({ provider: 'STRIPE' });
    expect(reported.discrepancies.filter((d) => d.paymentId === id)).toEqual([
      expect.objectContaining({ kind: 'BEHIND', ours: 'PROCESSING', partner: 'SETTLED', applied: false }),
    ]);
    const applied = await reconcile({ provider: 'STRIPE', apply: true });
    expect(applied.discrepancies.filter((d) => d.paymentId === id)).toEqual([
      expect.objectContaining({ kind: 'BEHIND', applied: true }),
    ]);
    const payment = await app.graphql('query($id: ID!) { payment(id: $id) { status } }', { id });
    expect(payment.body.data?.payment).toEqual({ status: 'SETTLED' });
  });

  it('refuses a partner without payments, and callers without the ops scopes', async () => {
    const plaid = await app.graphql(RECONCILE, { provider: 'PLAID' }, { token: ops });
    expect(plaid.body.data?.reconcilePayments).toEqual({
      run: null,
      userErrors: [{ code: 'NOT_SUPPORTED', field: ['provider'] }],
    });
    const reader = await app.token('ops_viewer', ['ops:read']);
    const refused = await app.graphql(RECONCILE, {}, { token: reader });
    expect(refused.body.errors?.[0]?.extensions?.code).toBe('FORBIDDEN');
    const customer = await app.graphql('{ reconciliation { id } }', {}, { subject: 'cust_alice' });
    expect(customer.body.errors?.[0]?.extensions?.code).toBe('FORBIDDEN');
  });
});
