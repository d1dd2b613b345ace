/**
 * The operator surface over GraphQL (ops scopes): webhookEvents lists the inbox with filters and
 * cursors, replayWebhookEvent queues an event again and is audited; customers see neither.
 */
import pino from 'pino';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { buildApp, type App } from '../../server/app.js';
import { generateDevKey, signDevToken, type DevSigningKey } from '../../server/auth.js';
import { DEV_AUDIENCE, DEV_ISSUER, loadConfig } from '../../server/config.js';
import { closeServices, createServices, type Services } from '../../server/wiring.js';
import { openDatabase } from '../../store/db.js';
import { parseSince } from '../../cli/webhooks.js';
import { deliverStripeEvents } from '../helpers/stripe-events.js';

let services: Services;
let app: App;
let key: DevSigningKey;

interface Node {
  id: string;
  partnerEventId: string;
  status: string;
}
interface Page {
  edges: { cursor: string; node: Node }[];
  pageInfo: { hasNextPage: boolean; endCursor: string | null };
}

const token = (subject: string, scopes: string[]) =>
  signDevToken(key, { subject, scopes, issuer: DEV_ISSUER, audience: DEV_AUDIENCE });

async function graphql(query: string, variables: Record<string, unknown>, bearer: string) {
  const response = await app.fastify.inject({
    method: 'POST',
    url: '/graphql',
    headers: { 'content-type': 'application/json', authorization: `Bearer ${bearer}` },
    payload: JSON.stringify({ query, variables }),
  });
  return response.json() as {
    data?: Record<string, Page & Record<string, unknown>> | null;
    errors?: { extensions?: { code?: string } }[];
  };
}

const LIST = `query($status: WebhookEventStatus, $after: String, $provider: Provider) {
  webhookEvents(first: 2, status: $status, after: $after, provider: $provider) {
    edges { cursor node { id provider partnerEventId type status attempts receivedAt processedAt lastError } }
    pageInfo { hasNextPage endCursor }
  }
}`;
const REPLAY = `mutation($id: ID!) { replayWebhookEvent(id: $id) { webhookEvent { id status attempts } userErrors { code message } } }`;

beforeAll(async () => {
  key = await generateDevKey();
  services = await createServices(
    loadConfig({ NODE_ENV: 'test', LOG_LEVEL: 'silent' }),
    pino({ level: 'silent' }),
    {
      db: await openDatabase({ dataDir: 'memory://' }),
      devKey: key,
    },
  );
  app = await buildApp(services);
  await deliverStripeEvents(app, ['evt_a', 'evt_b', 'evt_c']);
}, 120_000);

afterAll(async () => {
  await app.fastify.close();
  await closeServices(services);
});

describe('webhook operations over GraphQL', () => {
  it('lists events newest first with cursors and filters', async () => {
    const ops = await token('ops_oncall', ['ops:read']);
    const first = await graphql(LIST, {}, ops);
    expect(first.errors).toBeUndefined();
    const page = first.data!.webhookEvents!;
    expect(page.edges.map((edge) => edge.node.partnerEventId)).toEqual(['evt_c', 'evt_b']);
    expect(page.edges[0]!.node).toMatchObject({
      provider: 'STRIPE',
      status: 'RECEIVED',
      attempts: 0,
      type: 'customer.created',
    });
    expect(page.pageInfo.hasNextPage).toBe(true);
    const next = await graphql(LIST, { after: page.pageInfo.endCursor }, ops);
    expect(next.data!.webhookEvents!.edges.map((edge) => edge.node.partnerEventId)).toEqual(['evt_a']);
    expect((await graphql(LIST, { status: 'DEAD_LETTER' }, ops)).data!.webhookEvents!.edges).toEqual([]);
    expect((await graphql(LIST, { provider: 'PLAID' }, ops)).data!.webhookEvents!.edges).toEqual([]);
  });

  it('replays an event once it has been handled, audited with the operator', async () => {
    await services.webhooks.worker.drain();
    const ops = await token('ops_oncall', ['ops:read', 'ops:write']);
    const listed = await graphql(LIST, {}, ops);
    const node = listed.data!.webhookEvents!.edges[0]!.node;
    expect(node.status).toBe('IGNORED');
    const replayed = await graphql(REPLAY, { id: node.id }, ops);
    expect(replayed.data!.replayWebhookEvent).toEqual({
      webhookEvent: { id: node.id, status: 'RECEIVED', attempts: 0 },
      userErrors: [],
    });
    const audit = await services.db.query<{ action: string; actor: string }>(
      "SELECT action, actor FROM audit_log WHERE action = 'webhook.replayed'",
    );
    expect(audit).toEqual([{ action: 'webhook.replayed', actor: 'operator:ops_oncall' }]);
    const unknown = await graphql(REPLAY, { id: '00000000-0000-4000-8000-000000000000' }, ops);
    expect(unknown.errors?.[0]?.extensions?.code).toBe('NOT_FOUND');
  });

  it('refuses customers and read-only operators', async () => {
    const customer = await token('cust_alice', ['payments:read', 'payments:write']);
    expect((await graphql(LIST, {}, customer)).errors?.[0]?.extensions?.code).toBe('FORBIDDEN');
    const reader = await token('ops_oncall', ['ops:read']);
    expect((await graphql(REPLAY, { id: 'x' }, reader)).errors?.[0]?.extensions?.code).toBe('FORBIDDEN');
  });

  it('reads --since as ISO or as a duration back from now', () => {
    const now = new Date('2026-01-15T12:00:00Z');
    expect(parseSince('6h', now).toISOString()).toBe('2026-01-15T06:00:00.000Z');
    expect(parseSince('2026-01-01T00:00:00Z', now).toISOString()).toBe('2026-01-01T00:00:00.000Z');
  });
});
