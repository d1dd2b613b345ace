import { afterAll, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import type { Db } from '../../store/db.js';
import { AuditLog } from '../../store/audit.js';
import { WebhookRepository, type NewWebhookEvent, type RecordWith } from '../../store/webhooks.js';
import { recordingDb, testBackends } from '../helpers/db.js';

const T0 = new Date('2026-01-15T12:00:00Z');
const at = (seconds: number) => new Date(T0.getTime() + seconds * 1000);

function delivery(id: string, overrides: Partial<NewWebhookEvent> = {}): NewWebhookEvent {
  return {
    provider: 'stripe',
    event: {
      partnerEventId: id,
      type: 'payment_intent.succeeded',
      resource: { kind: 'payment', partnerId: 'pi_1' },
      occurredAt: null,
    },
    body: Buffer.from(`{"id":"${id}"}`),
    headers: { 'stripe-signature': 't=1,v1=00' },
    verification: 'stripe-signature-v1',
    receivedAt: T0,
    ...overrides,
  };
}

describe.each(testBackends())('webhook inbox on $kind', { timeout: 120_000 }, (backend) => {
  let db: Db;
  let repo: WebhookRepository;
  beforeAll(async () => {
    db = await backend.open();
    repo = new WebhookRepository(db);
  });
  beforeEach(async () => {
    await db.query('DELETE FROM webhook_events');
  });
  afterAll(async () => db.close());

  it('stores an event once per (provider, event id) and counts duplicates', async () => {
    const first = await repo.insert(delivery('evt_1'));
    const again = await repo.insert(delivery('evt_1'));
    const elsewhere = await repo.insert(delivery('evt_1', { provider: 'plaid' }));
    expect(first.inserted).toBe(true);
    expect(again).toEqual({ id: first.id, inserted: false });
    expect(elsewhere.inserted).toBe(true);
    expect((await repo.get(first.id))?.duplicates).toBe(1);
    expect((await repo.raw(first.id))?.body.toString()).toBe('{"id":"evt_1"}');
  });

  it('gives each due row to one claimant and skips rows another holds', async () => {
    for (const id of ['a', 'b', 'c']) await repo.insert(delivery(id));
    const [one, two] = await Promise.all([
      repo.claim('w1', 2, at(1), at(61)),
      repo.claim('w2', 2, at(1), at(61)),
    ]);
    const ids = [...one, ...two].map((row) => row.partnerEventId).sort();
    expect(ids).toEqual(['a', 'b', 'c']);
    expect(await repo.claim('w3', 5, at(2), at(62))).toEqual([]);
  });

  it('claims, and ends a claim with nothing to record, in one statement each, without a transaction', async () => {
    await repo.insert(delivery('one-statement'));
    const recorded = recordingDb(db);
    const counted = new WebhookRepository(recorded.db);
    const [claimed] = await counted.claim('w1', 5, at(1), at(61));
    expect(claimed?.partnerEventId).toBe('one-statement');
    expect(await counted.complete(claimed!.id, 'w1', 'ignored', at(2))).toBe(true);
    expect(recorded.statements.map((sql) => sql.trim().split(/\s+/)[0])).toEqual(['UPDATE', 'UPDATE']);
    // The lease still guards the single statement: another owner ends nothing.
    expect(await counted.complete(claimed!.id, 'w2', 'processed', at(3))).toBe(false);
    expect((await repo.get(claimed!.id))?.status).toBe('ignored');
    // With audit entries, the mark and the entries are one statement: both or neither.
    const audit = new AuditLog(db, { sealIntervalMs: 0, sealDelayMs: 60_000 });
    try {
      const entry = { actor: 'webhook:stripe', action: 'webhook.processed', target: 'one-statement' };
      const record: RecordWith = (q, guarded) =>
        audit.stageWith(q, guarded, [entry, { ...entry, target: 'two' }]);
      await repo.insert(delivery('recorded'));
      const [again] = await counted.claim('w1', 5, at(4), at(64));
      recorded.statements.length = 0;
      expect(await counted.complete(again!.id, 'w2', 'processed', at(5), record)).toBe(false);
      expect(await counted.complete(again!.id, 'w1', 'processed', at(5), record)).toBe(true);
      expect(recorded.statements.map((sql) => sql.trim().split(/\s+/)[0])).toEqual(['WITH', 'WITH']);
      expect((await repo.get(again!.id))?.status).toBe('processed');
      const staged = await db.query<{ target: string }>(
        "SELECT target FROM audit_pending WHERE actor = 'webhook:stripe' ORDER BY id",
      );
      expect(staged.map((row) => row.target)).toEqual(['one-statement', 'two']);
    } finally {
      audit.close();
      await db.query('DELETE FROM audit_pending');
    }
  });

  it('reclaims a row whose lease lapsed and refuses the old owner', async () => {
    const { id } = await repo.insert(delivery('evt_1'));
    await repo.claim('dead-worker', 1, at(1), at(31));
    const [again] = await repo.claim('w2', 1, at(32), at(92));
    expect(again).toMatchObject({ id, attempts: 2 });
    expect(await repo.complete(id, 'dead-worker', 'processed', at(33))).toBe(false);
    expect(await repo.complete(id, 'w2', 'processed', at(33))).toBe(true);
    expect(await repo.get(id)).toMatchObject({ status: 'processed', processedAt: at(33) });
  });

  it('retries later, goes dead, and is replayed by id or time', async () => {
    const { id } = await repo.insert(delivery('evt_1'));
    await repo.claim('w', 1, at(1), at(61));
    await repo.fail(id, 'w', 'partner down', at(10));
    expect(await repo.claim('w', 1, at(5), at(65))).toEqual([]);
    await repo.claim('w', 1, at(10), at(70));
    await repo.fail(id, 'w', 'still down', null);
    expect(await repo.get(id)).toMatchObject({ status: 'dead', attempts: 2, lastError: 'still down' });
    expect(await repo.replay({ id }, at(100))).toEqual([id]);
    expect(await repo.get(id)).toMatchObject({ status: 'pending', attempts: 0, lastError: null });
    expect(await repo.replay({ since: at(1) }, at(100))).toEqual([]);
    expect(await repo.replay({ since: at(-1) }, at(100))).toEqual([id]);
  });

  it('lists newest first with filters and a keyset cursor', async () => {
    for (let i = 0; i < 5; i += 1) await repo.insert(delivery(`evt_${i}`, { receivedAt: at(i) }));
    await repo.insert(delivery('plaid_1', { provider: 'plaid', receivedAt: at(10) }));
    const page = await repo.list({ limit: 2, provider: 'stripe' });
    expect(page.map((row) => row.partnerEventId)).toEqual(['evt_4', 'evt_3']);
    const next = await repo.list({
      limit: 10,
      provider: 'stripe',
      before: { receivedAt: page[1]!.receivedAt, id: page[1]!.id },
    });
    expect(next.map((row) => row.partnerEventId)).toEqual(['evt_2', 'evt_1', 'evt_0']);
    expect((await repo.list({ limit: 10, since: at(4) })).length).toBe(2);
    expect((await repo.list({ limit: 10, statuses: ['dead'] })).length).toBe(0);
    expect(await repo.counts()).toMatchObject({ pending: 6, dead: 0 });
  });
});
