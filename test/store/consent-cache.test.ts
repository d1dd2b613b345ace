/**
 * ConsentCache: a subject's active consents and decrypted credentials between requests. A warm read
 * asks the database nothing; every change (grant, revoke, refresh, erasure) drops the subject at once
 * in this process and, on PostgreSQL, on every replica; an expiring consent is never served past its
 * expiry; a read racing a change is not kept.
 */
import { randomBytes, randomUUID } from 'node:crypto';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { ProviderName } from '../../domain/model.js';
import { inProcessChangeFeed, pgChangeFeed, type ChangeFeed } from '../../store/change-feed.js';
import { ConsentCache } from '../../store/consent-cache.js';
import { ConsentRepository, type ActiveConsent } from '../../store/consents.js';
import type { Db } from '../../store/db.js';
import { SecretBox } from '../../store/secrets.js';
import { noRefreshing } from '../helpers/credentials.js';
import { testBackends } from '../helpers/db.js';

const box = new SecretBox({ current: 'k1', keys: { k1: randomBytes(32) } });
const newSubject = () => `cust_${randomUUID().slice(0, 8)}`;
const SETTINGS = { maxBytes: 1024 * 1024, maxAgeMs: 60_000 };

/** `db`, with every statement sent through it counted. */
function counting(db: Db): { db: Db; count: () => number } {
  let statements = 0;
  return {
    count: () => statements,
    db: {
      kind: db.kind,
      query: (sql, params) => {
        statements += 1;
        return db.query(sql, params);
      },
      exec: (sql) => db.exec(sql),
      transaction: (fn) =>
        db.transaction((tx) =>
          fn({
            query: (sql, params) => {
              statements += 1;
              return tx.query(sql, params);
            },
            exec: (sql) => tx.exec(sql),
          }),
        ),
      close: () => db.close(),
    },
  };
}

const link = (
  consents: ConsentRepository,
  subject: string,
  provider: ProviderName,
  options: { token?: string; expiresAt?: Date | null; partnerRef?: string } = {},
) =>
  consents.grant({
    subject,
    provider,
    permissions: ['accounts:read', 'balances:read'],
    partnerRef: options.partnerRef ?? `${provider}-${randomUUID()}`,
    credential: { accessToken: options.token ?? 'access-1', refreshToken: 'refresh-1', expiresAt: null },
    expiresAt: options.expiresAt ?? null,
  });

const providersOf = (active: ActiveConsent[]) => active.map(({ consent }) => consent.provider).sort();

describe.each(testBackends())('consent cache on $kind', (backend) => {
  let db: Db;
  let count: () => number;
  let consents: ConsentRepository;
  let cache: ConsentCache;
  let clock = Date.now();
  beforeAll(async () => {
    db = await backend.open();
    const counted = counting(db);
    count = counted.count;
    const changes = inProcessChangeFeed();
    consents = new ConsentRepository(counted.db, box, { changes, now: () => new Date(clock) });
    cache = new ConsentCache(consents, changes, SETTINGS, () => clock);
  });
  afterAll(async () => {
    await db.close();
  });

  it('answers a warm read without a statement and opens each credential once', async () => {
    const subject = newSubject();
    await link(consents, subject, 'openbanking', { token: 'bank-token' });
    const first = await cache.listActive(subject);
    const before = count();
    const second = await cache.listActive(subject);
    expect(count()).toBe(before);
    expect(providersOf(second)).toEqual(['openbanking']);
    expect(second[0]!.openCredential!().accessToken).toBe('bank-token');
    expect(second[0]!.openCredential!()).toBe(first[0]!.openCredential!());
  });

  it('drops the subject when a consent is revoked or granted, before the next read', async () => {
    const subject = newSubject();
    const bank = await link(consents, subject, 'openbanking');
    expect(providersOf(await cache.listActive(subject))).toEqual(['openbanking']);
    await link(consents, subject, 'plaid');
    expect(providersOf(await cache.listActive(subject))).toEqual(['openbanking', 'plaid']);
    await consents.revoke(subject, bank.id);
    expect(providersOf(await cache.listActive(subject))).toEqual(['plaid']);
  });

  it('serves a refreshed credential after a refresh, and nothing after erasure', async () => {
    const subject = newSubject();
    const partnerRef = `bank-${randomUUID()}`;
    await link(consents, subject, 'openbanking', { token: 'old-token', partnerRef });
    expect((await cache.listActive(subject))[0]!.openCredential!().accessToken).toBe('old-token');
    await consents.credentials.update({
      subject,
      provider: 'openbanking',
      externalRef: partnerRef,
      accessToken: 'new-token',
      refreshToken: 'refresh-2',
      expiresAt: null,
    });
    expect((await cache.listActive(subject))[0]!.openCredential!().accessToken).toBe('new-token');
    await consents.eraseSubject(subject);
    expect(await cache.listActive(subject)).toEqual([]);
  });

  it('never serves a consent past its expiry', async () => {
    const subject = newSubject();
    await link(consents, subject, 'openbanking', { expiresAt: new Date(clock + 5_000) });
    expect(providersOf(await cache.listActive(subject))).toEqual(['openbanking']);
    clock += 5_001;
    expect(await cache.listActive(subject)).toEqual([]);
  });

  it('reads again once an entry is older than the maximum age', async () => {
    const subject = newSubject();
    await link(consents, subject, 'openbanking');
    await cache.listActive(subject);
    const before = count();
    clock += SETTINGS.maxAgeMs + 1;
    await cache.listActive(subject);
    expect(count()).toBe(before + 1);
  });
});

