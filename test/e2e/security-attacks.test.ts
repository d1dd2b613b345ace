import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startTestApp, type TestApp } from '../helpers/app.js';
import { ATTACKS, send } from './security-corpus.js';
import { leaksIn, partnerRequests, resetLedgers } from './security-support.js';

let app: TestApp;
let identity: Record<string, string>;
beforeAll(async () => {
  app = await startTestApp();
  identity = { authorization: `Bearer ${await app.token('cust_alice')}` };
});
afterAll(() => app?.close());

describe('the attack corpus, in development', () => {
  it.each(ATTACKS.map((attack) => [attack.name, attack] as const))(
    '%s: refused with its code, no partner call, no 5xx, no leak',
    async (_name, attack) => {
      resetLedgers(app.sandboxes);
      const answer = await send(app.url, identity, attack);
      expect(answer.status).toBe(attack.status);
      expect(answer.body.data ?? null).toBeNull();
      expect(answer.body.errors?.[0]?.extensions?.code).toBe(attack.code);
      expect(typeof answer.body.errors?.[0]?.extensions?.correlationId).toBe('string');
      expect(partnerRequests(app.sandboxes)).toEqual({});
      expect(leaksIn(answer.body)).toEqual([]);
    },
  );

  it('answers every attack within the budget of an ordinary request', async () => {
    // The shape guard refuses before graphql's quadratic validation rules run.
    const started = performance.now();
    for (const attack of ATTACKS) await send(app.url, identity, attack);
    expect(performance.now() - started).toBeLessThan(10_000);
  });

  it('walks a fragment graph that doubles at every level in linear time', async () => {
    // 30 fragments, each spreading the next twice: 2^30 paths for a naive walk; graphql merges them.
    const fragments = Array.from(
      { length: 30 },
      (_, i) => `fragment F${i} on Query { ...F${i + 1} ...F${i + 1} }`,
    );
    const source = `query { ...F0 } ${fragments.join(' ')} fragment F30 on Query { __typename }`;
    const started = performance.now();
    const { status, body } = await app.graphql(source);
    expect(performance.now() - started).toBeLessThan(3_000);
    expect(status).toBe(200);
    expect(body.data).toEqual({ __typename: 'Query' });
  });

  it('lets a request within every limit through', async () => {
    const { status, body } = await app.graphql(
      'query($n: Int) { accounts(first: $n) { edges { node { id transactions(first: $n) { edges { node { id } } } } } } }',
      { n: 100 },
    );
    expect(status).toBe(200);
    expect(body.errors).toBeUndefined();
  });

  it('counts aliases of __typename: 30 pass, 31 do not', async () => {
    const aliases = (n: number) =>
      `{ ${Array.from({ length: n }, (_, i) => `a${i}: __typename`).join(' ')} }`;
    expect((await app.graphql(aliases(30))).status).toBe(200);
    const over = await app.graphql(aliases(31));
    expect(over.status).toBe(400);
    expect(over.body.errors?.[0]?.extensions?.code).toBe('QUERY_TOO_COMPLEX');
  });
});
