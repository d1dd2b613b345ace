/**
 * The partner credentials kept on consent rows (DESIGN §8), as the CredentialStore providers read
 * tokens from: the active link's credential, saving a refreshed one, one refresh per link at a time
 * across replicas, and re-sealing every credential under a new key. Consent lifecycle (grant, revoke,
 * erase) is store/consents.ts; both work on the same rows.
 */
import type { ProviderName } from '../domain/model.js';
import type { CredentialStore, PartnerCredential } from '../domain/providers.js';
import { NotFoundError } from '../domain/errors.js';
import { openCredential, sealCredential, type ConsentCredential } from './consent-credentials.js';
import { ACTIVE, COLUMNS, NEWEST_FIRST, type ConsentRow } from './consent-rows.js';
import type { Db, Queryable } from './db.js';
import { KeyedLock } from './keyed-lock.js';
import type { SecretBox } from './secrets.js';

/**
 * The refresh lock of one link on PostgreSQL, held until the transaction ends: one holder across every
 * replica on the schema ($1 names the link).
 */
const LINK_LOCK = `SELECT pg_advisory_xact_lock(hashtextextended('tributary.credential-refresh.' || coalesce(current_schema(), '') || '.' || $1, 0))`;

/** The refresh locks of links on the embedded database: one process is its only user (owner lock). */
const embeddedLinkLocks = new KeyedLock();

type Link = Pick<PartnerCredential, 'subject' | 'provider' | 'externalRef'>;

/** The credentials of consent links. */
export class ConsentLinks {
  /**
   * `now` decides which consents are active; `changed` is told (after the commit) of every saved
   * credential, so caches on every replica drop the subject's.
   */
  constructor(
    private readonly db: Db,
    private readonly box: SecretBox,
    private readonly now: () => Date,
    private readonly changed: (subject: string) => Promise<void>,
  ) {}

  /** The CredentialStore that partner providers use. */
  readonly credentials: CredentialStore = {
    get: (subject, provider) => this.#activeCredential(subject, provider),
    update: (credential) => this.#updateCredential(credential),
    refreshing: (subject, provider, externalRef, fn) =>
      this.#refreshing({ subject, provider, externalRef }, fn),
  };

  /** How many stored credentials are sealed under another key than the current one. */
  async countNotUnderCurrentKey(): Promise<number> {
    const [row] = await this.db.query<{ n: number }>(
      'SELECT count(*)::int AS n FROM consents WHERE key_id <> $1',
      [this.box.currentKeyId],
    );
    return row?.n ?? 0;
  }

  /**
   * Re-seals every stored credential that is not under the current key, in batches. Run after making a
   * new key current; the old key can leave the ring once `unreadable` is empty. Rows that no longer
   * open (tampered, or sealed with a key already gone) are listed, not fatal, so one bad row cannot
   * block a rotation.
   */
  async resealCredentials(
    batchSize = 100,
    onBatch?: (sofar: { resealed: number; unreadable: number }) => void,
  ): Promise<{ resealed: number; unreadable: string[] }> {
    const outcome = { resealed: 0, unreadable: [] as string[] };
    let after = '00000000-0000-0000-0000-000000000000';
    for (;;) {
      const seen = await this.db.transaction(async (tx) => {
        const rows = await tx.query<ConsentRow>(
          `SELECT ${COLUMNS} FROM consents WHERE key_id <> $1 AND id > $2
           ORDER BY id LIMIT $3 FOR UPDATE SKIP LOCKED`,
          [this.box.currentKeyId, after, batchSize],
        );
        for (const row of rows) {
          let credential: ConsentCredential;
          try {
            credential = this.open(row) as ConsentCredential;
          } catch {
            outcome.unreadable.push(row.id);
            continue;
          }
          await this.#store(tx, row.id, this.seal(row, credential));
          outcome.resealed += 1;
        }
        after = rows.at(-1)?.id ?? after;
        return rows.length;
      });
      onBatch?.({ resealed: outcome.resealed, unreadable: outcome.unreadable.length });
      if (seen < batchSize) return outcome;
    }
  }

  /** Seals a credential for its row under the current key. */
  seal(owner: Pick<ConsentRow, 'id' | 'subject' | 'provider'>, credential: ConsentCredential): string {
    return sealCredential(this.box, owner, credential);
  }

