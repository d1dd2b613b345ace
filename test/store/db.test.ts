import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { openDatabase } from '../../store/db.js';
import type { Db } from '../../store/db.js';
import { testBackends } from '../helpers/db.js';

const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));

describe.each(testBackends())('the database adapter on $kind', (backend) => {
  let db: Db;
  beforeAll(async () => {
    db = await backend.open({ migrate: false });
    await db.exec(
      'CREATE TABLE items (id int PRIMARY KEY, note text); CREATE TABLE counter (n int); INSERT INTO counter VALUES (0)',
    );
  });
  afterAll(async () => {
    await db.close();
  });

  it('returns bigint as a string and the other types as the same JavaScript values on every backend', async () => {
    const [row] = await db.query(
      `SELECT 9007199254740993::int8 AS big, array[1, 2]::int8[] AS bigs, 7::int4 AS small, 1.50::numeric AS num,
              '2024-03-01T12:34:56.789Z'::timestamptz AS at, '2024-03-01'::date AS day,
              '{"b": 1, "a": [true]}'::jsonb AS doc, '\\x0102ff'::bytea AS bytes, array['x', 'y']::text[] AS tags`,
    );
    expect(row).toEqual({
      big: '9007199254740993',
      bigs: ['1', '2'],
      small: 7,
      num: '1.50',
      at: new Date('2024-03-01T12:34:56.789Z'),
      day: '2024-03-01',
      doc: { a: [true], b: 1 },
      bytes: Buffer.from([1, 2, 255]),
      tags: ['x', 'y'],
    });
    expect(Buffer.isBuffer(row?.bytes)).toBe(true);
  });

  it('parses the arrays node-postgres parses as arrays, and leaves the others as their text, on every backend', async () => {
    const [row] = await db.query(
      `SELECT array[1, 2]::int4[] AS ints, array[true, false] AS flags,
              array['5e5a6f2c-1d1b-4c41-9b7f-0d1f3e0c9a11']::uuid[] AS ids, array['{"a":1}']::jsonb[] AS docs,
              array['2024-03-01T12:34:56.789Z']::timestamptz[] AS ats, array['a b']::varchar[] AS names,
              array['1 day']::interval[] AS gaps, array['a', 'b']::name[] AS handles, array[3]::oid[] AS oids`,
    );
    expect(row).toMatchObject({
      ints: [1, 2],
      flags: [true, false],
      ids: ['5e5a6f2c-1d1b-4c41-9b7f-0d1f3e0c9a11'],
      docs: [{ a: 1 }],
      ats: [new Date('2024-03-01T12:34:56.789Z')],
      names: ['a b'],
      oids: [3],
    });
    expect(Array.isArray(row?.gaps)).toBe(true);
    // An array type node-postgres does not parse is its text on both backends alike.
    expect(row?.handles).toBe('{a,b}');
  });

  it('accepts bigint, Date, Buffer, array and JSON-string parameters alike', async () => {
    const at = new Date('2030-01-02T03:04:05.006Z');
    const [row] = await db.query(
      'SELECT $1::int8 AS big, $2::timestamptz AS at, $3::bytea AS bytes, $4::text[] AS tags, $5::jsonb AS doc',
      [2n ** 62n, at, Buffer.from('hi'), ['a', 'b'], JSON.stringify(['x', 1])],
    );
    expect(row).toEqual({
      big: (2n ** 62n).toString(),
      at,
      bytes: Buffer.from('hi'),
      tags: ['a', 'b'],
      doc: ['x', 1],
    });
  });

  it('commits what a transaction wrote when it returns', async () => {
    const result = await db.transaction(async (tx) => {
      await tx.query('INSERT INTO items VALUES ($1, $2)', [1, 'kept']);
      return 'done';
    });
    expect(result).toBe('done');
    expect(await db.query('SELECT note FROM items WHERE id = 1')).toEqual([{ note: 'kept' }]);
  });

  it('rolls a transaction back and rethrows when its function throws', async () => {
    const failure = new Error('boom');
    await expect(
      db.transaction(async (tx) => {
        await tx.query('INSERT INTO items VALUES ($1, $2)', [2, 'lost']);
        throw failure;
      }),
    ).rejects.toBe(failure);
    expect(await db.query('SELECT * FROM items WHERE id = 2')).toEqual([]);
  });

  it('rolls back after a failed statement and stays usable', async () => {
    await expect(
      db.transaction(async (tx) => {
        await tx.query('INSERT INTO items VALUES ($1, $2)', [3, 'lost']);
        await tx.query('INSERT INTO items VALUES ($1, $2)', [3, 'duplicate']);
      }),
    ).rejects.toThrow();
    expect(await db.query('SELECT * FROM items WHERE id = 3')).toEqual([]);
    expect(await db.query('SELECT 1 AS one')).toEqual([{ one: 1 }]);
  });

  it('never runs a query from other async code inside an open transaction', async () => {
    const transaction = db.transaction(async (tx) => {
      await tx.query('INSERT INTO items VALUES ($1, $2)', [10, 'inside']);
      await sleep(50);
      throw new Error('roll back');
    });
    await sleep(5);
    const outside = db.query('INSERT INTO items VALUES ($1, $2)', [11, 'outside']);
    await expect(transaction).rejects.toThrow('roll back');
    await outside;
    expect(await db.query('SELECT id FROM items WHERE id IN (10, 11)')).toEqual([{ id: 11 }]);
  });

  it('runs many concurrent transactions to completion without deadlock', async () => {
    await Promise.all(
      Array.from({ length: 20 }, () => db.transaction((tx) => tx.query('UPDATE counter SET n = n + 1'))),
    );
    expect(await db.query('SELECT n FROM counter')).toEqual([{ n: 20 }]);
  });

  it('refuses the database handle inside its own transaction instead of deadlocking', async () => {
    await expect(db.transaction(() => db.query('SELECT 1'))).rejects.toThrow(/transaction handle/);
    await expect(db.transaction(() => db.transaction(async () => 1))).rejects.toThrow(/transaction handle/);
  });

  it('refuses a transaction handle used after its transaction finished', async () => {
    const leaked = await db.transaction(async (tx) => tx);
    await expect(leaked.query('SELECT 1')).rejects.toThrow(/already finished/);
  });
});

