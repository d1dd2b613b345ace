/**
 * What one request costs the consent store, through the real app: every statement sent to the
 * database is recorded. A cold dashboard for cust_alice (Open Banking + Plaid) reads the consents
 * table once (the request's consent snapshot answers the account list, every permission check and
 * every credential read); a warm one reads it not at all and decrypts nothing (the consent cache
 * keeps the subject's consents and credentials between requests). A consent revoked between two
 * requests is refused on the second, without a partner call: the revocation drops the cache entry.
 */
import { afterAll, afterEach, beforeAll, describe, expect, it, vi } from 'vitest';
import { SecretBox } from '../../store/secrets.js';
import { startTestApp, type TestApp } from '../helpers/app.js';
import { recordingDb, testBackends } from '../helpers/db.js';
import { partnerRequests, resetLedgers } from './security-support.js';

const DASHBOARD = /* GraphQL */ `
  {
    accounts {
      edges {
        node {
          id
          provider
          balance {
            current {
              amount
            }
          }
          transactions(first: 10) {
            edges {
              node {
                id
              }
            }
          }
        }
      }
    }
  }
`;

const readsConsents = (sql: string) => /\bFROM\s+consents\b/i.test(sql);

let app: TestApp;
let statements: string[];
beforeAll(async () => {
  const recorded = recordingDb(await testBackends()[0]!.open({ migrate: false }));
  statements = recorded.statements;
  app = await startTestApp({ db: recorded.db });
});
afterAll(() => app?.close());
afterEach(() => vi.restoreAllMocks());

type Edge = { node: { id: string; provider: string } };
const edgesOf = (data: unknown) => (data as { accounts: { edges: Edge[] } }).accounts.edges;

describe('consent store reads per request', () => {
  it('reads the consents once and opens each partner credential once for a cold dashboard', async () => {
    app.server.services.consentCache.invalidateAll();
    const opened = vi.spyOn(SecretBox.prototype, 'open');
    statements.length = 0;

    const { body } = await app.graphql(DASHBOARD, {}, { subject: 'cust_alice' });

    expect(body.errors).toBeUndefined();
    const providers = new Set(edgesOf(body.data).map((edge) => edge.node.provider));
    expect([...providers].sort()).toEqual(['OPENBANKING', 'PLAID']);
    expect(statements.filter(readsConsents)).toHaveLength(1);
    expect(opened.mock.calls.length).toBeLessThanOrEqual(providers.size);
  });

  it('reads no consent and decrypts nothing for a warm dashboard', async () => {
    const warm = await app.graphql(DASHBOARD, {}, { subject: 'cust_alice' });
    expect(warm.body.errors).toBeUndefined();
    const opened = vi.spyOn(SecretBox.prototype, 'open');
    statements.length = 0;

    const { body } = await app.graphql(DASHBOARD, {}, { subject: 'cust_alice' });

    expect(body.errors).toBeUndefined();
    expect(edgesOf(body.data).length).toBeGreaterThan(0);
    expect(statements.filter(readsConsents)).toEqual([]);
    expect(opened).not.toHaveBeenCalled();
  });

  it('pays for a warm subject with no consent read: five statements on the request path, audit staged', async () => {
    const pay = `mutation($input: InitiatePaymentInput!, $k: String!) {
      initiatePayment(input: $input, idempotencyKey: $k) { payment { id status } userErrors { code } }
    }`;
    const input = {
      paymentMethodId: 'pm_card_visa',
      amount: { amount: '3.21', currency: 'GBP' },
      reference: 'x',
    };
    await app.graphql(DASHBOARD, {}, { subject: 'cust_alice' });
    statements.length = 0;

    const { body } = await app.graphql(
      pay,
      { input, k: 'consent-reads-payment-0001' },
      { subject: 'cust_alice' },
    );

    expect(body.errors).toBeUndefined();
    expect(body.data?.initiatePayment).toMatchObject({ payment: { status: 'SETTLED' }, userErrors: [] });
    // What the payment itself sent (the sandbox's webhooks are being processed meanwhile): the key's
    // claim, two recovery points and its finish, which stages the audit entry in the same statement;
    // the payment with its history in one statement. No consent read, no read-back of what was just
    // written, no chain lock.
    const idempotency = statements.filter((sql) => /idempotency_keys/.test(sql));
    expect(idempotency).toHaveLength(4);
    expect(idempotency[3]).toMatch(/INSERT INTO audit_pending/);
    expect(statements.filter((sql) => /INSERT INTO payments/.test(sql))).toHaveLength(1);
    expect(statements.filter(readsConsents)).toEqual([]);
    // (The claim's statement names the history too: it reads a finished key's payment, here none.)
    const readsHistory = (sql: string) => /FROM (payment_events|refunds)\b/.test(sql);
    expect(statements.filter((sql) => readsHistory(sql) && !/idempotency_keys/.test(sql))).toEqual([]);

    // The client retries with the same key: one statement claims-or-finds the key (here: finds it
    // finished) and reads the payment as it is now, with its history; nothing else.
    await app.server.services.webhooks.worker.stop();
    statements.length = 0;
    const replay = await app.graphql(
      pay,
      { input, k: 'consent-reads-payment-0001' },
      { subject: 'cust_alice' },
    );
    expect(replay.body.extensions).toMatchObject({ idempotency: { replayed: true } });
    // (Background work, the audit chain's sealer, may run meanwhile: only the request's tables count.)
    const requestPath = statements.filter((sql) =>
      /\b(idempotency_keys|payments|payment_events)\b/.test(sql),
    );
    expect(requestPath).toHaveLength(1);
    expect(requestPath[0]).toMatch(/INSERT INTO idempotency_keys/);
    expect(requestPath[0]).toMatch(/FROM payments p/);
    expect(replay.body.data?.initiatePayment).toMatchObject({ payment: { status: 'SETTLED' } });
  });

  it('honours a consent revoked between two requests: CONSENT_REQUIRED and no partner call', async () => {
    const query = 'query($id: ID!) { account(id: $id) { id balance { current { amount } } } }';
    const list = await app.graphql(DASHBOARD, {}, { subject: 'cust_bob' });
    const accountId = edgesOf(list.body.data).find((edge) => edge.node.provider === 'OPENBANKING')!.node.id;
    const before = await app.graphql(query, { id: accountId }, { subject: 'cust_bob' });
    expect(before.body.data?.account).toMatchObject({ id: accountId });

    const consents = app.server.services.consents;
    const consent = await consents.findActive('cust_bob', 'openbanking');
    await consents.revoke('cust_bob', consent!.id);
    resetLedgers(app.sandboxes);

    const after = await app.graphql(query, { id: accountId }, { subject: 'cust_bob' });
    expect(after.body.errors?.[0]?.extensions).toMatchObject({
      code: 'CONSENT_REQUIRED',
      provider: 'openbanking',
    });
    expect(after.body.data?.account ?? null).toBeNull();
    const bankCalls = Object.keys(partnerRequests(app.sandboxes)).filter((route) =>
      route.startsWith('openbanking'),
    );
    expect(bankCalls).toEqual([]);
  });
});
