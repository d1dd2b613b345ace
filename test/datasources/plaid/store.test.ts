import { randomUUID } from 'node:crypto';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { Db } from '../../../store/db.js';
import type { PlaidStoredTransaction } from '../../../datasources/plaid/copy.js';
import { PlaidSyncRepository } from '../../../datasources/plaid/store.js';
import { recordingDb, testBackends } from '../../helpers/db.js';

const newSubject = () => `cust_${randomUUID().slice(0, 8)}`;
const newItem = () => `item_${randomUUID()}`;

function tx(id: string, overrides: Partial<PlaidStoredTransaction> = {}): PlaidStoredTransaction {
  return {
    transactionId: id,
    accountId: 'acc-1',
    amount: { minor: -1230n, currency: 'USD' },
    status: 'BOOKED',
    pendingTransactionId: null,
    description: `Purchase ${id}`,
    merchantName: 'Corner Shop',
    category: 'FOOD_AND_DRINK',
    bookedAt: new Date('2025-03-10T09:30:00.000Z'),
    valueDate: new Date('2025-03-10T00:00:00.000Z'),
    ...overrides,
  };
}

/** The subject's transactions as a read is served them; none before the Item's first sync. */
async function copy(
  store: PlaidSyncRepository,
  ...[subject, item, accounts, window]: Parameters<PlaidSyncRepository['readCopy']>
): Promise<readonly PlaidStoredTransaction[]> {
  return (await store.readCopy(subject, item, accounts, window))?.transactions ?? [];
}

