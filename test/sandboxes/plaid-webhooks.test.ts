/**
 * The Plaid sandbox's webhooks, received by a plain loopback listener and checked with the subgraph's
 * own verifier, whose keys come from the sandbox through the subgraph's PlaidClient while the official
 * SDK links Items and fires webhooks: the verification key endpoint, /sandbox/item/fire_webhook, and
 * SYNC_UPDATES_AVAILABLE on a change.
 */
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { decodeProtectedHeader, generateKeyPair, SignJWT } from 'jose';
import {
  Configuration,
  PlaidApi,
  Products,
  SandboxItemFireWebhookRequestWebhookCodeEnum as Code,
  WebhookType,
} from 'plaid';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { PlaidClient } from '../../datasources/plaid/client.js';
import { plaidWebhookVerifier } from '../../datasources/plaid/webhook.js';
import type { WebhookVerifier } from '../../datasources/webhook-verify.js';
import type { SandboxHandle } from '../../sandboxes/kit/sandbox.js';
import {
  PLAID_SANDBOX_CLIENT_ID,
  PLAID_SANDBOX_SECRET,
  SEEDED_ACCOUNTS,
  startPlaidSandbox,
} from '../../sandboxes/plaid/index.js';
import { createLogger } from '../../server/logger.js';
import { plaidError } from './plaid-sdk-errors.js';

interface Received {
  path: string;
  headers: Record<string, string | undefined>;
  body: Buffer;
}

let sandbox: SandboxHandle;
let api: PlaidApi;
let client: PlaidClient;
let verifier: WebhookVerifier;
let listener: Server;
let listenerUrl: string;
const received: Received[] = [];

async function listen(): Promise<void> {
  listener = createServer((req, res) => {
    const chunks: Buffer[] = [];
    req.on('data', (chunk: Buffer) => chunks.push(chunk));
    req.on('end', () => {
      const headers = Object.fromEntries(
        Object.entries(req.headers).map(([name, value]) => [name, Array.isArray(value) ? value[0] : value]),
      );
      received.push({ path: req.url ?? '/', headers, body: Buffer.concat(chunks) });
      res.writeHead(200).end();
    });
  });
  await new Promise<void>((resolve) => listener.listen(0, '127.0.0.1', resolve));
  listenerUrl = `http://127.0.0.1:${(listener.address() as AddressInfo).port}`;
}

/** Waits until the sandbox has finished every delivery it started. */
async function settled(): Promise<number> {
  const answer = await fetch(`${sandbox.url}/__sandbox/plaid/webhook_endpoints`);
  return ((await answer.json()) as { delivered: number }).delivered;
}

async function link(customer: string, webhook?: string): Promise<{ accessToken: string; itemId: string }> {
  const created = await api.sandboxPublicTokenCreate({
    institution_id: 'ins_109508',
    initial_products: [Products.Transactions],
    options: { override_username: customer, ...(webhook ? { webhook } : {}) },
  });
  const exchanged = await api.itemPublicTokenExchange({ public_token: created.data.public_token });
  return { accessToken: exchanged.data.access_token, itemId: exchanged.data.item_id };
}

const verify = (delivery: Received, body = delivery.body) =>
  verifier.verify({ body, headers: delivery.headers, receivedAt: new Date() });

beforeAll(async () => {
  await listen();
  sandbox = await startPlaidSandbox({ webhooks: { duplicateRate: 0, maxJitterMs: 0 } });
  const headers = { 'PLAID-CLIENT-ID': PLAID_SANDBOX_CLIENT_ID, 'PLAID-SECRET': PLAID_SANDBOX_SECRET };
  api = new PlaidApi(new Configuration({ basePath: sandbox.url, baseOptions: { headers } }));
  client = new PlaidClient({
    baseUrl: sandbox.url,
    clientId: PLAID_SANDBOX_CLIENT_ID,
    secret: PLAID_SANDBOX_SECRET,
  });
  const call = { correlationId: 'plaid-webhooks-test', logger: createLogger({ level: 'silent' }) };
  verifier = plaidWebhookVerifier({
    clockToleranceSeconds: 30,
    fetchKey: async (kid) => {
      try {
        return await client.getWebhookVerificationKey(call, kid);
      } catch (error) {
        if ((error as { status?: number }).status === 400) return null;
        throw error;
      }
    },
  });
}, 60_000);

