/**
 * CredentialStore.refreshing, the lock a rotating refresh token is refreshed under: callers on one link
 * take turns, each handed the credential as stored when its turn comes (so the second sees what the
 * first saved), while callers on different links never wait for each other. On PostgreSQL the two
 * callers are two repositories on two connection pools of one schema, as two replicas would be; on
 * PGlite, two repositories of one process on the one embedded database.
 */
import { randomBytes, randomUUID } from 'node:crypto';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { PartnerCredential } from '../../domain/providers.js';
import { ConsentRepository } from '../../store/consents.js';
import type { Db } from '../../store/db.js';
import { SecretBox } from '../../store/secrets.js';
import { testBackends } from '../helpers/db.js';

const box = new SecretBox({ current: 'k1', keys: { k1: randomBytes(32) } });
const DAY = 86_400_000;

function deferred() {
  let resolve!: () => void;
  const promise = new Promise<void>((done) => (resolve = done));
  return { promise, resolve };
}

describe.each(testBackends())('the refresh lock of a link on $kind', (backend) => {
  let db: Db;
  let peer: Db;
  let first: ConsentRepository;
  let second: ConsentRepository;
  beforeAll(async () => {
    db = await backend.open();
    peer = backend.openPeer ? await backend.openPeer(db) : db;
    first = new ConsentRepository(db, box);
    second = new ConsentRepository(peer, box);
  });
  afterAll(async () => {
    if (peer !== db) await peer.close();
    await db.close();
  });

  /** A linked customer at the bank, with the tokens the link was made with. */
  async function link(): Promise<PartnerCredential> {
    const subject = `cust_${randomUUID().slice(0, 8)}`;
    const credential = {
      accessToken: `access-${randomUUID()}`,
      refreshToken: `refresh-${randomUUID()}`,
      expiresAt: new Date(Date.now() + 60_000),
    };
    const partnerRef = `aac-${randomUUID()}`;
    await first.grant({
      subject,
      provider: 'openbanking',
      permissions: ['accounts:read'],
      partnerRef,
      credential,
      expiresAt: new Date(Date.now() + 90 * DAY),
    });
    return { subject, provider: 'openbanking', externalRef: partnerRef, ...credential };
  }

  /**
   * Resolves once a second caller on `held`'s link is queued behind the holder, or has got past it
   * (`through`): on PostgreSQL, when the server shows a session waiting for the link's advisory lock;
   * on PGlite, after round trips through the database that a caller not waiting would have finished
   * its read in.
   */
  async function queuedBehind(held: PartnerCredential, through: () => boolean): Promise<void> {
    if (db.kind === 'pglite') {
      for (let i = 0; i < 3; i += 1) await db.query('SELECT 1');
      return;
    }
    const key = JSON.stringify([held.subject, held.provider, held.externalRef]);
    for (;;) {
      const [row] = await db.query<{ n: number }>(
        `SELECT count(*)::int AS n FROM pg_locks
         WHERE locktype = 'advisory' AND NOT granted AND objsubid = 1
           AND database = (SELECT oid FROM pg_database WHERE datname = current_database())
           AND (classid::text::bigint << 32 | objid::text::bigint) =
               hashtextextended('tributary.credential-refresh.' || coalesce(current_schema(), '') || '.' || $1, 0)`,
        [key],
      );
      if ((row?.n ?? 0) > 0 || through()) return;
      await new Promise((resolve) => setTimeout(resolve, 20));
    }
  }

  it('lets one caller at a time refresh a link, and hands the next one what the first saved', async () => {
    const linked = await link();
    const { subject, provider, externalRef } = linked;
    const events: string[] = [];
    const entered = deferred();
    const release = deferred();
    const holding = first.credentials.refreshing(subject, provider, externalRef, async (current) => {
      events.push(`first read ${current?.accessToken === linked.accessToken ? 'the linked token' : 'other'}`);
      entered.resolve();
      await release.promise;
      events.push('first saved');
      return { ...current!, accessToken: 'rotated-access', refreshToken: 'rotated-refresh' };
    });
    await entered.promise;
    const waiting = second.credentials.refreshing(subject, provider, externalRef, async (current) => {
      events.push(
        `second read ${current?.accessToken === 'rotated-access' ? 'the rotated token' : 'a stale one'}`,
      );
      // Another replica refreshed meanwhile: the stored credential is the answer, nothing is saved.
      return current!;
    });
    await queuedBehind(linked, () => events.length > 1);
    const whileHeld = [...events];
    release.resolve();
    expect(whileHeld).toEqual(['first read the linked token']);

    const [saved, seen] = await Promise.all([holding, waiting]);
    expect(events).toEqual(['first read the linked token', 'first saved', 'second read the rotated token']);
    expect(saved).toMatchObject({ accessToken: 'rotated-access', refreshToken: 'rotated-refresh' });
    expect(seen).toMatchObject({ accessToken: 'rotated-access', refreshToken: 'rotated-refresh' });
    expect(await second.credentials.get(subject, provider)).toMatchObject({
      externalRef,
      accessToken: 'rotated-access',
      refreshToken: 'rotated-refresh',
    });
  });

  it('never makes callers on different links wait for each other', async () => {
    const [one, other] = [await link(), await link()];
    const release = deferred();
    const entered = deferred();
    const holding = first.credentials.refreshing(
      one.subject,
      'openbanking',
      one.externalRef,
      async (current) => {
        entered.resolve();
        await release.promise;
        return current!;
      },
    );
    await entered.promise;
    // The other link refreshes to the end while the first one's lock is still held.
    const done = await second.credentials.refreshing(
      other.subject,
      'openbanking',
      other.externalRef,
      async (current) => ({ ...current!, accessToken: 'other-rotated' }),
    );
    expect(done.accessToken).toBe('other-rotated');
    expect((await first.credentials.get(other.subject, 'openbanking'))?.accessToken).toBe('other-rotated');
    release.resolve();
    expect((await holding).accessToken).toBe(one.accessToken);
  });

  it('saves nothing when the holder fails, and lets the next caller in with the stored credential', async () => {
    const linked = await link();
    const { subject, provider, externalRef } = linked;
    const failing = first.credentials.refreshing(subject, provider, externalRef, async () => {
      throw new Error('invalid_grant');
    });
    await expect(failing).rejects.toThrow('invalid_grant');
    const next = await second.credentials.refreshing(
      subject,
      provider,
      externalRef,
      async (current) => current!,
    );
    expect(next).toEqual(linked);
  });

  it('hands null for a link that is no longer active, and refuses to save onto it', async () => {
    const linked = await link();
    const { subject, provider, externalRef } = linked;
    const [consent] = await first.listBySubject(subject);
    await first.revoke(subject, consent!.id);
    let handed: PartnerCredential | null | undefined;
    const saving = second.credentials.refreshing(subject, provider, externalRef, async (current) => {
      handed = current;
      return { ...linked, accessToken: 'too-late' };
    });
    await expect(saving).rejects.toMatchObject({ code: 'NOT_FOUND' });
    expect(handed).toBeNull();
  });
});
