import { createHash } from 'node:crypto';
import { afterAll, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { AuditLog } from '../../store/audit.js';
import type { AuditEntry } from '../../store/audit.js';
import { canonicalJson } from '../../domain/canonical-json.js';
import type { Db } from '../../store/db.js';
import { recordingDb, testBackends } from '../helpers/db.js';

const entry = (n: number, subject: string | null = 'cust_alice'): AuditEntry => ({
  actor: 'customer',
  action: 'payment.initiated',
  subject,
  target: `payment-${n}`,
  details: { amount: { minor: n * 100, currency: 'GBP' }, reference: `ref ${n}`, creditor: 'Jane Doe' },
});

describe.each(testBackends())('the audit log on $kind', (backend) => {
  let db: Db;
  let audit: AuditLog;
  beforeAll(async () => {
    db = await backend.open();
    // No timers: these tests seal when they mean to.
    audit = new AuditLog(db, { sealIntervalMs: 0, sealDelayMs: 60_000 });
  });
  afterAll(async () => {
    audit.close();
    await db.close();
  });

  /** Runs SQL the way a table owner could: with the append-only trigger switched off. */
  const asOwner = async (sql: string, params: unknown[] = []) => {
    await db.transaction(async (tx) => {
      await tx.exec('ALTER TABLE audit_log DISABLE TRIGGER USER');
      await tx.query(sql, params);
      await tx.exec('ALTER TABLE audit_log ENABLE TRIGGER USER');
    });
  };
  const appendMany = async (count: number) => {
    for (let n = 1; n <= count; n += 1) await audit.append(entry(n, n % 2 === 0 ? 'cust_bob' : 'cust_alice'));
  };

  beforeEach(async () => {
    await asOwner('DELETE FROM audit_log');
    await db.query('DELETE FROM audit_pending');
  });

  it('verifies an empty log', async () => {
    expect(await audit.verify()).toEqual({ ok: true, checked: 0 });
    expect(await audit.head()).toBeNull();
  });

  it('appends a contiguous chain that verifies', async () => {
    const first = await audit.append(entry(1));
    const second = await audit.append({ actor: 'webhook:plaid', action: 'consent.revoked' });
    expect(first.seq).toBe(1n);
    expect(second.seq).toBe(2n);
    expect(await audit.head()).toEqual(second);
    expect(await audit.verify()).toEqual({ ok: true, checked: 2, head: second });
    const rows = await db.query<{ prev_hash: string }>('SELECT prev_hash FROM audit_log ORDER BY seq');
    expect(rows.map((row) => row.prev_hash)).toEqual(['0'.repeat(64), first.hash]);
  });

  it('detects an edited non-personal field', async () => {
    await appendMany(4);
    await asOwner("UPDATE audit_log SET action = 'payment.cancelled' WHERE seq = 2");
    expect(await audit.verify()).toEqual({
      ok: false,
      checked: 1,
      brokenAt: 2n,
      reason: 'row fields do not match its hash',
    });
  });

  it('detects an edited personal payload', async () => {
    await appendMany(3);
    await asOwner(`UPDATE audit_log SET payload = replace(payload, 'Jane Doe', 'John Roe') WHERE seq = 3`);
    expect(await audit.verify()).toMatchObject({
      ok: false,
      brokenAt: 3n,
      reason: 'payload does not match its digest',
    });
  });

  it('detects a row edited with its own hash recomputed, at the next link', async () => {
    await appendMany(3);
    const [row] = await db.query<{
      seq: string;
      at: Date;
      actor: string;
      target: string;
      payload_digest: string;
      prev_hash: string;
    }>('SELECT seq, at, actor, target, payload_digest, prev_hash FROM audit_log WHERE seq = 2');
    const forged = canonicalJson({
      v: 1,
      seq: row!.seq,
      at: row!.at.toISOString(),
      actor: row!.actor,
      action: 'payment.cancelled',
      target: row!.target,
      payloadDigest: row!.payload_digest,
      prevHash: row!.prev_hash,
    });
    const hash = createHash('sha256').update(forged).digest('hex');
    await asOwner("UPDATE audit_log SET action = 'payment.cancelled', hash = $1 WHERE seq = 2", [hash]);
    expect(await audit.verify()).toMatchObject({
      ok: false,
      checked: 2,
      brokenAt: 3n,
      reason: "prev_hash does not match the previous row's hash",
    });
  });

  it('detects a deleted row', async () => {
    await appendMany(4);
    await asOwner('DELETE FROM audit_log WHERE seq = 2');
    expect(await audit.verify()).toMatchObject({
      ok: false,
      checked: 1,
      brokenAt: 2n,
      reason: expect.stringMatching(/expected row 2 but found row 3/),
    });
  });

  it('detects the first row deleted', async () => {
    await appendMany(2);
    await asOwner('DELETE FROM audit_log WHERE seq = 1');
    expect(await audit.verify()).toMatchObject({ ok: false, checked: 0, brokenAt: 1n });
  });

  it('detects reordered rows', async () => {
    await appendMany(4);
    await asOwner('UPDATE audit_log SET seq = 100 WHERE seq = 2');
    await asOwner('UPDATE audit_log SET seq = 2 WHERE seq = 3');
    await asOwner('UPDATE audit_log SET seq = 3 WHERE seq = 100');
    expect(await audit.verify()).toMatchObject({ ok: false, brokenAt: 2n });
  });

  it('detects a cut tail against an anchor kept elsewhere', async () => {
    await appendMany(3);
    const anchor = await audit.head();
    await asOwner('DELETE FROM audit_log WHERE seq = 3');
    expect(await audit.verify()).toMatchObject({ ok: true, checked: 2 });
    expect(await audit.verify({ anchor: anchor! })).toMatchObject({ ok: false, brokenAt: 3n });
  });

  it('verifies across batch boundaries', async () => {
    await appendMany(7);
    expect(await audit.verify({ batchSize: 3 })).toMatchObject({ ok: true, checked: 7 });
    await asOwner("UPDATE audit_log SET actor = 'operator:1' WHERE seq = 6");
    expect(await audit.verify({ batchSize: 3 })).toMatchObject({ ok: false, checked: 5, brokenAt: 6n });
  });

  it("erases a subject's payloads, keeps their digests, and still verifies", async () => {
    await appendMany(4);
    const digests = await db.query('SELECT seq, payload_digest FROM audit_log ORDER BY seq');
    expect(await audit.erase('cust_alice')).toBe(2);
    const rows = await db.query<{
      seq: string;
      subject: string | null;
      payload: string | null;
      erased_at: Date | null;
    }>('SELECT seq, subject, payload, erased_at FROM audit_log ORDER BY seq');
    expect(rows.filter((row) => row.erased_at).map((row) => row.seq)).toEqual(['1', '3']);
    expect(
      rows.filter((row) => row.erased_at).every((row) => row.subject === null && row.payload === null),
    ).toBe(true);
    expect(rows.filter((row) => !row.erased_at).every((row) => row.subject === 'cust_bob')).toBe(true);
    expect(JSON.stringify(rows)).not.toContain('cust_alice');
    expect(await db.query('SELECT seq, payload_digest FROM audit_log ORDER BY seq')).toEqual(digests);
    expect(await audit.verify()).toMatchObject({ ok: true, checked: 4 });
  });

  it('detects personal data put back into an erased row', async () => {
    await appendMany(2);
    await audit.erase('cust_bob');
    await asOwner(`UPDATE audit_log SET payload = '{}' WHERE seq = 2`);
    expect(await audit.verify()).toMatchObject({
      ok: false,
      brokenAt: 2n,
      reason: 'erased row still holds personal data',
    });
  });

  it('refuses updates, deletes and truncation from ordinary writers', async () => {
    await appendMany(2);
    await expect(db.query("UPDATE audit_log SET action = 'x' WHERE seq = 1")).rejects.toThrow(
      /can only be erased/,
    );
    await expect(db.query('DELETE FROM audit_log WHERE seq = 2')).rejects.toThrow(/append-only/);
    await expect(db.query('TRUNCATE audit_log')).rejects.toThrow(/append-only/);
    expect(await audit.verify()).toMatchObject({ ok: true, checked: 2 });
  });

  it("rolls a staged entry back with the caller's transaction", async () => {
    await audit.append(entry(1));
    await expect(
      db.transaction(async (tx) => {
        await audit.stage(entry(2), tx);
        throw new Error('the change failed');
      }),
    ).rejects.toThrow('the change failed');
    expect(await audit.seal()).toBe(0);
    expect((await audit.append(entry(3))).seq).toBe(2n);
    expect(await audit.verify()).toMatchObject({ ok: true, checked: 2 });
  });

  // Needs two transactions open at once: PostgreSQL only (PGlite has one connection).
  it.runIf(backend.openPeer)(
    'chains staged entries only once their transaction committed, in the order they were staged',
    async () => {
      let release!: () => void;
      const held = new Promise<void>((resolve) => (release = resolve));
      let staged!: () => void;
      const inside = new Promise<void>((resolve) => (staged = resolve));
      const open = db.transaction(async (tx) => {
        await audit.stage(entry(1), tx);
        staged();
        await held;
      });
      await inside;
      expect(await audit.seal()).toBe(0);
      expect(await db.query('SELECT seq FROM audit_log')).toEqual([]);
      release();
      await open;
      await db.transaction(async (tx) => {
        await audit.stage(entry(2), tx);
        await audit.stage(entry(3, null), tx);
      });
      expect(await audit.seal()).toBe(3);
      const rows = await db.query<{ seq: string; target: string }>(
        'SELECT seq, target FROM audit_log ORDER BY seq',
      );
      expect(rows.map((row) => [Number(row.seq), row.target])).toEqual([
        [1, 'payment-1'],
        [2, 'payment-2'],
        [3, 'payment-3'],
      ]);
      expect(await db.query('SELECT id FROM audit_pending')).toEqual([]);
      expect(await audit.verify()).toMatchObject({ ok: true, checked: 3 });
    },
  );

  it('chains committed staged entries in the order they were staged', async () => {
    await db.transaction(async (tx) => {
      await audit.stage(entry(1), tx);
      await audit.stage(entry(2, null), tx);
    });
    await db.transaction((tx) => audit.stage(entry(3), tx));
    expect(await db.query('SELECT seq FROM audit_log')).toEqual([]);
    expect(await audit.seal()).toBe(3);
    const rows = await db.query<{ target: string }>('SELECT target FROM audit_log ORDER BY seq');
    expect(rows.map((row) => row.target)).toEqual(['payment-1', 'payment-2', 'payment-3']);
    expect(await audit.verify()).toMatchObject({ ok: true, checked: 3 });
  });

  it('seals a batch in one transaction of three statements: the lock, the batch with the last link, the append', async () => {
    await audit.append(entry(1));
    await db.transaction(async (tx) => {
      for (let n = 2; n <= 4; n += 1) await audit.stage(entry(n), tx);
    });
    const recorded = recordingDb(db);
    const sealer = new AuditLog(recorded.db, { sealIntervalMs: 0, sealDelayMs: 60_000 });
    try {
      expect(await sealer.seal()).toBe(3);
      const shape = (sql: string) => sql.trim().split(/\s+/).slice(0, 2).join(' ');
      expect(recorded.statements.map(shape)).toEqual([
        'BEGIN',
        "SELECT pg_advisory_xact_lock(hashtextextended('tributary.audit.'",
        'SELECT id,',
        'WITH sealed',
        'COMMIT',
      ]);
      expect(await db.query('SELECT id FROM audit_pending')).toEqual([]);
      expect(await audit.verify()).toMatchObject({ ok: true, checked: 4 });
    } finally {
      sealer.close();
    }
  });

  it('sweeps an idle chain with one lock-free read, and seals what waits', async () => {
    const recorded = recordingDb(db);
    const sweeper = new AuditLog(recorded.db, { sealIntervalMs: 0, sealDelayMs: 60_000 });
    try {
      expect(await sweeper.sweep()).toBe(0);
      expect(recorded.statements.map((sql) => sql.trim().split(/\s+/).slice(0, 3).join(' '))).toEqual([
        'SELECT EXISTS (SELECT',
      ]);
      await db.transaction((tx) => audit.stage(entry(1), tx));
      recorded.statements.length = 0;
      expect(await sweeper.sweep()).toBe(1);
      expect(recorded.statements).toContain('BEGIN');
      expect(await audit.verify()).toMatchObject({ ok: true, checked: 1 });
    } finally {
      sweeper.close();
    }
  });

  it('seals in batches and interleaves with direct appends without forking the chain', async () => {
    const small = new AuditLog(db, { sealIntervalMs: 0, sealDelayMs: 60_000, batchSize: 7 });
    try {
      await Promise.all(
        Array.from({ length: 30 }, (_, n) =>
          n % 10 === 0 ? small.append(entry(n)) : db.transaction((tx) => small.stage(entry(n), tx)),
        ),
      );
      await small.seal();
      expect(await small.verify()).toMatchObject({ ok: true, checked: 30 });
    } finally {
      small.close();
    }
  });

  it('erases staged entries too, and they join the chain erased', async () => {
    await db.transaction((tx) => audit.stage(entry(1, 'cust_erased'), tx));
    await db.transaction((tx) => audit.stage(entry(2, 'cust_kept'), tx));
    expect(await audit.erase('cust_erased')).toBe(1);
    await audit.seal();
    const rows = await db.query<{ subject: string | null; payload: string | null; erased_at: Date | null }>(
      'SELECT subject, payload, erased_at FROM audit_log ORDER BY seq',
    );
    expect(rows[0]).toMatchObject({ subject: null, payload: null });
    expect(rows[0]?.erased_at).toBeInstanceOf(Date);
    expect(rows[1]?.subject).toBe('cust_kept');
    expect(JSON.stringify(await db.query('SELECT * FROM audit_log'))).not.toContain('cust_erased');
    expect(await audit.verify()).toMatchObject({ ok: true, checked: 2 });
  });

  it('seals by itself shortly after a stage', async () => {
    const eager = new AuditLog(db, { sealIntervalMs: 0, sealDelayMs: 1 });
    try {
      await db.transaction((tx) => eager.stage(entry(1), tx));
      // The stage's own timer may have fired before the commit; the one after commit cannot miss it.
      eager.sealSoon();
      while ((await db.query('SELECT seq FROM audit_log')).length === 0) {
        await new Promise((resolve) => setImmediate(resolve));
      }
      expect(await db.query('SELECT id FROM audit_pending')).toEqual([]);
    } finally {
      eager.close();
    }
  });

  it('keeps one chain under concurrent appends', async () => {
    await Promise.all(Array.from({ length: 25 }, (_, n) => audit.append(entry(n))));
    expect(await audit.verify()).toMatchObject({ ok: true, checked: 25 });
  });

  it.runIf(backend.openPeer)(
    'keeps one chain when two replicas seal staged entries at the same time',
    async () => {
      const peer = await backend.openPeer!(db);
      const other = new AuditLog(peer, { sealIntervalMs: 0, sealDelayMs: 60_000, batchSize: 5 });
      try {
        await Promise.all(
          Array.from({ length: 40 }, (_, n) =>
            (n % 2 === 0 ? db : peer).transaction((tx) => (n % 2 === 0 ? audit : other).stage(entry(n), tx)),
          ),
        );
        await Promise.all([audit.seal(), other.seal(), audit.seal(), other.seal()]);
        expect(await audit.verify()).toMatchObject({ ok: true, checked: 40 });
      } finally {
        other.close();
        await peer.close();
      }
    },
  );

  it.runIf(backend.openPeer)('keeps one chain when two replicas append at the same time', async () => {
    const peer = await backend.openPeer!(db);
    try {
      const other = new AuditLog(peer, { sealIntervalMs: 0 });
      const links = await Promise.all(
        Array.from({ length: 40 }, (_, n) => (n % 2 === 0 ? audit : other).append(entry(n))),
      );
      expect(links.map((link) => link.seq).sort((a, b) => Number(a - b))).toEqual(
        Array.from({ length: 40 }, (_, n) => BigInt(n + 1)),
      );
      expect(await audit.verify()).toMatchObject({ ok: true, checked: 40 });
    } finally {
      await peer.close();
    }
  });
});