afterAll(async () => {
  await sandbox?.close();
  await client?.close();
  await new Promise((resolve) => listener?.close(resolve));
});

describe('plaid sandbox webhooks', { timeout: 60_000 }, () => {
  it('refuses to fire for an Item with no webhook URL, then takes a default URL (validated)', async () => {
    const { accessToken } = await link('cust_bob');
    const code = Code.SyncUpdatesAvailable;
    const fired = await plaidError(
      api.sandboxItemFireWebhook({ access_token: accessToken, webhook_code: code }),
    );
    expect(fired).toMatchObject({ status: 400, body: { error_code: 'SANDBOX_WEBHOOK_INVALID' } });

    const bad = await fetch(`${sandbox.url}/__sandbox/plaid/webhook_endpoints`, {
      method: 'POST',
      body: JSON.stringify({ url: 'not a url' }),
    });
    expect(bad.status).toBe(400);
    const set = await fetch(`${sandbox.url}/__sandbox/plaid/webhook_endpoints`, {
      method: 'POST',
      body: JSON.stringify({ url: `${listenerUrl}/default` }),
    });
    expect(set.status).toBe(200);
    expect(await set.json()).toMatchObject({ url: `${listenerUrl}/default` });
  });

  it('fires SYNC_UPDATES_AVAILABLE signed with a key the SDK fetches and the subgraph verifier accepts', async () => {
    const { accessToken, itemId } = await link('cust_alice');
    received.length = 0;
    const { data } = await api.sandboxItemFireWebhook({
      access_token: accessToken,
      webhook_code: Code.SyncUpdatesAvailable,
    });
    expect(data).toMatchObject({
      webhook_fired: true,
      request_id: expect.stringMatching(/^[A-Za-z0-9]{15}$/),
    });
    await settled();
    expect(received).toHaveLength(1);
    const delivery = received[0]!;
    expect(delivery.path).toBe('/default');
    expect(JSON.parse(delivery.body.toString('utf8'))).toEqual({
      webhook_type: 'TRANSACTIONS',
      webhook_code: 'SYNC_UPDATES_AVAILABLE',
      item_id: itemId,
      initial_update_complete: true,
      historical_update_complete: true,
      environment: 'sandbox',
    });

    const header = decodeProtectedHeader(delivery.headers['plaid-verification'] ?? '');
    expect(header).toMatchObject({ alg: 'ES256', typ: 'JWT', kid: expect.any(String) });
    const { data: keyAnswer } = await api.webhookVerificationKeyGet({ key_id: header.kid! });
    expect(keyAnswer.key).toMatchObject({
      alg: 'ES256',
      kty: 'EC',
      crv: 'P-256',
      use: 'sig',
      kid: header.kid,
      expired_at: null,
      created_at: expect.any(Number),
    });

    const verified = await verify(delivery);
    expect(verified).toMatchObject({
      ok: true,
      event: { type: 'TRANSACTIONS.SYNC_UPDATES_AVAILABLE', resource: { kind: 'item', partnerId: itemId } },
    });
    const tampered = Buffer.from(delivery.body.toString('utf8').replace(itemId, `${itemId.slice(1)}x`));
    expect(await verify(delivery, tampered)).toMatchObject({ ok: false, reason: 'body_mismatch' });
  });

  it('answers an unknown kid with Plaid INVALID_INPUT, so a forged token is refused', async () => {
    const unknown = await plaidError(api.webhookVerificationKeyGet({ key_id: 'kid-that-never-signed' }));
    expect(unknown).toMatchObject({
      status: 400,
      body: { error_type: 'INVALID_INPUT', error_code: 'INVALID_WEBHOOK_VERIFICATION_KEY_ID' },
    });
    const bare = new PlaidApi(new Configuration({ basePath: sandbox.url }));
    expect((await plaidError(bare.webhookVerificationKeyGet({ key_id: 'x' }))).body.error_code).toBe(
      'MISSING_FIELDS',
    );

    const { privateKey } = await generateKeyPair('ES256');
    const body = Buffer.from('{"webhook_type":"TRANSACTIONS","webhook_code":"SYNC_UPDATES_AVAILABLE"}');
    const forged = await new SignJWT({ request_body_sha256: 'ab'.repeat(32) })
      .setProtectedHeader({ alg: 'ES256', kid: '00000000-0000-4000-8000-00000000dead', typ: 'JWT' })
      .setIssuedAt()
      .sign(privateKey);
    expect(
      await verifier.verify({ body, headers: { 'plaid-verification': forged }, receivedAt: new Date() }),
    ).toMatchObject({ ok: false, reason: 'unknown_key' });
  });

  it("sends SYNC_UPDATES_AVAILABLE to the Item's own webhook when the customer's transactions change", async () => {
    const own = await link('cust_bob', `${listenerUrl}/own`);
    await settled();
    received.length = 0;
    const change = await fetch(`${sandbox.url}/__sandbox/plaid/transactions`, {
      method: 'POST',
      body: JSON.stringify({
        customer: 'cust_bob',
        add: [{ account_id: SEEDED_ACCOUNTS.cust_bob![0], amount: 4.5, name: 'Coffee' }],
      }),
    });
    expect(change.status).toBe(200);
    await settled();
    const items = received.map((delivery) => ({
      path: delivery.path,
      item: (JSON.parse(delivery.body.toString('utf8')) as { item_id: string }).item_id,
    }));
    // Both of cust_bob's Items hear of it: the first at the default URL, the one linked with a webhook at its own.
    expect(items).toContainEqual({ path: '/own', item: own.itemId });
    expect(items.filter((entry) => entry.path === '/own')).toHaveLength(1);
    expect(items).toHaveLength(2);
    for (const delivery of received) expect(await verify(delivery)).toMatchObject({ ok: true });

    received.length = 0;
    await fetch(`${sandbox.url}/__sandbox/plaid/transactions`, {
      method: 'POST',
      body: JSON.stringify({ customer: 'cust_bob', remove: ['no-such-transaction'] }),
    });
    await settled();
    expect(received).toEqual([]);
  });

  it('fires DEFAULT_UPDATE and refuses codes the sandbox does not send', async () => {
    const { accessToken, itemId } = await link('cust_alice', `${listenerUrl}/legacy`);
    received.length = 0;
    const { data } = await api.sandboxItemFireWebhook({
      access_token: accessToken,
      webhook_type: WebhookType.Transactions,
      webhook_code: Code.DefaultUpdate,
    });
    expect(data.webhook_fired).toBe(true);
    await settled();
    expect(received.map((delivery) => JSON.parse(delivery.body.toString('utf8')) as unknown)).toEqual([
      {
        webhook_type: 'TRANSACTIONS',
        webhook_code: 'DEFAULT_UPDATE',
        item_id: itemId,
        error: null,
        new_transactions: 0,
        environment: 'sandbox',
      },
    ]);
    const other = await plaidError(
      api.sandboxItemFireWebhook({ access_token: accessToken, webhook_code: Code.LoginRepaired }),
    );
    expect(other).toMatchObject({ status: 400, body: { error_code: 'SANDBOX_WEBHOOK_INVALID' } });
    const token = await plaidError(
      api.sandboxItemFireWebhook({
        access_token: 'access-sandbox-unknown',
        webhook_code: Code.DefaultUpdate,
      }),
    );
    expect(token.body).toMatchObject({ error_type: 'INVALID_INPUT', error_code: 'INVALID_ACCESS_TOKEN' });
  });
});
