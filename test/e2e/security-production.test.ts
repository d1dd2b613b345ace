import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { ATTACKS, PRODUCTION_ATTACKS, send } from './security-corpus.js';
import {
  leaksIn,
  partnerRequests,
  resetLedgers,
  startProductionApp,
  type ProductionApp,
} from './security-support.js';

let prod: ProductionApp;
let identity: Record<string, string>;
beforeAll(async () => {
  prod = await startProductionApp();
  identity = await prod.asRouter('cust_alice');
});
afterAll(() => prod?.close());

describe('the attack corpus, in production', () => {
  it.each([...ATTACKS, ...PRODUCTION_ATTACKS].map((attack) => [attack.name, attack] as const))(
    '%s: refused with its code, no partner call, no 5xx, no leak',
    async (_name, attack) => {
      resetLedgers(prod.partners, prod.app.sandboxes);
      const answer = await send(prod.app.url, identity, attack);
      expect(answer.status).toBe(attack.status);
      expect(answer.body.data ?? null).toBeNull();
      expect(answer.body.errors?.[0]?.extensions?.code).toBe(attack.code);
      expect(partnerRequests(prod.partners, prod.app.sandboxes)).toEqual({});
      expect(leaksIn(answer.body, prod.secrets())).toEqual([]);
    },
  );

  it('gives no field suggestions ("Did you mean") in production', async () => {
    for (const source of [
      '{ acounts { edges { node { id } } } }',
      '{ accounts { edges { node { idd nme } } } }',
    ]) {
      const answer = await send(prod.app.url, identity, {
        name: 'typo',
        status: 400,
        code: 'BAD_USER_INPUT',
        body: JSON.stringify({ query: source }),
      });
      expect(answer.status).toBe(400);
      expect(answer.text).not.toMatch(/did you mean/i);
    }
    // Variable coercion names enum values and input fields in its suggestions too.
    for (const [query, variables] of [
      ['query($p: Provider) { accounts(provider: $p) { edges { node { id } } } }', { p: 'PLAIDD' }],
      [
        'query($s: WebhookEventStatus) { webhookEvents(first: 1, status: $s) { edges { node { id } } } }',
        { s: 'PROCESSD' },
      ],
      [
        'mutation($i: InitiatePaymentInput!) { initiatePayment(input: $i, idempotencyKey: "k-0123456789abcdef") { userErrors { code } } }',
        { i: { amount: { amount: '1.00', currency: 'GBP' }, referenc: 'x' } },
      ],
    ] as const) {
      const answer = await send(prod.app.url, identity, {
        name: 'coercion',
        status: 400,
        code: 'BAD_USER_INPUT',
        body: JSON.stringify({ query, variables }),
      });
      expect(answer.status).toBe(400);
      expect(answer.body.errors?.[0]?.extensions?.code).toBe('BAD_USER_INPUT');
      expect(answer.text).not.toMatch(/did you mean/i);
    }
  });

  it('answers with the security headers of an API: HSTS, a CSP that allows nothing, no sniffing or framing', async () => {
    const response = await fetch(`${prod.app.url}/graphql`, {
      method: 'POST',
      headers: { ...identity, 'content-type': 'application/json' },
      body: JSON.stringify({ query: '{ consents { id } }' }),
    });
    expect(response.headers.get('strict-transport-security')).toMatch(/max-age=\d+/);
    expect(response.headers.get('content-security-policy')).toContain("default-src 'none'");
    expect(response.headers.get('x-content-type-options')).toBe('nosniff');
    expect(response.headers.get('x-frame-options')).toBe('DENY');
    expect(response.headers.get('referrer-policy')).toBe('no-referrer');
  });

  it('refuses every attack from a caller without the router secret before reading it (403, not 413)', async () => {
    const { 'router-authorization': _secret, ...withoutSecret } = identity;
    for (const attack of ATTACKS) {
      const answer = await send(prod.app.url, withoutSecret, attack);
      expect(answer.status, attack.name).toBe(403);
      expect(answer.body.errors?.[0]?.extensions?.code).toBe('FORBIDDEN');
    }
  });

  it('serves the real thing to a caller that passes every check', async () => {
    const { status, body } = await prod.app.graphql(
      '{ accounts { edges { node { id balance { current { amount } } } } } }',
      {},
      { token: null, headers: identity },
    );
    expect(status).toBe(200);
    expect(body.errors).toBeUndefined();
    expect((body.data?.accounts as { edges: unknown[] }).edges.length).toBeGreaterThan(0);
  });
});