describe('the database without the re-entrancy guard (production)', () => {
  it('commits, rolls back and refuses a finished transaction handle all the same', async () => {
    const db = await openDatabase({ dataDir: 'memory://', reentryGuard: false });
    try {
      await db.exec('CREATE TABLE unguarded (n int)');
      await db.transaction((tx) => tx.query('INSERT INTO unguarded VALUES (1)'));
      await expect(
        db.transaction(async (tx) => {
          await tx.query('INSERT INTO unguarded VALUES (2)');
          throw new Error('roll back');
        }),
      ).rejects.toThrow('roll back');
      expect(await db.query('SELECT n FROM unguarded')).toEqual([{ n: 1 }]);
      const leaked = await db.transaction(async (tx) => tx);
      await expect(leaked.query('SELECT 1')).rejects.toThrow(/already finished/);
    } finally {
      await db.close();
    }
  });
});

describe('the PGlite backend on disk', () => {
  it('creates the data directory and keeps data across reopening', async () => {
    const parent = await mkdtemp(join(tmpdir(), 'tributary-db-'));
    const dataDir = join(parent, 'nested', 'data');
    try {
      const first = await openDatabase({ dataDir });
      await first.exec("CREATE TABLE kept (v text); INSERT INTO kept VALUES ('still here')");
      await first.close();
      const second = await openDatabase({ dataDir });
      expect(second.kind).toBe('pglite');
      expect(await second.query('SELECT v FROM kept')).toEqual([{ v: 'still here' }]);
      await second.close();
    } finally {
      await rm(parent, { recursive: true, force: true });
    }
  });
});

describe.runIf(testBackends().some((backend) => backend.kind === 'pg'))('the PostgreSQL backend', () => {
  it('keeps each schema to itself', async () => {
    const backend = testBackends().find((candidate) => candidate.kind === 'pg');
    const a = await backend!.open({ migrate: false });
    const b = await backend!.open({ migrate: false });
    try {
      await a.exec('CREATE TABLE only_in_a (x int)');
      const [row] = await b.query<{ found: string | null }>(`SELECT to_regclass('only_in_a')::text AS found`);
      expect(row?.found).toBeNull();
      await expect(openDatabase({ url: 'postgres://unused', schema: 'Bad-Name' })).rejects.toThrow(
        /schema name/,
      );
    } finally {
      await a.close();
      await b.close();
    }
  });
});
