/**
 * End to end with the Plaid sandbox: when cust_alice's transactions change at the institution, the
 * sandbox sends SYNC_UPDATES_AVAILABLE (signed with its ES256 key, sometimes twice, after a random
 * delay); the subgraph verifies it, stores it, and its worker runs /transactions/sync for the Item, so the
 * local copy holds the change before anyone reads it. Forged deliveries are refused and never stored.
 */
import { createHash } from 'node:crypto';
import { setTimeout as sleep } from 'node:timers/promises';
import { decodeProtectedHeader, generateKeyPair, SignJWT } from 'jose';
import { Configuration, PlaidApi, Products, SandboxItemFireWebhookRequestWebhookCodeEnum } from 'plaid';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { CallRecord } from '../../sandboxes/plaid/index.js';
import {
  PLAID_SANDBOX_CLIENT_ID,
  PLAID_SANDBOX_SECRET,
  SEEDED_ACCOUNTS,
} from '../../sandboxes/plaid/index.js';
import { PlaidSyncRepository } from '../../datasources/plaid/store.js';
import type { WebhookEventRecord } from '../../store/webhooks.js';
import { startTestApp, type TestApp } from '../helpers/app.js';

const TRANSACTIONS = `{ transactions(first: 20) { edges { node { id description status amount { amount currency } } } } }`;
const ACCOUNT = SEEDED_ACCOUNTS.cust_alice![0]!;

