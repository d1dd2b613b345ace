import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { Db } from '../../store/db.js';
import { ReconciliationRepository, type NewReconciliationRun } from '../../store/reconciliation.js';
import { testBackends } from '../helpers/db.js';

const DAY = 86_400_000;

function run(finishedAt: Date, overrides: Partial<NewReconciliationRun> = {}): NewReconciliationRun {
  return {
    actor: 'operator:oncall',
    providers: ['stripe', 'openbanking'],
    apply: false,
    startedAt: new Date(finishedAt.getTime() - 1_000),
    finishedAt,
    checked: 3,
    matched: 2,
    discrepancies: [
      {
        kind: 'behind',
        provider: 'stripe',
        paymentId: 'UGF5bWVudDpzdHJpcGU6cGlfMQ',
        ours: 'PROCESSING',
        partner: 'SETTLED',
        applied: false,
        detail: 'the partner settled it',
      },
    ],
    ...overrides,
  };
}

describe.each(testBackends())('reconciliation runs on $kind', { timeout: 120_000 }, (backend) => {
  let db: Db;
  let repo: ReconciliationRepository;
  beforeAll(async () => {
    db = await backend.open();
    repo = new ReconciliationRepository(db);
  });
  afterAll(async () => db.close());

  it('keeps each run with its discrepancies and answers the newest first', async () => {
    const older = await repo.record(run(new Date('2026-12-01T10:00:00Z')));
    const newer = await repo.record(run(new Date('2026-12-01T11:00:00Z'), { matched: 3, discrepancies: [] }));
    const [latest, previous] = await repo.latest(2);
    expect(latest).toEqual(newer);
    expect(previous).toEqual(older);
    expect(previous!.discrepancies[0]).toMatchObject({ kind: 'behind', partner: 'SETTLED' });
  });

  it('prunes runs older than 90 days when a new one is recorded', async () => {
    const now = new Date('2027-06-01T00:00:00Z');
    await repo.record(run(new Date(now.getTime() - 91 * DAY)));
    const kept = await repo.record(run(new Date(now.getTime() - 89 * DAY)));
    await repo.record(run(now));
    const all = await repo.latest(100);
    expect(all.every((entry) => entry.finishedAt.getTime() >= now.getTime() - 90 * DAY)).toBe(true);
    expect(all.map((entry) => entry.id)).toContain(kept.id);
  });
});
