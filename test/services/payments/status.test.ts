import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { PaymentStatus } from '../../../domain/model.js';
import { encodeId } from '../../../domain/ids.js';
import { PaymentLedger } from '../../../services/payments/ledger.js';
import {
  isCancellable,
  isRefundable,
  isTerminal,
  transitionPath,
  TRANSITIONS,
} from '../../../services/payments/status.js';
import type { Db } from '../../../store/db.js';
import { PaymentRepository } from '../../../store/payments.js';
import { recordingDb, testBackends } from '../../helpers/db.js';
import { mulberry32 } from '../../helpers/random.js';

const SUCCESS: PaymentStatus[] = [
  'PENDING',
  'REQUIRES_ACTION',
  'PROCESSING',
  'AUTHORISED',
  'SETTLED',
  'PARTIALLY_REFUNDED',
  'REFUNDED',
];

/** Every real history: the success chain, and each prefix before settlement ending in FAILED or CANCELLED. */
const HISTORIES: PaymentStatus[][] = [
  SUCCESS,
  ...[1, 2, 3, 4].flatMap((n) => [
    [...SUCCESS.slice(0, n), 'FAILED' as const],
    [...SUCCESS.slice(0, n), 'CANCELLED' as const],
  ]),
];

function fold(start: PaymentStatus, reports: readonly PaymentStatus[]): PaymentStatus {
  return reports.reduce((status, report) => transitionPath(status, report).at(-1) ?? status, start);
}

/** A deterministic shuffle. */
function shuffled<T>(items: readonly T[], seed: number): T[] {
  const random = mulberry32(seed);
  const copy = [...items];
  for (let i = copy.length - 1; i > 0; i -= 1) {
    const j = Math.floor(random() * (i + 1));
    [copy[i], copy[j]] = [copy[j]!, copy[i]!];
  }
  return copy;
}

describe('the payment state machine', () => {
  it('never moves backwards', () => {
    expect(transitionPath('SETTLED', 'PENDING')).toEqual([]);
    expect(transitionPath('SETTLED', 'PROCESSING')).toEqual([]);
    expect(transitionPath('REFUNDED', 'PARTIALLY_REFUNDED')).toEqual([]);
    expect(transitionPath('AUTHORISED', 'REQUIRES_ACTION')).toEqual([]);
  });

  it('ends in FAILED and CANCELLED, and cannot fail after settling', () => {
    for (const status of SUCCESS) {
      expect(transitionPath('FAILED', status)).toEqual([]);
      expect(transitionPath('CANCELLED', status)).toEqual([]);
    }
    expect(transitionPath('SETTLED', 'FAILED')).toEqual([]);
    expect(transitionPath('SETTLED', 'CANCELLED')).toEqual([]);
    expect(isTerminal('FAILED') && isTerminal('CANCELLED') && isTerminal('REFUNDED')).toBe(true);
  });

  it('refunds only after settlement: a refund reported first records the settlement it implies', () => {
    expect(transitionPath('AUTHORISED', 'REFUNDED')).toEqual(['SETTLED', 'REFUNDED']);
    expect(transitionPath('PENDING', 'PARTIALLY_REFUNDED')).toEqual(['SETTLED', 'PARTIALLY_REFUNDED']);
    expect(transitionPath('CANCELLED', 'REFUNDED')).toEqual([]);
    expect(transitionPath('SETTLED', 'SETTLED')).toEqual([]);
  });

  it('reaches the same status whatever order the reports of one history arrive in', () => {
    for (const history of HISTORIES) {
      const final = history.at(-1)!;
      for (let seed = 1; seed <= 200; seed += 1) {
        const reports = shuffled(history, seed);
        const withDuplicates = [...reports, ...shuffled(history, seed + 1000).slice(0, 3)];
        expect(fold('PENDING', withDuplicates), `${history.join('>')} as ${reports.join(',')}`).toBe(final);
      }
    }
  });

  it('keeps a report covered once it is covered: a status read earlier may stand in for the current one', () => {
    const ALL = Object.keys(TRANSITIONS) as PaymentStatus[];
    /** Every status a payment holding `from` can reach by later reports. */
    const reachable = (from: PaymentStatus): Set<PaymentStatus> => {
      const seen = new Set<PaymentStatus>([from]);
      for (const status of seen)
        for (const report of ALL) for (const step of transitionPath(status, report)) seen.add(step);
      return seen;
    };
    let checked = 0;
    for (const earlier of ALL) {
      for (const report of ALL.filter((status) => transitionPath(earlier, status).length === 0)) {
        for (const now of reachable(earlier)) {
          expect(transitionPath(now, report), `${earlier} -> ${now}, report ${report}`).toEqual([]);
          checked += 1;
        }
      }
    }
    expect(checked).toBeGreaterThan(50);
  });

  it('knows what can be cancelled and refunded', () => {
    expect(SUCCESS.filter(isCancellable)).toEqual(['PENDING', 'REQUIRES_ACTION', 'PROCESSING', 'AUTHORISED']);
    expect(SUCCESS.filter(isRefundable)).toEqual(['SETTLED', 'PARTIALLY_REFUNDED']);
  });
});

