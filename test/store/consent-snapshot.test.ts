/**
 * ConsentSnapshot: one request's view of a subject's consents. One query answers every permission
 * check and credential read; a refresh within the request is seen by the request's later reads; a
 * new snapshot (the next request) sees revocations; other subjects go to the store.
 */
import { randomBytes, randomUUID } from 'node:crypto';
import { afterAll, beforeAll, describe, expect, it, vi } from 'vitest';
import type { ProviderName } from '../../domain/model.js';
import { ConsentSnapshot } from '../../store/consent-snapshot.js';
import { ConsentRepository } from '../../store/consents.js';
import type { Db } from '../../store/db.js';
import { SecretBox } from '../../store/secrets.js';
import { testBackends } from '../helpers/db.js';

const box = new SecretBox({ current: 'k1', keys: { k1: randomBytes(32) } });
const newSubject = () => `cust_${randomUUID().slice(0, 8)}`;

describe.each(testBackends())('consent snapshot on $kind', (backend) => {
  let db: Db;
  let consents: ConsentRepository;
  let statements: string[];
  beforeAll(async () => {
    db = await backend.open();
    statements = [];
    const recorded: Db = {
      ...db,
      kind: db.kind,
      query: (sql, params) => {
        statements.push(sql);
        return db.query(sql, params);
      },
      exec: (sql) => db.exec(sql),
      transaction: (fn) => db.transaction(fn),
      close: () => db.close(),
    };
    consents = new ConsentRepository(recorded, box);
  });
  afterAll(async () => {
    await db.close();
  });

  const link = (subject: string, provider: ProviderName, permissions: string[], token = 'access-1') =>
    consents.grant({
      subject,
      provider,
      permissions,
      partnerRef: `${provider}-${randomUUID()}`,
      credential: { accessToken: token, refreshToken: 'refresh-1', expiresAt: null },
      expiresAt: null,
    });

  it('answers permission checks and credentials of every provider from one query, one decryption each', async () => {
    const subject = newSubject();
    await link(subject, 'openbanking', ['accounts:read', 'balances:read']);
    await link(subject, 'plaid', ['accounts:read', 'transactions:read'], 'plaid-token');
    const opened = vi.spyOn(box, 'open');
    statements.length = 0;

    const snapshot = new ConsentSnapshot(subject, consents);
    const [bank, bankBalances, plaidBalances, tokens] = await Promise.all([
      snapshot.findActive('openbanking', 'accounts:read'),
      snapshot.findActive('openbanking', 'balances:read'),
      snapshot.findActive('plaid', 'balances:read'),
      Promise.all(
        ['openbanking', 'plaid', 'openbanking', 'plaid'].map((provider) =>
          snapshot.credentials.get(subject, provider as ProviderName),
        ),
      ),
    ]);

    expect(bank?.provider).toBe('openbanking');
    expect(bankBalances?.permissions).toContain('balances:read');
    expect(plaidBalances).toBeNull();
    expect(tokens.map((credential) => credential?.accessToken)).toEqual([
      'access-1',
      'plaid-token',
      'access-1',
      'plaid-token',
    ]);
    expect(await snapshot.credentials.get(subject, 'stripe')).toBeNull();
    expect(statements).toHaveLength(1);
    expect(opened).toHaveBeenCalledTimes(2);
    opened.mockRestore();
  });

  it('hands out the refreshed token after an update within the request, and stores it', async () => {
    const subject = newSubject();
    await link(subject, 'openbanking', ['accounts:read']);
    const snapshot = new ConsentSnapshot(subject, consents);
    const first = await snapshot.credentials.get(subject, 'openbanking');

    const refreshed = { ...first!, accessToken: 'access-2', refreshToken: 'refresh-2' };
    const update = snapshot.credentials.update(refreshed);
    const during = snapshot.credentials.get(subject, 'openbanking');
    await update;

    expect((await during)?.accessToken).toBe('access-2');
    expect((await snapshot.credentials.get(subject, 'openbanking'))?.refreshToken).toBe('refresh-2');
    expect((await consents.credentials.get(subject, 'openbanking'))?.accessToken).toBe('access-2');
  });

  it("refreshes under the store's lock with what another replica stored, and then hands that out", async () => {
    const subject = newSubject();
    await link(subject, 'openbanking', ['accounts:read']);
    const snapshot = new ConsentSnapshot(subject, consents);
    const held = (await snapshot.credentials.get(subject, 'openbanking'))!;
    // Another replica rotated the tokens after this request read them.
    await consents.credentials.update({
      ...held,
      accessToken: 'access-other',
      refreshToken: 'refresh-other',
    });

    let handed: string | undefined;
    const refreshed = await snapshot.credentials.refreshing(
      subject,
      'openbanking',
      held.externalRef,
      async (current) => {
        handed = current?.accessToken;
        return { ...current!, accessToken: 'access-3', refreshToken: 'refresh-3' };
      },
    );

    expect(handed).toBe('access-other');
    expect(refreshed.accessToken).toBe('access-3');
    expect((await snapshot.credentials.get(subject, 'openbanking'))?.refreshToken).toBe('refresh-3');
    expect((await consents.credentials.get(subject, 'openbanking'))?.accessToken).toBe('access-3');
  });

  it('fails an update for a link revoked meanwhile, and then answers no credential', async () => {
    const subject = newSubject();
    const consent = await link(subject, 'openbanking', ['accounts:read']);
    const snapshot = new ConsentSnapshot(subject, consents);
    const first = await snapshot.credentials.get(subject, 'openbanking');
    await consents.revoke(subject, consent.id);

    await expect(snapshot.credentials.update({ ...first!, accessToken: 'late' })).rejects.toMatchObject({
      code: 'NOT_FOUND',
    });
    expect(await snapshot.credentials.get(subject, 'openbanking')).toBeNull();
  });

  it('is per request: the next snapshot sees a revocation, the current one is not reused', async () => {
    const subject = newSubject();
    const consent = await link(subject, 'plaid', ['accounts:read']);
    expect(await new ConsentSnapshot(subject, consents).findActive('plaid', 'accounts:read')).not.toBeNull();
    await consents.revoke(subject, consent.id);
    const next = new ConsentSnapshot(subject, consents);
    expect(await next.findActive('plaid', 'accounts:read')).toBeNull();
    expect(await next.credentials.get(subject, 'plaid')).toBeNull();
  });

  it("reads another subject's credential from the store, never from the snapshot", async () => {
    const alice = newSubject();
    const bob = newSubject();
    await link(alice, 'plaid', ['accounts:read'], 'alice-token');
    await link(bob, 'plaid', ['accounts:read'], 'bob-token');
    const snapshot = new ConsentSnapshot(alice, consents);
    expect((await snapshot.credentials.get(alice, 'plaid'))?.accessToken).toBe('alice-token');
    const theirs = await snapshot.credentials.get(bob, 'plaid');
    expect(theirs).toMatchObject({ subject: bob, accessToken: 'bob-token' });
  });
});
