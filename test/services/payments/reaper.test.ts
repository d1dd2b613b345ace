import pino from 'pino';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { PaymentService } from '../../../services/payments/index.js';
import { startKeyReaper } from '../../../services/payments/reaper.js';
import { AuditLog } from '../../../store/audit.js';
import type { Db } from '../../../store/db.js';
import { IdempotencyStore } from '../../../store/idempotency.js';
import { testBackends } from '../../helpers/db.js';

const HOUR = 3_600_000;
const logger = pino({ level: 'silent' });

describe.each(testBackends())('the idempotency key reaper on $kind', (backend) => {
  let db: Db;
  beforeAll(async () => {
    db = await backend.open();
  });
  afterAll(async () => {
    await db.close();
  });

  it('deletes every finished key past retention in batches, and no unfinished key', async () => {
    let clock = new Date('2025-03-01T00:00:00Z');
    const keys = new IdempotencyStore(db, { now: () => clock });
    for (let i = 0; i < 7; i += 1) {
      const claim = await keys.claim({
        subject: 'cust_alice',
        mutation: 'initiatePayment',
        key: `reaper-key-${i}-000000000`,
        fingerprint: 'f',
        partnerKey: `trb1-reaper-${i}`,
        leaseMs: 1_000,
        retentionMs: 24 * HOUR,
      });
      if (claim.kind !== 'acquired') throw new Error('not acquired');
      if (i < 5) await keys.finish(claim.lease, { ok: i }, { retentionMs: 24 * HOUR });
    }
    const reaper = startKeyReaper(keys, logger, { batchSize: 2, intervalMs: 3_600_000 });
    try {
      expect(await reaper.sweep()).toBe(0);
      clock = new Date(clock.getTime() + 24 * HOUR + 1);
      expect(await reaper.sweep()).toBe(5);
      clock = new Date(clock.getTime() + 1000 * 24 * HOUR);
      expect(await reaper.sweep()).toBe(0);
      const [left] = await db.query<{ n: number }>(
        `SELECT count(*)::int AS n FROM idempotency_keys WHERE key LIKE 'reaper-key-%'`,
      );
      expect(left?.n).toBe(2);
    } finally {
      reaper.stop();
    }
  });

  it('refuses a retention shorter than 24 hours', () => {
    const deps = {
      db,
      audit: new AuditLog(db),
      logger,
      providers: () => {
        throw new Error('unused');
      },
    };
    expect(() => new PaymentService(deps, { partnerKeySecret: 's', retentionMs: 23 * HOUR })).toThrow(
      /24 hours/,
    );
    expect(new PaymentService(deps, { partnerKeySecret: 's' }).retentionMs).toBe(72 * HOUR);
  });
});
