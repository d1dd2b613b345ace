/**
 * Forged Plaid deliveries cost us nothing at Plaid: each names a fresh `kid`, which would make a naive
 * verifier fetch a key from Plaid with our credentials. Against a real Tributary and the Plaid sandbox,
 * over HTTP.
 */
import { randomUUID } from 'node:crypto';
import { Writable } from 'node:stream';
import { generateKeyPair, SignJWT } from 'jose';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startTestApp, type TestApp } from '../helpers/app.js';

const lines: string[] = [];
const logs = new Writable({
  write(chunk: Buffer, _encoding, done) {
    lines.push(...chunk.toString('utf8').split('\n').filter(Boolean));
    done();
  },
});

let app: TestApp;
beforeAll(async () => {
  app = await startTestApp({ seed: false, env: { LOG_LEVEL: 'warn' }, logs });
}, 120_000);
afterAll(() => app?.close());

const keyFetches = () =>
  app.sandboxes.plaid!.handle.ledger().requests['POST /webhook_verification_key/get'] ?? 0;

async function forge(kid: string): Promise<number> {
  const { privateKey } = await generateKeyPair('ES256');
  const body = JSON.stringify({
    webhook_type: 'TRANSACTIONS',
    webhook_code: 'SYNC_UPDATES_AVAILABLE',
    item_id: 'item-x',
  });
  const jwt = await new SignJWT({ request_body_sha256: '0'.repeat(64) })
    .setProtectedHeader({ alg: 'ES256', kid, typ: 'JWT' })
    .setIssuedAt()
    .sign(privateKey);
  const response = await fetch(`${app.url}/webhooks/plaid`, {
    method: 'POST',
    headers: { 'content-type': 'application/json', 'plaid-verification': jwt },
    body,
  });
  await response.arrayBuffer();
  return response.status;
}

describe('forged Plaid webhooks', () => {
  it('cost no key fetch when their kid is not shaped like Plaid’s', async () => {
    const before = keyFetches();
    const statuses = await Promise.all(['k1', 'not-a-uuid', `${randomUUID()}x`].map(forge));
    expect(statuses.every((status) => status === 400)).toBe(true);
    expect(keyFetches()).toBe(before);
  });

  it('with 60 fresh kids cost at most the fetch budget at Plaid, and a few sampled log lines', async () => {
    const before = keyFetches();
    const logged = lines.length;
    const statuses: number[] = [];
    for (let i = 0; i < 60; i += 1) statuses.push(await forge(randomUUID()));
    expect(statuses.every((status) => status === 401 || status === 429)).toBe(true);
    expect(statuses.filter((status) => status === 429).length).toBeGreaterThan(0);
    // The verifier's budget is 10 fetches a minute, whatever the kids.
    expect(keyFetches() - before).toBeLessThanOrEqual(10);
    const refusals = lines.slice(logged).filter((line) => line.includes('Webhook delivery refused'));
    expect(refusals.length).toBeLessThanOrEqual(12);
  });
});