describe('Plaid transactions synced by webhooks', { timeout: 180_000 }, () => {
  let app: TestApp;
  let plaidUrl: string;
  let itemId: string;
  let copy: PlaidSyncRepository;

  beforeAll(async () => {
    app = await startTestApp({
      sandboxes: { plaid: { webhooks: { duplicateRate: 0.5, maxJitterMs: 200 } } },
      customers: ['cust_alice'],
    });
    plaidUrl = app.sandboxes.plaid!.handle.url;
    const credential = await app.server.services.consents.credentials.get('cust_alice', 'plaid');
    itemId = credential!.externalRef;
    copy = new PlaidSyncRepository(app.server.services.db);
  }, 180_000);
  afterAll(async () => app?.close());

  const changeTransactions = async (change: Record<string, unknown>) => {
    const answer = await fetch(`${plaidUrl}/__sandbox/plaid/transactions`, {
      method: 'POST',
      body: JSON.stringify({ customer: 'cust_alice', ...change }),
    });
    expect(answer.status).toBe(200);
  };

  /**
   * Waits until `count` Plaid events are processed and none is still pending or in a worker's hands (the
   * sandbox's deliveries settled, the inbox drained). A duplicate delivery signed in the next second is a
   * second event, and the server's own worker may hold it while this test's drain finds nothing to claim.
   */
  async function processedPlaidEvents(count: number): Promise<WebhookEventRecord[]> {
    const deadline = Date.now() + 60_000;
    for (;;) {
      await fetch(`${plaidUrl}/__sandbox/plaid/webhook_endpoints`);
      await app.server.services.webhooks.worker.drain();
      const events = await app.server.services.webhooks.repository.list({ limit: 100, provider: 'plaid' });
      const processed = events.filter((event) => event.status === 'processed');
      const settled = events.every((event) => event.status !== 'pending' && event.status !== 'processing');
      if ((settled && processed.length >= count) || Date.now() > deadline) return processed;
      await sleep(100);
    }
  }

  const localCopy = async () =>
    new Map(
      ((await copy.readCopy('cust_alice', itemId, [ACCOUNT]))?.transactions ?? []).map((t) => [
        t.transactionId,
        t,
      ]),
    );
  const syncCalls = async () => {
    const answer = await fetch(`${plaidUrl}/__sandbox/plaid/calls`);
    return ((await answer.json()) as { calls: CallRecord[] }).calls.filter(
      (call) => call.route === '/transactions/sync',
    );
  };

  it('syncs the new transaction into the local copy before any read, then the graph shows it', async () => {
    expect(await copy.cursor('cust_alice', itemId)).toBeNull();
    expect(await syncCalls()).toEqual([]);

    await changeTransactions({
      add: [
        { account_id: ACCOUNT, amount: 12.34, name: 'Webhook Coffee', transaction_id: 'txn_webhook_e2e' },
      ],
    });
    const processed = await processedPlaidEvents(1);
    expect(processed.length).toBeGreaterThanOrEqual(1);
    expect(processed[0]).toMatchObject({
      type: 'TRANSACTIONS.SYNC_UPDATES_AVAILABLE',
      verification: 'plaid-es256-jwt',
      resource: { kind: 'item', partnerId: itemId },
    });

    // The worker, not a read, called /transactions/sync: every call carries a webhook correlation id.
    const calls = await syncCalls();
    expect(calls.length).toBeGreaterThanOrEqual(1);
    for (const call of calls) expect(call.correlationId).toMatch(/^webhook-/);
    const ledger = (await (await fetch(`${plaidUrl}/__sandbox/ledger`)).json()) as {
      requests: Record<string, number>;
    };
    expect(ledger.requests['POST /transactions/sync']).toBe(calls.length);
    expect(ledger.requests['POST /accounts/get']).toBeUndefined();
    expect(await copy.cursor('cust_alice', itemId)).not.toBeNull();
    const stored = (await localCopy()).get('txn_webhook_e2e');
    expect(stored).toMatchObject({ description: 'Webhook Coffee', status: 'BOOKED' });

    const answer = await app.graphql(TRANSACTIONS);
    expect(answer.body.errors).toBeUndefined();
    const nodes = (
      answer.body.data?.transactions as { edges: { node: { description: string } }[] }
    ).edges.map((edge) => edge.node);
    expect(nodes).toContainEqual(
      expect.objectContaining({
        description: 'Webhook Coffee',
        amount: { amount: '-12.34', currency: 'USD' },
      }),
    );
  });

  it('acts on a later notification about the same Item too (same body, signed later)', async () => {
    const before = (await processedPlaidEvents(1)).length;
    // Plaid's SYNC_UPDATES_AVAILABLE body is the same every time; only the token's iat tells them apart.
    await sleep(1_100);
    await changeTransactions({
      modify: [{ transaction_id: 'txn_webhook_e2e', name: 'Webhook Coffee (corrected)' }],
    });
    const processed = await processedPlaidEvents(before + 1);
    expect(processed.length).toBeGreaterThan(before);
    expect((await localCopy()).get('txn_webhook_e2e')?.description).toBe('Webhook Coffee (corrected)');
  });

  it('ignores, with a reason, an event about an Item no subject linked through Tributary', async () => {
    const api = new PlaidApi(
      new Configuration({
        basePath: plaidUrl,
        baseOptions: {
          headers: { 'PLAID-CLIENT-ID': PLAID_SANDBOX_CLIENT_ID, 'PLAID-SECRET': PLAID_SANDBOX_SECRET },
        },
      }),
    );
    const created = await api.sandboxPublicTokenCreate({
      institution_id: 'ins_109508',
      initial_products: [Products.Transactions],
      options: { override_username: 'cust_bob' },
    });
    const { data } = await api.itemPublicTokenExchange({ public_token: created.data.public_token });
    const fired = await api.sandboxItemFireWebhook({
      access_token: data.access_token,
      webhook_code: SandboxItemFireWebhookRequestWebhookCodeEnum.SyncUpdatesAvailable,
    });
    expect(fired.data.webhook_fired).toBe(true);
    const deadline = Date.now() + 60_000;
    let stranger: WebhookEventRecord | undefined;
    while (stranger?.status !== 'ignored' && Date.now() < deadline) {
      await fetch(`${plaidUrl}/__sandbox/plaid/webhook_endpoints`);
      await app.server.services.webhooks.worker.drain();
      const events = await app.server.services.webhooks.repository.list({ limit: 100, provider: 'plaid' });
      stranger = events.find((event) => event.resource?.partnerId === data.item_id);
      if (stranger?.status !== 'ignored') await sleep(100);
    }
    expect(stranger).toMatchObject({ status: 'ignored', verification: 'plaid-es256-jwt' });
    await app.server.services.audit.seal();
    const audit = await app.server.services.db.query<{ payload: string }>(
      "SELECT payload FROM audit_log WHERE action = 'webhook.ignored' AND target = $1",
      [stranger!.id],
    );
    expect(
      audit.map((row) => (JSON.parse(row.payload) as { details: { reason?: string } }).details.reason),
    ).toEqual(['no active plaid link for the Item']);
    expect(await copy.cursor('cust_bob', data.item_id)).toBeNull();
  });

  it('refuses forged deliveries: zero stored as verified, zero processed', async () => {
    const [genuine] = await processedPlaidEvents(1);
    const raw = await app.server.services.webhooks.repository.raw(genuine!.id);
    const token = raw!.headers['plaid-verification']!;
    const { kid } = decodeProtectedHeader(token);
    await app.server.services.webhooks.worker.drain();
    const before = await app.server.services.webhooks.repository.counts();

    const body = JSON.stringify({
      webhook_type: 'TRANSACTIONS',
      webhook_code: 'SYNC_UPDATES_AVAILABLE',
      item_id: itemId,
      initial_update_complete: true,
      historical_update_complete: true,
      environment: 'sandbox',
      forged: true,
    });
    const { privateKey: stranger } = await generateKeyPair('ES256');
    const strangerToken = await new SignJWT({
      request_body_sha256: createHash('sha256').update(body).digest('hex'),
    })
      .setProtectedHeader({ alg: 'ES256', kid: kid!, typ: 'JWT' })
      .setIssuedAt()
      .sign(stranger);
    const tampered = raw!.body
      .toString('utf8')
      .replace('"environment":"sandbox"', '"environment":"production"');
    expect(tampered).not.toBe(raw!.body.toString('utf8'));

    for (const [headers, payload] of [
      [{ 'plaid-verification': strangerToken }, body],
      [{ 'plaid-verification': token }, tampered],
      [{}, body],
    ] as const) {
      const response = await fetch(`${app.url}/webhooks/plaid`, {
        method: 'POST',
        headers: { 'content-type': 'application/json', ...headers },
        body: payload,
      });
      expect([400, 401]).toContain(response.status);
    }
    await app.server.services.webhooks.worker.drain();
    expect(await app.server.services.webhooks.repository.counts()).toEqual(before);
  });
});
