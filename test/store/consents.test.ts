import { randomBytes, randomUUID } from 'node:crypto';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { ConsentRepository } from '../../store/consents.js';
import type { GrantConsentInput } from '../../store/consents.js';
import type { Db } from '../../store/db.js';
import { SecretBox, SecretBoxError } from '../../store/secrets.js';
import { InputError, NotFoundError } from '../../domain/errors.js';
import { testBackends } from '../helpers/db.js';

const k1 = randomBytes(32);
const k2 = randomBytes(32);
const box = new SecretBox({ current: 'k1', keys: { k1 } });
const DAY = 86_400_000;
const T0 = new Date('2025-06-01T10:00:00.000Z');

/** A unique subject per test, so tests can share one database. */
const newSubject = () => `cust_${randomUUID().slice(0, 8)}`;

function grantInput(subject: string, overrides: Partial<GrantConsentInput> = {}): GrantConsentInput {
  return {
    subject,
    provider: 'plaid',
    permissions: ['accounts:read', 'transactions:read'],
    partnerRef: `item-${randomUUID()}`,
    credential: {
      accessToken: `access-${randomUUID()}`,
      refreshToken: `refresh-${randomUUID()}`,
      expiresAt: new Date(T0.getTime() + DAY),
    },
    expiresAt: new Date(T0.getTime() + 90 * DAY),
    ...overrides,
  };
}