describe.each(testBackends())('applyStatus on $kind', (backend) => {
  let db: Db;
  let ledger: PaymentLedger;
  beforeAll(async () => {
    db = await backend.open();
    ledger = new PaymentLedger(db, new PaymentRepository(db));
  });
  afterAll(async () => {
    await db.close();
  });

  let serial = 0;
  async function newPayment(): Promise<string> {
    serial += 1;
    const partnerId = `pi_status_${serial}`;
    const id = encodeId('Payment', 'stripe', partnerId);
    await ledger.repository.insert(db, {
      id,
      provider: 'stripe',
      partnerId,
      ownerId: 'cust_alice',
      status: 'PENDING',
      amount: { minor: 500n, currency: 'GBP' },
      debtorAccountId: null,
      creditor: null,
      reference: 'status test',
      createdAt: new Date(),
      updatedAt: new Date(),
      failureReason: null,
      nextAction: null,
      events: [],
      refunds: [],
    });
    return id;
  }

  it.each(['PENDING', 'REQUIRES_ACTION', 'PROCESSING', 'SETTLED', 'FAILED', 'REFUNDED'] as const)(
    'records a just-created %s payment in one statement exactly as record() and a read would',
    async (status) => {
      const at = new Date('2026-03-01T10:00:00.123Z');
      const created = (partnerId: string) => ({
        id: encodeId('Payment', 'stripe', partnerId),
        provider: 'stripe',
        partnerId,
        ownerId: 'cust_alice',
        status,
        amount: { minor: 1234n, currency: 'GBP' },
        debtorAccountId: null,
        creditor: { name: 'Jane Doe', sortCode: '040004', accountNumber: '12345678', iban: null },
        reference: 'equivalence',
        createdAt: new Date('2026-03-01T09:59:59.000Z'),
        updatedAt: new Date('2026-03-01T09:59:59.000Z'),
        failureReason: status === 'FAILED' ? 'card_declined' : null,
        nextAction:
          status === 'REQUIRES_ACTION'
            ? { type: 'THREE_D_SECURE' as const, url: 'https://bank.example/3ds' }
            : null,
        events: [],
        refunds: [],
      });
      const report = { source: 'API' as const, detail: 'initiatePayment', at };
      serial += 1;
      const fast = created(`pi_fast_${status}_${serial}`);
      const slow = created(`pi_slow_${status}_${serial}`);
      const statements: string[] = [];
      const stored = await db.transaction((tx) =>
        ledger.recordCreated(
          {
            query: (sql, params) => {
              statements.push(sql);
              return tx.query(sql, params);
            },
            exec: (sql) => tx.exec(sql),
          },
          fast,
          report,
        ),
      );
      expect(statements).toHaveLength(1);
      await db.transaction(async (tx) => {
        await ledger.record(tx, slow, report);
      });
      const read = await ledger.get('cust_alice', slow.id);
      const comparable = (payment: typeof read) => ({ ...payment, id: 'x', partnerId: 'x' });
      expect(comparable(stored)).toEqual(comparable(read));
      expect(comparable(await ledger.get('cust_alice', fast.id))).toEqual(comparable(read));
      // Recording it again (a resumed attempt) changes nothing and answers the stored payment.
      expect(await db.transaction((tx) => ledger.recordCreated(tx, fast, report))).toEqual(stored);
    },
  );

  it('is idempotent, ignores stale reports and records the history of what it applied', async () => {
    const id = await newPayment();
    expect(await ledger.applyStatus(id, 'SETTLED', { source: 'WEBHOOK' })).toEqual({
      from: 'PENDING',
      to: 'SETTLED',
      changed: true,
    });
    expect(await ledger.applyStatus(id, 'SETTLED', { source: 'WEBHOOK' })).toEqual({
      from: 'SETTLED',
      to: 'SETTLED',
      changed: false,
    });
    expect(await ledger.applyStatus(id, 'PENDING', { source: 'RECONCILIATION' })).toMatchObject({
      to: 'SETTLED',
      changed: false,
    });
    const payment = await ledger.get('cust_alice', id);
    expect(payment?.events.map((event) => event.status)).toEqual(['SETTLED']);
    expect(await ledger.applyStatus('unknown', 'SETTLED', { source: 'WEBHOOK' })).toBeNull();
  });

  it('answers a report that moves nothing and refreshes nothing with one read: no lock, no write', async () => {
    const id = await newPayment();
    await ledger.applyStatus(id, 'REQUIRES_ACTION', { source: 'API' });
    const before = await ledger.get('cust_alice', id);
    const recorded = recordingDb(db);
    const counted = new PaymentLedger(recorded.db, new PaymentRepository(recorded.db));

    for (const status of ['REQUIRES_ACTION', 'PENDING'] as const) {
      recorded.statements.length = 0;
      expect(await counted.applyStatus(id, status, { source: 'WEBHOOK', patch: {} })).toEqual({
        from: 'REQUIRES_ACTION',
        to: 'REQUIRES_ACTION',
        changed: false,
      });
      expect(recorded.statements).toEqual(['SELECT status FROM payments WHERE id = $1']);
    }
    expect(await ledger.get('cust_alice', id)).toEqual(before);

    // The same status with details to refresh (a new redirect): the read, and one guarded write.
    const guardedMove = /^WITH moved AS \(\s*UPDATE payments/;
    recorded.statements.length = 0;
    const nextAction = { type: 'REDIRECT_TO_BANK' as const, url: 'https://bank.example/again' };
    await counted.applyStatus(id, 'REQUIRES_ACTION', { source: 'WEBHOOK', patch: { nextAction } });
    expect(recorded.statements).toHaveLength(2);
    expect(recorded.statements[1]).toMatch(guardedMove);
    expect((await ledger.get('cust_alice', id))?.nextAction).toEqual(nextAction);

    // A report that moves the payment on: the read, and the move with its history in one statement.
    recorded.statements.length = 0;
    expect(await counted.applyStatus(id, 'SETTLED', { source: 'WEBHOOK', patch: {} })).toMatchObject({
      to: 'SETTLED',
      changed: true,
    });
    expect(recorded.statements).toHaveLength(2);
    expect(recorded.statements[0]).toBe('SELECT status FROM payments WHERE id = $1');
    expect(recorded.statements[1]).toMatch(guardedMove);
    expect((await ledger.get('cust_alice', id))?.events.map((event) => event.status)).toEqual([
      'REQUIRES_ACTION',
      'SETTLED',
    ]);
    expect(await counted.applyStatus('unknown', 'SETTLED', { source: 'WEBHOOK' })).toBeNull();
  });

  it('takes a status the reporter read earlier as `seen`: no read when it covers the report, one move when not', async () => {
    const id = await newPayment();
    await ledger.applyStatus(id, 'PROCESSING', { source: 'API' });
    const recorded = recordingDb(db);
    const counted = new PaymentLedger(recorded.db, new PaymentRepository(recorded.db));

    expect(await counted.applyStatus(id, 'PROCESSING', { source: 'WEBHOOK', seen: 'PROCESSING' })).toEqual({
      from: 'PROCESSING',
      to: 'PROCESSING',
      changed: false,
    });
    expect(recorded.statements).toEqual([]);

    const change = await counted.applyStatus(id, 'SETTLED', { source: 'WEBHOOK', seen: 'PROCESSING' });
    expect(change).toEqual({ from: 'PROCESSING', to: 'SETTLED', changed: true });
    expect(recorded.statements).toHaveLength(1);
    expect(recorded.statements[0]).toMatch(/^WITH moved AS \(\s*UPDATE payments/);

    // A stale `seen` that asks for a move the payment has made already: the guarded move writes
    // nothing, the status is read again, and the report is decided again (nothing to do).
    recorded.statements.length = 0;
    expect(await counted.applyStatus(id, 'SETTLED', { source: 'WEBHOOK', seen: 'PROCESSING' })).toEqual({
      from: 'SETTLED',
      to: 'SETTLED',
      changed: false,
    });
    expect(recorded.statements.map((sql) => sql.trim().split(/\s+/)[0])).toEqual(['WITH', 'SELECT']);
    expect((await ledger.get('cust_alice', id))?.events.map((event) => event.status)).toEqual([
      'PROCESSING',
      'SETTLED',
    ]);
  });

  it('stamps a move when it is decided, after a re-read, so the history keeps the order of the moves', async () => {
    const id = await newPayment();
    const base = Date.parse('2026-02-01T00:00:00Z');
    await ledger.applyStatus(id, 'SETTLED', { source: 'WEBHOOK', at: new Date(base + 1_500) });
    let ticks = 0;
    const clocked = new PaymentLedger(db, new PaymentRepository(db), () => new Date(base + 1_000 * ++ticks));
    // A stale `seen`: the guarded move from PENDING fails, the status is read again, and the refund
    // is stamped after that read, not when the first attempt began.
    expect(await clocked.applyStatus(id, 'REFUNDED', { source: 'WEBHOOK', seen: 'PENDING' })).toMatchObject({
      from: 'SETTLED',
      to: 'REFUNDED',
    });
    const events = (await ledger.get('cust_alice', id))?.events ?? [];
    expect(events.map((event) => event.status)).toEqual(['SETTLED', 'REFUNDED']);
    expect(events[1]!.at.getTime()).toBeGreaterThan(events[0]!.at.getTime());
  });

  it('ends concurrent out-of-order reporters in the furthest status', async () => {
    const peer = backend.openPeer ? await backend.openPeer(db) : null;
    try {
      const ledgers = [ledger, new PaymentLedger(peer ?? db, new PaymentRepository(peer ?? db))];
      for (let round = 0; round < 5; round += 1) {
        const id = await newPayment();
        const reports = shuffled(
          ['PROCESSING', 'AUTHORISED', 'SETTLED', 'PARTIALLY_REFUNDED', 'REFUNDED'] as const,
          round + 7,
        );
        await Promise.all(
          [...reports, ...reports].map((status, i) =>
            ledgers[i % 2]!.applyStatus(id, status, { source: 'WEBHOOK' }),
          ),
        );
        const payment = await ledger.get('cust_alice', id);
        expect(payment?.status).toBe('REFUNDED');
        const statuses = payment?.events.map((event) => event.status) ?? [];
        expect(new Set(statuses).size).toBe(statuses.length);
        expect(statuses.at(-1)).toBe('REFUNDED');
      }
    } finally {
      await peer?.close();
    }
  });
});