  /** Opens a row's credential; null when it holds none. Throws when it was altered or moved. */
  open(row: ConsentRow): ConsentCredential | null {
    return row.credentials_sealed === null ? null : openCredential(this.box, row, row.credentials_sealed);
  }

  async #activeCredential(subject: string, provider: ProviderName): Promise<PartnerCredential | null> {
    const [row] = await this.db.query<ConsentRow>(
      `SELECT ${COLUMNS} FROM consents
       WHERE subject = $1 AND provider = $2 AND ${ACTIVE} AND credentials_sealed IS NOT NULL
       ${NEWEST_FIRST} LIMIT 1`,
      [subject, provider, this.now()],
    );
    const credential = row ? this.open(row) : null;
    if (!row || !credential) return null;
    return { subject, provider, externalRef: row.partner_ref, ...credential };
  }

  async #updateCredential(credential: PartnerCredential): Promise<void> {
    const stored = await this.db.transaction((tx) => this.#write(tx, credential));
    await this.changed(credential.subject);
    if (!stored) throw new NotFoundError(`An active ${credential.provider} consent for this link`);
  }

  /** Saves the link's tokens in `tx`; false when the link is no longer active. */
  async #write(tx: Queryable, credential: PartnerCredential): Promise<boolean> {
    const row = await this.#linkRow(tx, credential, 'FOR UPDATE');
    if (!row) return false;
    const { accessToken, refreshToken, expiresAt } = credential;
    await this.#store(tx, row.id, this.seal(row, { accessToken, refreshToken, expiresAt }));
    return true;
  }

  /** The active consent row of one link (the partner's handle), newest first. */
  async #linkRow(q: Queryable, link: Link, lock: '' | 'FOR UPDATE' = ''): Promise<ConsentRow | undefined> {
    const [row] = await q.query<ConsentRow>(
      `SELECT ${COLUMNS} FROM consents
       WHERE subject = $1 AND provider = $2 AND ${ACTIVE} AND partner_ref = $4
       ${NEWEST_FIRST} LIMIT 1 ${lock}`,
      [link.subject, link.provider, this.now(), link.externalRef],
    );
    return row;
  }

  /** The link's credential as stored now; null when the link is inactive or holds none. */
  async #linkCredential(q: Queryable, link: Link): Promise<PartnerCredential | null> {
    const row = await this.#linkRow(q, link);
    const credential = row ? this.open(row) : null;
    return credential && { ...link, ...credential };
  }

  /**
   * CredentialStore.refreshing: on PostgreSQL, a transaction holding the link's advisory lock, in which
   * the credential is re-read, `fn` runs (the partner's token call) and its answer is saved, so a
   * replica waiting for the lock reads what the holder committed; on the embedded database, an
   * in-process lock around the same steps. What is saved is always this link's, whatever `fn` answers.
   */
  async #refreshing(
    link: Link,
    fn: (current: PartnerCredential | null) => Promise<PartnerCredential>,
  ): Promise<PartnerCredential> {
    const key = JSON.stringify([link.subject, link.provider, link.externalRef]);
    if (this.db.kind === 'pglite') {
      return embeddedLinkLocks.run(key, async () => {
        const current = await this.#linkCredential(this.db, link);
        const next = await fn(current);
        if (next !== current) await this.#updateCredential({ ...next, ...link });
        return next;
      });
    }
    let saved = false;
    const next = await this.db.transaction(async (tx) => {
      await tx.query(LINK_LOCK, [key]);
      const current = await this.#linkCredential(tx, link);
      const answer = await fn(current);
      if (answer !== current) {
        if (!(await this.#write(tx, { ...answer, ...link }))) {
          throw new NotFoundError(`An active ${link.provider} consent for this link`);
        }
        saved = true;
      }
      return answer;
    });
    if (saved) await this.changed(link.subject);
    return next;
  }

  async #store(tx: Queryable, id: string, sealed: string): Promise<void> {
    await tx.query(
      'UPDATE consents SET credentials_sealed = $2, key_id = $3, updated_at = $4 WHERE id = $1',
      [id, sealed, this.box.currentKeyId, this.now()],
    );
  }
}