describe('consent cache bookkeeping', () => {
  const consent = (subject: string): ActiveConsent => ({
    consent: {
      id: randomUUID(),
      subject,
      provider: 'openbanking',
      permissions: ['accounts:read'],
      status: 'ACTIVE',
      grantedAt: new Date(),
      authorisedAt: new Date(),
      expiresAt: null,
      revokedAt: null,
    },
    openCredential: null,
  });

  it('does not keep a read that a change overtook', async () => {
    let release: (value: ActiveConsent[]) => void = () => undefined;
    let reads = 0;
    const repository = {
      listActive: (subject: string) => {
        reads += 1;
        return reads === 1
          ? new Promise<ActiveConsent[]>((resolve) => (release = resolve))
          : Promise.resolve([consent(subject)]);
      },
      credentials: { get: async () => null, update: async () => undefined, refreshing: noRefreshing },
    };
    const changes: ChangeFeed = inProcessChangeFeed();
    const cache = new ConsentCache(repository, changes, SETTINGS);
    const racing = cache.listActive('cust_race');
    await changes.publish('consents', 'cust_race');
    release([consent('cust_race')]);
    await racing;
    await cache.listActive('cust_race');
    expect(reads).toBe(2);
  });

  it('stays within its byte bound, the least recently used subject leaving first', async () => {
    const repository = {
      listActive: async (subject: string) => [consent(subject)],
      credentials: { get: async () => null, update: async () => undefined, refreshing: noRefreshing },
    };
    const cache = new ConsentCache(repository, inProcessChangeFeed(), {
      maxBytes: 3 * 2_048,
      maxAgeMs: 60_000,
    });
    for (const subject of ['a', 'b', 'c', 'd', 'e']) await cache.listActive(subject);
    expect(cache.size).toBe(3);
  });

  it('drops everything when the feed says notices may have been missed', async () => {
    let reads = 0;
    const repository = {
      listActive: async (subject: string) => {
        reads += 1;
        return [consent(subject)];
      },
      credentials: { get: async () => null, update: async () => undefined, refreshing: noRefreshing },
    };
    let reset: () => void = () => undefined;
    const feed: ChangeFeed = {
      publish: async () => undefined,
      subscribe: (_topic, subscriber) => {
        reset = () => subscriber.onReset();
      },
      close: async () => undefined,
    };
    const cache = new ConsentCache(repository, feed, SETTINGS);
    await cache.listActive('x');
    await cache.listActive('x');
    reset();
    await cache.listActive('x');
    expect(reads).toBe(2);
  });
});

const pg = testBackends().find((backend) => backend.kind === 'pg');

describe.skipIf(!pg)('consent cache across two replicas on PostgreSQL', () => {
  const url = process.env.DATABASE_URL!;
  let a: Db;
  let b: Db;
  let feeds: ChangeFeed[] = [];
  beforeAll(async () => {
    a = await pg!.open();
    b = await pg!.openPeer!(a);
  });
  afterAll(async () => {
    await Promise.all(feeds.map((feed) => feed.close()));
    await b?.close();
    await a?.close();
  });

  it('refuses on replica B, within a second, a consent revoked on replica A', async () => {
    const scope = `test-${randomUUID()}`;
    const feedA = await pgChangeFeed({ url, scope });
    const feedB = await pgChangeFeed({ url, scope });
    feeds = [feedA, feedB];
    const consentsA = new ConsentRepository(a, box, { changes: feedA });
    const consentsB = new ConsentRepository(b, box, { changes: feedB });
    const cacheB = new ConsentCache(consentsB, feedB, SETTINGS);

    const subject = newSubject();
    const bank = await link(consentsA, subject, 'openbanking');
    expect(providersOf(await cacheB.listActive(subject))).toEqual(['openbanking']);
    expect(providersOf(await cacheB.listActive(subject))).toEqual(['openbanking']);

    await consentsA.revoke(subject, bank.id);
    const revokedAt = Date.now();
    let seen: ProviderName[] = ['openbanking'];
    while (seen.length > 0 && Date.now() - revokedAt < 1_000) {
      seen = providersOf(await cacheB.listActive(subject));
      if (seen.length > 0) await new Promise((resolve) => setTimeout(resolve, 10));
    }
    expect(seen).toEqual([]);
  });
});