describe.each(testBackends())('plaid sync store on $kind', (backend) => {
  let db: Db;
  let store: PlaidSyncRepository;
  beforeAll(async () => {
    db = await backend.open();
    store = new PlaidSyncRepository(db, { now: () => new Date('2025-03-14T12:00:00.000Z') });
  });
  afterAll(async () => {
    await db.close();
  });

  it('has no cursor and no copy before the first completed sync', async () => {
    expect(await store.cursor(newSubject(), newItem())).toBeNull();
    expect(await store.readCopy(newSubject(), newItem(), ['acc-1'])).toBeNull();
  });

  it('tells a synced Item without transactions from one never synced, and whose copy is oldest', async () => {
    const [subject, item] = [newSubject(), newItem()];
    expect(await store.applySync(subject, item, null, { upserted: [], removed: [] }, 'c1')).toBe(true);
    expect(await store.readCopy(subject, item, ['acc-1'])).toEqual({
      syncedAt: new Date('2025-03-14T12:00:00.000Z'),
      transactions: [],
    });
    expect(await store.readCopy(newSubject(), item, ['acc-1'])).toBeNull();
    const stale = await store.staleItems(new Date('2025-03-14T12:00:01.000Z'), 100_000);
    expect(stale).toContainEqual({ subject, itemId: item });
    expect(await store.staleItems(new Date('2025-03-14T12:00:00.000Z'), 100_000)).not.toContainEqual({
      subject,
      itemId: item,
    });
  });

  it('applies a sync and its cursor together, and reads the copy back exactly', async () => {
    const [subject, item] = [newSubject(), newItem()];
    const big = tx('t-big', { amount: { minor: -123456789012345678n, currency: 'USD' }, valueDate: null });
    // The copy comes back as JSON: text that JSON must escape, and a time with milliseconds.
    const yen = tx('t-yen', {
      amount: { minor: 1500n, currency: 'JPY' },
      description: 'Caf\u00e9 "Zum L\u00f6wen" \\ 2\u00bd\t\ud83c\udf7a\nline 2',
      merchantName: null,
      category: null,
      bookedAt: new Date('2025-03-10T23:59:59.987Z'),
    });
    const dinar = tx('t-bhd', { amount: { minor: -12345n, currency: 'BHD' }, status: 'PENDING' });
    expect(
      await store.applySync(subject, item, null, { upserted: [big, yen, dinar], removed: [] }, 'c1'),
    ).toBe(true);
    expect(await store.cursor(subject, item)).toBe('c1');
    const read = await copy(store, subject, item, ['acc-1']);
    expect(read).toHaveLength(3);
    expect(read.find((t) => t.transactionId === 't-big')).toEqual(big);
    expect(read.find((t) => t.transactionId === 't-yen')).toEqual(yen);
    expect(read.find((t) => t.transactionId === 't-bhd')).toEqual(dinar);
  });

  it('modifies and removes transactions on later syncs', async () => {
    const [subject, item] = [newSubject(), newItem()];
    await store.applySync(subject, item, null, { upserted: [tx('a'), tx('b'), tx('c')], removed: [] }, 'c1');
    const changed = tx('b', { amount: { minor: -999n, currency: 'USD' }, description: 'Changed' });
    expect(
      await store.applySync(subject, item, 'c1', { upserted: [changed], removed: ['a', 'unknown'] }, 'c2'),
    ).toBe(true);
    const read = await copy(store, subject, item, ['acc-1']);
    expect(read.map((t) => t.transactionId).sort()).toEqual(['b', 'c']);
    expect(read.find((t) => t.transactionId === 'b')).toEqual(changed);
  });

  it('refuses a sync that did not start from the stored cursor, writing nothing', async () => {
    const [subject, item] = [newSubject(), newItem()];
    await store.applySync(subject, item, null, { upserted: [tx('a')], removed: [] }, 'c1');
    expect(
      await store.applySync(subject, item, null, { upserted: [tx('late')], removed: ['a'] }, 'c1-again'),
    ).toBe(false);
    expect(await store.cursor(subject, item)).toBe('c1');
    expect((await copy(store, subject, item, ['acc-1'])).map((t) => t.transactionId)).toEqual(['a']);
  });

  it('moves an unchanged cursor and reads the copy in one statement, only from the stored cursor', async () => {
    const [subject, item] = [newSubject(), newItem()];
    let now = new Date('2025-03-14T12:00:00.000Z');
    const clocked = new PlaidSyncRepository(db, { now: () => now });
    const at = (day: number) => new Date(Date.UTC(2025, 2, day, 12));
    const upserted = [
      tx('d1', { bookedAt: at(1) }),
      tx('d5', { bookedAt: at(5) }),
      tx('d9', { bookedAt: at(9) }),
      tx('other-account', { accountId: 'acc-2', bookedAt: at(5) }),
    ];
    await clocked.applySync(subject, item, null, { upserted, removed: [] }, 'c1');
    const read = { accountIds: ['acc-1'], window: { from: at(2), to: at(9) } };

    now = new Date('2025-03-14T12:05:00.000Z');
    const advanced = await clocked.advanceAndRead(subject, item, 'c1', 'c2', read);
    expect(advanced?.syncedAt).toEqual(now);
    expect(advanced?.transactions.map((t) => t.transactionId)).toEqual(['d9', 'd5']);
    expect(advanced).toEqual(await clocked.readCopy(subject, item, read.accountIds, read.window));
    expect(await clocked.cursor(subject, item)).toBe('c2');

    // From a cursor no longer stored, for another subject, or before a first sync: nothing moves.
    now = new Date('2025-03-14T12:10:00.000Z');
    expect(await clocked.advanceAndRead(subject, item, 'c1', 'c3', read)).toBeNull();
    expect(await clocked.advanceAndRead(newSubject(), item, 'c2', 'c3', read)).toBeNull();
    expect(await clocked.advanceAndRead(subject, newItem(), 'c2', 'c3', read)).toBeNull();
    expect(await clocked.cursor(subject, item)).toBe('c2');
    expect((await clocked.readCopy(subject, item, ['acc-1']))?.syncedAt).toEqual(
      new Date('2025-03-14T12:05:00.000Z'),
    );
  });

  it('writes thousands of transactions in batches', async () => {
    const [subject, item] = [newSubject(), newItem()];
    const many = Array.from({ length: 1203 }, (_, i) => tx(`bulk-${i}`));
    await store.applySync(subject, item, null, { upserted: many, removed: [] }, 'c1');
    expect(await copy(store, subject, item, ['acc-1'])).toHaveLength(1203);
  });

  it('reads per subject, item and account, newest first, within an inclusive window', async () => {
    const [subject, item] = [newSubject(), newItem()];
    const at = (day: number) => new Date(Date.UTC(2025, 2, day, 12));
    await store.applySync(
      subject,
      item,
      null,
      {
        upserted: [
          tx('d1', { bookedAt: at(1) }),
          tx('d5', { bookedAt: at(5) }),
          tx('d9', { bookedAt: at(9) }),
          tx('other-account', { accountId: 'acc-2', bookedAt: at(5) }),
        ],
        removed: [],
      },
      'c1',
    );
    const ids = async (accounts: string[], window = {}) =>
      (await copy(store, subject, item, accounts, window)).map((t) => t.transactionId);
    expect(await ids(['acc-1'])).toEqual(['d9', 'd5', 'd1']);
    expect(await ids(['acc-1'], { from: at(5), to: at(9) })).toEqual(['d9', 'd5']);
    expect(await ids(['acc-1', 'acc-2'], { from: at(5), to: at(5) })).toEqual(['other-account', 'd5']);
    expect(await ids([])).toEqual([]);
    expect(await copy(store, newSubject(), item, ['acc-1'])).toEqual([]);
  });

  it('never lets another subject write to or read an item', async () => {
    const [alice, bob, item] = [newSubject(), newSubject(), newItem()];
    await store.applySync(alice, item, null, { upserted: [tx('mine')], removed: [] }, 'c1');
    await expect(
      store.applySync(bob, item, 'c1', { upserted: [tx('theirs')], removed: ['mine'] }, 'c2'),
    ).rejects.toThrow(/exactly one subject/);
    expect(await store.cursor(bob, item)).toBeNull();
    expect(await copy(store, bob, item, ['acc-1'])).toEqual([]);
    expect(await copy(store, alice, item, ['acc-1'])).toHaveLength(1);
  });

  it('keeps no token or raw partner payload in its tables', async () => {
    const columns = await db.query<{ table_name: string; column_name: string }>(
      `SELECT table_name, column_name FROM information_schema.columns
       WHERE table_name IN ('plaid_sync_items', 'plaid_transactions') AND table_schema = current_schema()`,
    );
    const names = columns.map((c) => c.column_name);
    expect(names.length).toBeGreaterThan(10);
    expect(names.filter((name) => /token|secret|payload|raw|json/i.test(name))).toEqual([]);
  });

  it('forgets an item and erases a subject', async () => {
    const [subject, first, second] = [newSubject(), newItem(), newItem()];
    await store.applySync(subject, first, null, { upserted: [tx('a')], removed: [] }, 'c1');
    await store.applySync(subject, second, null, { upserted: [tx('b')], removed: [] }, 'c1');
    await store.forgetItem(subject, first);
    expect(await store.cursor(subject, first)).toBeNull();
    expect(await store.startCursor(subject, first)).toBeNull();
    expect(await copy(store, subject, first, ['acc-1'])).toEqual([]);
    expect(await store.eraseSubject(subject)).toBe(1);
    expect(await store.startCursor(subject, second)).toBeNull();
    expect(await copy(store, subject, second, ['acc-1'])).toEqual([]);
    const left = await db.query('SELECT 1 FROM plaid_transactions WHERE subject = $1', [subject]);
    expect(left).toEqual([]);
  });

  it('starts a sync from the cursor this replica stored, with no statement', async () => {
    const recorded = recordingDb(db);
    const replica = new PlaidSyncRepository(recorded.db);
    const [subject, item] = [newSubject(), newItem()];
    await replica.applySync(subject, item, null, { upserted: [tx('a')], removed: [] }, 'c1');
    recorded.statements.length = 0;
    expect(await replica.startCursor(subject, item)).toBe('c1');
    await replica.advanceAndRead(subject, item, 'c1', 'c2', { accountIds: ['acc-1'] });
    expect(await replica.startCursor(subject, item)).toBe('c2');
    expect(recorded.statements).toHaveLength(1);
    // Another subject asking about the Item is not answered from memory.
    expect(await replica.startCursor(newSubject(), item)).toBeNull();
  });

  it('answers a live read that Plaid says brought nothing new from the copy it read at that cursor, with no statement', async () => {
    const recorded = recordingDb(db);
    let now = new Date('2025-03-14T12:00:00.000Z');
    const replica = new PlaidSyncRepository(recorded.db, { now: () => now });
    const [subject, item] = [newSubject(), newItem()];
    const upserted = [tx('a'), tx('b', { accountId: 'acc-2' })];
    await replica.applySync(subject, item, null, { upserted, removed: [] }, 'c1');
    const read = { accountIds: ['acc-1'] };
    const first = await replica.advanceAndRead(subject, item, 'c1', 'c2', read);
    expect(first?.transactions.map((t) => t.transactionId)).toEqual(['a']);
    recorded.statements.length = 0;

    now = new Date('2025-03-14T12:05:00.000Z');
    const again = await replica.advanceAndRead(subject, item, 'c2', 'c2', read);
    expect(recorded.statements).toEqual([]);
    expect(again).toEqual({ syncedAt: now, transactions: first?.transactions });

    // Another read (other accounts, a window) or a cursor Plaid moved: the statement decides.
    expect(
      (await replica.advanceAndRead(subject, item, 'c2', 'c2', { accountIds: ['acc-2'] }))?.transactions,
    ).toEqual([upserted[1]]);
    expect(recorded.statements).toHaveLength(1);
    const windowed = { accountIds: ['acc-1'], window: { from: new Date('2025-03-11T00:00:00.000Z') } };
    expect((await replica.advanceAndRead(subject, item, 'c2', 'c2', windowed))?.transactions).toEqual([]);
    expect(recorded.statements).toHaveLength(2);
    expect(await replica.advanceAndRead(subject, item, 'c2', 'c3', read)).not.toBeNull();
    expect(recorded.statements).toHaveLength(3);
    expect(await replica.cursor(subject, item)).toBe('c3');
  });

  it('never answers from a held copy once the Item changed, was forgotten or the subject erased elsewhere', async () => {
    const recorded = recordingDb(db);
    const [a, b] = [new PlaidSyncRepository(recorded.db), new PlaidSyncRepository(db)];
    const [subject, item] = [newSubject(), newItem()];
    const read = { accountIds: ['acc-1'] };
    const holdAtC2 = async () => {
      await a.applySync(subject, item, null, { upserted: [tx('a')], removed: [] }, 'c1');
      await a.advanceAndRead(subject, item, 'c1', 'c2', read);
      recorded.statements.length = 0;
      expect((await a.advanceAndRead(subject, item, 'c2', 'c2', read))?.transactions).toHaveLength(1);
      expect(recorded.statements).toEqual([]);
    };

    await holdAtC2();
    await a.applySync(subject, item, 'c2', { upserted: [tx('new')], removed: ['a'] }, 'c3');
    const changed = await a.advanceAndRead(subject, item, 'c3', 'c3', read);
    expect(changed?.transactions.map((t) => t.transactionId)).toEqual(['new']);

    await a.forgetItem(subject, item);
    await holdAtC2();
    await a.forgetItem(subject, item);
    expect(await a.advanceAndRead(subject, item, 'c2', 'c2', read)).toBeNull();

    // Erased on replica b; replica a is told to forget the subject (ERASURE_TOPIC in server/wiring.ts).
    await holdAtC2();
    expect(await b.eraseSubject(subject)).toBe(1);
    a.forgetSubject(subject);
    expect(await a.advanceAndRead(subject, item, 'c2', 'c2', read)).toBeNull();
    expect(await a.startCursor(subject, item)).toBeNull();
  });

  it('holds no copy larger than its byte bound', async () => {
    const recorded = recordingDb(db);
    const small = new PlaidSyncRepository(recorded.db, { heldCopyBytes: 600 });
    const [subject, item] = [newSubject(), newItem()];
    const many = Array.from({ length: 5 }, (_, i) => tx(`t${i}`));
    await small.applySync(subject, item, null, { upserted: many, removed: [] }, 'c1');
    await small.advanceAndRead(subject, item, 'c1', 'c1', { accountIds: ['acc-1'] });
    recorded.statements.length = 0;
    const again = await small.advanceAndRead(subject, item, 'c1', 'c1', { accountIds: ['acc-1'] });
    expect(again?.transactions).toHaveLength(5);
    expect(recorded.statements).toHaveLength(1);
  });

  it("reads the stored cursor again after another replica's sync refused this replica's", async () => {
    const [subject, item] = [newSubject(), newItem()];
    const [a, b] = [new PlaidSyncRepository(db), new PlaidSyncRepository(db)];
    await a.applySync(subject, item, null, { upserted: [tx('a')], removed: [] }, 'c1');
    expect(await b.startCursor(subject, item)).toBe('c1');
    await b.applySync(subject, item, 'c1', { upserted: [tx('b')], removed: [] }, 'c2');

    // A still starts from c1; both kinds of write refuse it and change nothing.
    expect(await a.startCursor(subject, item)).toBe('c1');
    expect(await a.advanceAndRead(subject, item, 'c1', 'c2-a', { accountIds: ['acc-1'] })).toBeNull();
    expect(await a.startCursor(subject, item)).toBe('c2');
    expect(await a.applySync(subject, item, 'c1', { upserted: [], removed: ['a'] }, 'c2-a')).toBe(false);
    expect(await a.startCursor(subject, item)).toBe('c2');
    expect(await a.cursor(subject, item)).toBe('c2');
    expect((await copy(a, subject, item, ['acc-1'])).map((t) => t.transactionId).sort()).toEqual(['a', 'b']);
  });
});