describe.each(testBackends())('consents on $kind', (backend) => {
  let db: Db;
  let now: Date;
  let consents: ConsentRepository;
  beforeAll(async () => {
    db = await backend.open();
    now = T0;
    consents = new ConsentRepository(db, box, { now: () => now });
  });
  afterAll(async () => {
    await db.close();
  });
  const rawRow = async (id: string) =>
    (
      await db.query<{ credentials_sealed: string | null; key_id: string | null }>(
        'SELECT credentials_sealed, key_id FROM consents WHERE id = $1',
        [id],
      )
    )[0];

  it('grants an active consent mapped to the canonical type', async () => {
    const subject = newSubject();
    const consent = await consents.grant(
      grantInput(subject, { permissions: ['accounts:read', 'accounts:read'] }),
    );
    expect(consent).toEqual({
      id: expect.stringMatching(/^[0-9a-f-]{36}$/),
      subject,
      provider: 'plaid',
      permissions: ['accounts:read'],
      status: 'ACTIVE',
      grantedAt: T0,
      authorisedAt: T0,
      expiresAt: new Date(T0.getTime() + 90 * DAY),
      revokedAt: null,
    });
  });

  it('refuses a consent without permissions or expiring before it is granted', async () => {
    const subject = newSubject();
    await expect(consents.grant(grantInput(subject, { permissions: [] }))).rejects.toBeInstanceOf(InputError);
    await expect(consents.grant(grantInput(subject, { expiresAt: T0 }))).rejects.toThrow(/expire after/);
  });

  it("lists only the subject's own consents, newest first", async () => {
    const [alice, bob] = [newSubject(), newSubject()];
    const older = await consents.grant(grantInput(alice, { grantedAt: new Date(T0.getTime() - DAY) }));
    const newer = await consents.grant(grantInput(alice, { provider: 'openbanking' }));
    await consents.grant(grantInput(bob));
    expect((await consents.listBySubject(alice)).map((consent) => consent.id)).toEqual([newer.id, older.id]);
  });

  it("answers null for another subject's consent, an unknown id and a malformed id", async () => {
    const [alice, bob] = [newSubject(), newSubject()];
    const consent = await consents.grant(grantInput(alice));
    expect(await consents.get(alice, consent.id)).toEqual(consent);
    expect(await consents.get(bob, consent.id)).toBeNull();
    expect(await consents.get(alice, randomUUID())).toBeNull();
    expect(await consents.get(alice, 'not-a-uuid')).toBeNull();
  });

  it('revokes once, drops the tokens, and ignores revocation by another subject', async () => {
    const [alice, bob] = [newSubject(), newSubject()];
    const consent = await consents.grant(grantInput(alice));
    expect(await consents.revoke(bob, consent.id)).toBeNull();
    expect((await consents.get(alice, consent.id))?.status).toBe('ACTIVE');

    const revokedAt = new Date(T0.getTime() + 1000);
    expect(await consents.revoke(alice, consent.id, revokedAt)).toMatchObject({
      status: 'REVOKED',
      revokedAt,
    });
    expect(await consents.revoke(alice, consent.id, new Date(T0.getTime() + 5000))).toMatchObject({
      revokedAt,
    });
    expect(await rawRow(consent.id)).toEqual({ credentials_sealed: null, key_id: null });
    expect(await consents.findActive(alice, 'plaid')).toBeNull();
    expect(await consents.credentials.get(alice, 'plaid')).toBeNull();
  });

  it('derives EXPIRED once the expiry passes and stops serving the consent and its tokens', async () => {
    const subject = newSubject();
    const consent = await consents.grant(grantInput(subject, { expiresAt: new Date(T0.getTime() + DAY) }));
    try {
      now = new Date(T0.getTime() + DAY);
      expect((await consents.get(subject, consent.id))?.status).toBe('EXPIRED');
      expect(await consents.findActive(subject, 'plaid')).toBeNull();
      expect(await consents.credentials.get(subject, 'plaid')).toBeNull();
    } finally {
      now = T0;
    }
  });

  it('finds the newest active consent, filtered by permission', async () => {
    const subject = newSubject();
    const accounts = await consents.grant(
      grantInput(subject, { permissions: ['accounts:read'], grantedAt: new Date(T0.getTime() - DAY) }),
    );
    const payments = await consents.grant(grantInput(subject, { permissions: ['payments:write'] }));
    expect((await consents.findActive(subject, 'plaid'))?.id).toBe(payments.id);
    expect((await consents.findActive(subject, 'plaid', 'accounts:read'))?.id).toBe(accounts.id);
    expect(await consents.findActive(subject, 'plaid', 'balances:read')).toBeNull();
    expect(await consents.findActive(subject, 'stripe')).toBeNull();
  });

  it('stores tokens only sealed and hands them back decrypted through the CredentialStore', async () => {
    const subject = newSubject();
    const input = grantInput(subject);
    const consent = await consents.grant(input);
    const raw = await rawRow(consent.id);
    expect(raw?.key_id).toBe('k1');
    expect(raw?.credentials_sealed).toMatch(/^v1\.k1\./);
    expect(raw?.credentials_sealed).not.toContain(input.credential?.accessToken);
    expect(raw?.credentials_sealed).not.toContain(input.credential?.refreshToken);
    expect(await consents.credentials.get(subject, 'plaid')).toEqual({
      subject,
      provider: 'plaid',
      externalRef: input.partnerRef,
      ...input.credential,
    });
  });

  it('refuses a sealed credential copied onto another row', async () => {
    const [alice, bob] = [newSubject(), newSubject()];
    const stolen = await consents.grant(grantInput(alice));
    const target = await consents.grant(grantInput(bob));
    await db.query('UPDATE consents SET credentials_sealed = $1 WHERE id = $2', [
      (await rawRow(stolen.id))?.credentials_sealed,
      target.id,
    ]);
    await expect(consents.credentials.get(bob, 'plaid')).rejects.toBeInstanceOf(SecretBoxError);
  });

  it('re-seals refreshed tokens for an existing link and refuses an unknown link', async () => {
    const subject = newSubject();
    const input = grantInput(subject);
    const consent = await consents.grant(input);
    const before = await rawRow(consent.id);
    const refreshed = {
      subject,
      provider: 'plaid' as const,
      externalRef: input.partnerRef,
      accessToken: 'access-refreshed',
      refreshToken: null,
      expiresAt: null,
    };
    await consents.credentials.update(refreshed);
    expect(await consents.credentials.get(subject, 'plaid')).toEqual(refreshed);
    expect((await rawRow(consent.id))?.credentials_sealed).not.toBe(before?.credentials_sealed);
    await expect(
      consents.credentials.update({ ...refreshed, externalRef: 'item-unknown' }),
    ).rejects.toBeInstanceOf(NotFoundError);
  });

  it('keeps reading credentials after key rotation and re-seals them under the new key', async () => {
    const subject = newSubject();
    const input = grantInput(subject);
    const consent = await consents.grant(input);
    const rotated = new ConsentRepository(db, new SecretBox({ current: 'k2', keys: { k2, k1 } }), {
      now: () => now,
    });
    expect((await rotated.credentials.get(subject, 'plaid'))?.accessToken).toBe(
      input.credential?.accessToken,
    );

    const corrupt = await consents.grant(grantInput(newSubject()));
    await db.query("UPDATE consents SET credentials_sealed = credentials_sealed || 'AA' WHERE id = $1", [
      corrupt.id,
    ]);

    const { resealed, unreadable } = await rotated.resealCredentials(2);
    expect(resealed).toBeGreaterThanOrEqual(1);
    expect(unreadable).toContain(corrupt.id);
    expect(await rawRow(consent.id)).toMatchObject({
      key_id: 'k2',
      credentials_sealed: expect.stringMatching(/^v1\.k2\./),
    });
    const leftBehind = await db.query<{ id: string }>("SELECT id FROM consents WHERE key_id = 'k1'");
    expect(leftBehind.map((row) => row.id).sort()).toEqual([...unreadable].sort());
    const retired = new ConsentRepository(db, new SecretBox({ current: 'k2', keys: { k2 } }), {
      now: () => now,
    });
    expect((await retired.credentials.get(subject, 'plaid'))?.accessToken).toBe(
      input.credential?.accessToken,
    );
  });

  it("erases a subject's consents and tokens, and only theirs", async () => {
    const [alice, bob] = [newSubject(), newSubject()];
    await consents.grant(grantInput(alice));
    await consents.grant(grantInput(alice, { provider: 'openbanking' }));
    await consents.grant(grantInput(bob));
    expect(await consents.eraseSubject(alice)).toBe(2);
    expect(await consents.listBySubject(alice)).toEqual([]);
    expect(await db.query('SELECT id FROM consents WHERE subject = $1', [alice])).toEqual([]);
    expect(await consents.listBySubject(bob)).toHaveLength(1);
  });

  it('finds consents by the partner reference webhooks carry', async () => {
    const subject = newSubject();
    const input = grantInput(subject);
    const consent = await consents.grant(input);
    expect(await consents.findByPartnerRef('plaid', input.partnerRef)).toEqual([consent]);
    expect(await consents.findByPartnerRef('openbanking', input.partnerRef)).toEqual([]);
  });

  describe('the lifecycle of a grant through the graph', () => {
    const start = (subject: string, state = randomBytes(32).toString('base64url')) =>
      consents.startGrant({
        subject,
        provider: 'openbanking',
        permissions: ['accounts:read'],
        partnerRef: `consent-${randomUUID()}`,
        expiresAt: null,
        state,
        pending: { codeVerifier: `verifier-${randomUUID()}`, redirectUri: 'https://app.example/done' },
      });
    const link = (accessToken = `access-${randomUUID()}`) => ({
      partnerRef: `consent-${randomUUID()}`,
      credential: { accessToken, refreshToken: null, expiresAt: null },
    });

    it('waits for the customer without a credential and is never active until authorised', async () => {
      const subject = newSubject();
      const waiting = await start(subject);
      expect(waiting).toMatchObject({ status: 'AWAITING_AUTHORISATION', authorisedAt: null });
      expect(await consents.findActive(subject, 'openbanking')).toBeNull();
      expect(await consents.listActive(subject)).toEqual([]);
      expect(await consents.credentials.get(subject, 'openbanking')).toBeNull();
    });

    it('keeps only the digest of the state and the verifier sealed, and finds the grant by its state once', async () => {
      const subject = newSubject();
      const state = randomBytes(32).toString('base64url');
      const waiting = await start(subject, state);
      const [row] = await db.query<Record<string, string | null>>(
        'SELECT state_digest, pending_sealed FROM consents WHERE id = $1',
        [waiting.id],
      );
      expect(JSON.stringify(row)).not.toContain(state);
      expect(row?.pending_sealed).not.toContain('verifier-');
      const found = await consents.pendingByState(state);
      expect(found?.consent.id).toBe(waiting.id);
      expect(found?.pending).toMatchObject({ redirectUri: 'https://app.example/done' });
      expect(await consents.pendingByState(`${state}x`)).toBeNull();

      const authorised = await consents.authorise(waiting, link('access-after'));
      expect(authorised).toMatchObject({ status: 'ACTIVE', authorisedAt: now });
      expect((await consents.credentials.get(subject, 'openbanking'))?.accessToken).toBe('access-after');
      // The state is spent: the same answer again finds nothing, and authorising again changes nothing.
      expect(await consents.pendingByState(state)).toBeNull();
      expect(await consents.authorise(waiting, link())).toBeNull();
      expect(await consents.decline(waiting)).toBeNull();
    });

    it('records a declined grant as REJECTED and never activates it afterwards', async () => {
      const subject = newSubject();
      const waiting = await start(subject);
      expect(await consents.decline(waiting)).toMatchObject({ status: 'REJECTED' });
      expect(await consents.authorise(waiting, link())).toBeNull();
      expect(await consents.findActive(subject, 'openbanking')).toBeNull();
    });

    it('revokes at once and keeps the sealed credential only until the partner confirmed the deletion', async () => {
      const subject = newSubject();
      const waiting = await start(subject);
      await consents.authorise(waiting, link('access-to-delete'));
      const revoked = await consents.revokeWithPartner(subject, waiting.id);
      expect(revoked).toMatchObject({ status: 'REVOKED', revokedAt: now });
      expect(await consents.credentials.get(subject, 'openbanking')).toBeNull();
      const [due] = await consents.duePartnerRevocations(10, waiting.id);
      expect(due).toMatchObject({ accessToken: 'access-to-delete', attempts: 0 });

      await consents.partnerRevocationFailed(waiting.id, 'bank down', new Date(now.getTime() + 60_000));
      expect(await consents.duePartnerRevocations(10, waiting.id)).toEqual([]);
      now = new Date(now.getTime() + 60_000);
      expect(await consents.duePartnerRevocations(10, waiting.id)).toEqual([
        expect.objectContaining({ attempts: 1 }),
      ]);
      await consents.partnerRevoked(waiting.id);
      expect(await consents.duePartnerRevocations(10, waiting.id)).toEqual([]);
      expect((await rawRow(waiting.id))?.credentials_sealed).toBeNull();
      // Revoking again schedules nothing new.
      await consents.revokeWithPartner(subject, waiting.id);
      expect(await consents.duePartnerRevocations(10, waiting.id)).toEqual([]);
    });

    it("does not revoke another subject's consent", async () => {
      const [owner, other] = [newSubject(), newSubject()];
      const waiting = await start(owner);
      expect(await consents.revokeWithPartner(other, waiting.id)).toBeNull();
      expect((await consents.get(owner, waiting.id))?.status).toBe('AWAITING_AUTHORISATION');
    });
  });
});
