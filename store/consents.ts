/**
 * Consent records (DESIGN §12) and the partner credentials that come with them (DESIGN §8; the
 * credential side is store/consent-links.ts, the row shapes store/consent-rows.ts).
 *
 * Every read takes the subject, so one customer's consent is invisible to another: ownership is
 * enforced here, in the data layer, not only by the callers. Tokens are sealed with the SecretBox
 * bound to the row (`consent:<id>:<subject>:<provider>`), so a ciphertext copied onto another row does
 * not open, and they are dropped as soon as the consent is revoked (data minimisation) or, when the
 * link must still be deleted at the partner, as soon as the partner confirmed it.
 *
 * A grant through the graph lives here from its start: `startGrant` records it AWAITING_AUTHORISATION
 * with the digest of its OAuth state and the sealed PKCE verifier; `pendingByState` finds it again when
 * the customer comes back; `authorise` or `decline` closes it. Only authorised, unrevoked, unexpired
 * consents are ACTIVE, and only those reach partners.
 */
import { createHash, randomUUID } from 'node:crypto';
import { isProviderName } from '../domain/model.js';
import type { Consent, ProviderName } from '../domain/model.js';
import type { CredentialStore, PartnerCredential } from '../domain/providers.js';
import { InputError } from '../domain/errors.js';
import { openCredential } from './consent-credentials.js';
import type { ConsentCredential } from './consent-credentials.js';
import { ConsentLinks } from './consent-links.js';
import {
  ACTIVE,
  activeAt,
  AWAITING,
  COLUMNS,
  NEWEST_FIRST,
  toConsent,
  type ActiveConsent,
  type ConsentRow,
  type DuePartnerRevocation,
  type GrantConsentInput,
  type PendingGrant,
  type StartGrantInput,
} from './consent-rows.js';
import type { ChangeFeed } from './change-feed.js';
import type { Db } from './db.js';
import type { SecretBox } from './secrets.js';

export type { ConsentCredential } from './consent-credentials.js';
export type {
  ActiveConsent,
  DuePartnerRevocation,
  GrantConsentInput,
  PendingGrant,
  StartGrantInput,
} from './consent-rows.js';

/** The stored digest of an OAuth state: the state itself never rests in the database. */
export const stateDigest = (state: string): string =>
  createHash('sha256').update(state, 'utf8').digest('hex');

/** Throws InputError for the first field that makes the grant meaningless. */
function checkGrant(input: GrantConsentInput, permissions: readonly string[], grantedAt: Date): void {
  const problems: [boolean, string, string][] = [
    [!input.subject, 'A consent needs a subject.', 'subject'],
    [!isProviderName(input.provider), `Unknown provider ${input.provider}.`, 'provider'],
    [permissions.length === 0, 'A consent needs at least one permission.', 'permissions'],
    [!input.partnerRef, "A consent needs the partner's reference.", 'partnerRef'],
    [
      input.expiresAt !== null && input.expiresAt <= grantedAt,
      'A consent must expire after it is granted.',
      'expiresAt',
    ],
  ];
  const problem = problems.find(([failed]) => failed);
  if (problem) throw new InputError(problem[1], problem[2]);
}

const UUID = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/i;

/** The change-feed topic of consent changes; the key is the subject. */
export const CONSENTS_TOPIC = 'consents';

/** Associated data of a pending grant's secrets: another row's ciphertext does not open here. */
const pendingAad = (owner: { id: string; subject: string; provider: string }): string =>
  `consent-pending:${owner.id}:${owner.subject}:${owner.provider}`;

/** Consent records of every subject, and the CredentialStore providers read tokens from. */
export class ConsentRepository {
  readonly #now: () => Date;

  readonly #changes: ChangeFeed | null;

  readonly #links: ConsentLinks;

  /**
   * `now` exists for tests; status and expiry are derived from it. `changes` hears of every change to
   * a subject's consents or credentials (topic CONSENTS_TOPIC), so caches on every replica drop them.
   */
  constructor(
    private readonly db: Db,
    private readonly box: SecretBox,
    options: { now?: () => Date; changes?: ChangeFeed } = {},
  ) {
    this.#now = options.now ?? (() => new Date());
    this.#changes = options.changes ?? null;
    this.#links = new ConsentLinks(db, box, this.#now, (subject) => this.#changed(subject));
    this.credentials = this.#links.credentials;
  }

  /** Tells every replica that the subject's consents changed (after the change is committed). */
  async #changed(subject: string): Promise<void> {
    await this.#changes?.publish(CONSENTS_TOPIC, subject);
  }

  /** Records a consent the customer already authorised (a link made outside the graph), sealing its credential. */
  async grant(input: GrantConsentInput): Promise<Consent> {
    const grantedAt = input.grantedAt ?? this.#now();
    const permissions = [...new Set(input.permissions)];
    checkGrant(input, permissions, grantedAt);
    const id = randomUUID();
    const sealed = input.credential
      ? this.#links.seal({ id, subject: input.subject, provider: input.provider }, input.credential)
      : null;
    const [row] = await this.db.query<ConsentRow>(
      `INSERT INTO consents (id, subject, provider, permissions, partner_ref, credentials_sealed, key_id,
         granted_at, authorised_at, expires_at, created_at, updated_at)
       VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $8, $9, $10, $10) RETURNING ${COLUMNS}`,
      [
        id,
        input.subject,
        input.provider,
        permissions,
        input.partnerRef,
        sealed,
        sealed && this.box.currentKeyId,
        grantedAt,
        input.expiresAt,
        this.#now(),
      ],
    );
    await this.#changed(input.subject);
    return this.#toConsent(row as ConsentRow);
  }

  /** Records a grant waiting for the customer at the partner (AWAITING_AUTHORISATION). */
  async startGrant(input: StartGrantInput): Promise<Consent> {
    const grantedAt = this.#now();
    const permissions = [...new Set(input.permissions)];
    checkGrant({ ...input, credential: null }, permissions, grantedAt);
    const id = randomUUID();
    const owner = { id, subject: input.subject, provider: input.provider };
    const [row] = await this.db.query<ConsentRow>(
      `INSERT INTO consents (id, subject, provider, permissions, partner_ref, granted_at, expires_at,
         state_digest, pending_sealed, created_at, updated_at)
       VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $6, $6) RETURNING ${COLUMNS}`,
      [
        id,
        input.subject,
        input.provider,
        permissions,
        input.partnerRef,
        grantedAt,
        input.expiresAt,
        stateDigest(input.state),
        this.box.seal(JSON.stringify(input.pending), pendingAad(owner)),
      ],
    );
    await this.#changed(input.subject);
    return this.#toConsent(row as ConsentRow);
  }

  /**
   * The grant still waiting for the customer that was handed `state`, with its secrets and the
   * partner's handle; null when no grant waits under it (unknown, answered, revoked).
   */
  async pendingByState(
    state: string,
  ): Promise<{ consent: Consent; partnerRef: string; pending: PendingGrant } | null> {
    const [row] = await this.db.query<ConsentRow>(
      `SELECT ${COLUMNS} FROM consents WHERE state_digest = $1 AND ${AWAITING}`,
      [stateDigest(state)],
    );
    if (!row?.pending_sealed) return null;
    const pending = JSON.parse(this.box.open(row.pending_sealed, pendingAad(row))) as PendingGrant;
    return { consent: this.#toConsent(row), partnerRef: row.partner_ref, pending };
  }

  /**
   * The customer approved: the grant becomes ACTIVE with the link's credential and handle, and its
   * state and secrets are dropped. Null when it no longer waits (answered or revoked meanwhile).
   */
  async authorise(
    consent: Pick<Consent, 'id' | 'subject' | 'provider'>,
    link: { partnerRef: string; credential: ConsentCredential },
  ): Promise<Consent | null> {
    const now = this.#now();
    const [row] = await this.db.query<ConsentRow>(
      `UPDATE consents SET authorised_at = $3, partner_ref = $4, credentials_sealed = $5, key_id = $6,
         state_digest = NULL, pending_sealed = NULL, updated_at = $3
       WHERE id = $1 AND subject = $2 AND ${AWAITING} RETURNING ${COLUMNS}`,
      [
        consent.id,
        consent.subject,
        now,
        link.partnerRef,
        this.#links.seal(consent, link.credential),
        this.box.currentKeyId,
      ],
    );
    await this.#changed(consent.subject);
    return row ? this.#toConsent(row) : null;
  }

  /** The customer (or the partner) said no: REJECTED, its state and secrets dropped. Null when it no longer waits. */
  async decline(consent: Pick<Consent, 'id' | 'subject'>): Promise<Consent | null> {
    const now = this.#now();
    const [row] = await this.db.query<ConsentRow>(
      `UPDATE consents SET declined_at = $3, state_digest = NULL, pending_sealed = NULL, updated_at = $3
       WHERE id = $1 AND subject = $2 AND ${AWAITING} RETURNING ${COLUMNS}`,
      [consent.id, consent.subject, now],
    );
    await this.#changed(consent.subject);
    return row ? this.#toConsent(row) : null;
  }

  /**
   * Revokes the subject's consent here at once and schedules its deletion at the partner: the sealed
   * credential stays (the partner may need it to delete the link) until `partnerRevoked`. Revoking
   * twice keeps the first time and schedules nothing new. Null when it does not exist or belongs to
   * another subject.
   */
  async revokeWithPartner(subject: string, id: string): Promise<Consent | null> {
    if (!UUID.test(id)) return null;
    const now = this.#now();
    const [row] = await this.db.query<ConsentRow>(
      `UPDATE consents SET
         partner_revocation_due = CASE WHEN revoked_at IS NULL AND declined_at IS NULL THEN $3
                                       ELSE partner_revocation_due END,
         revoked_at = coalesce(revoked_at, $3), state_digest = NULL, pending_sealed = NULL, updated_at = $3
       WHERE id = $1 AND subject = $2 RETURNING ${COLUMNS}`,
      [id, subject, now],
    );
    await this.#changed(subject);
    return row ? this.#toConsent(row) : null;
  }

  /**
   * Revoked consents whose deletion at the partner is due, oldest first, with their credential opened;
   * only consent `id` when given.
   */
  async duePartnerRevocations(limit: number, id?: string): Promise<DuePartnerRevocation[]> {
    const rows = await this.db.query<ConsentRow>(
      `SELECT ${COLUMNS} FROM consents WHERE partner_revocation_due <= $1 AND ($3::uuid IS NULL OR id = $3)
       ORDER BY partner_revocation_due, id LIMIT $2`,
      [this.#now(), limit, id ?? null],
    );
    return rows.map((row) => ({
      consent: this.#toConsent(row),
      partnerRef: row.partner_ref,
      accessToken: this.#links.open(row)?.accessToken ?? null,
      attempts: row.partner_revocation_attempts,
    }));
  }

  /** The partner deleted the link: nothing is due any more and the credential is dropped. */
  async partnerRevoked(id: string): Promise<void> {
    await this.db.query(
      `UPDATE consents SET partner_revocation_due = NULL, partner_revocation_error = NULL,
         credentials_sealed = NULL, key_id = NULL, updated_at = $2
       WHERE id = $1`,
      [id, this.#now()],
    );
  }

  /** The partner could not be reached: try again at `retryAt`, keeping why. */
  async partnerRevocationFailed(id: string, error: string, retryAt: Date): Promise<void> {
    await this.db.query(
      `UPDATE consents SET partner_revocation_due = $2, partner_revocation_error = $3,
         partner_revocation_attempts = partner_revocation_attempts + 1, updated_at = $4
       WHERE id = $1 AND partner_revocation_due IS NOT NULL`,
      [id, retryAt, error.slice(0, 500), this.#now()],
    );
  }

  /** Every consent of the subject, newest first, whatever its status. */
  async listBySubject(subject: string): Promise<Consent[]> {
    const rows = await this.db.query<ConsentRow>(
      `SELECT ${COLUMNS} FROM consents WHERE subject = $1 ${NEWEST_FIRST}`,
      [subject],
    );
    return rows.map((row) => this.#toConsent(row));
  }

  /** The consent, or null when it does not exist or belongs to another subject. */
  async get(subject: string, id: string): Promise<Consent | null> {
    if (!UUID.test(id)) return null;
    const [row] = await this.db.query<ConsentRow>(
      `SELECT ${COLUMNS} FROM consents WHERE id = $1 AND subject = $2`,
      [id, subject],
    );
    return row ? this.#toConsent(row) : null;
  }

  /**
   * Revokes the subject's consent and drops its tokens; revoking twice keeps the first time.
   * Null when it does not exist or belongs to another subject.
   */
  async revoke(subject: string, id: string, at: Date = this.#now()): Promise<Consent | null> {
    if (!UUID.test(id)) return null;
    const [row] = await this.db.query<ConsentRow>(
      `UPDATE consents SET revoked_at = coalesce(revoked_at, $3), credentials_sealed = NULL, key_id = NULL,
         updated_at = $4
       WHERE id = $1 AND subject = $2 RETURNING ${COLUMNS}`,
      [id, subject, at, this.#now()],
    );
    await this.#changed(subject);
    return row ? this.#toConsent(row) : null;
  }

  /** The newest ACTIVE consent of the subject at the provider (with the permission, when given). */
  async findActive(subject: string, provider: ProviderName, permission?: string): Promise<Consent | null> {
    const [row] = await this.db.query<ConsentRow>(
      `SELECT ${COLUMNS} FROM consents
       WHERE subject = $1 AND provider = $2 AND ${ACTIVE} AND ($4::text IS NULL OR $4 = ANY (permissions))
       ${NEWEST_FIRST} LIMIT 1`,
      [subject, provider, this.#now(), permission ?? null],
    );
    return row ? this.#toConsent(row) : null;
  }

  /**
   * Every ACTIVE consent of the subject, newest first, in one query; a credential is decrypted only
   * when opened. What one request's ConsentSnapshot (store/consent-snapshot.ts) answers from.
   */
  async listActive(subject: string): Promise<ActiveConsent[]> {
    const rows = await this.db.query<ConsentRow>(
      `SELECT ${COLUMNS} FROM consents WHERE subject = $1 AND ${activeAt('$2')} ${NEWEST_FIRST}`,
      [subject, this.#now()],
    );
    return rows.map((row) => {
      const consent = this.#toConsent(row);
      const sealed = row.credentials_sealed;
      if (sealed === null) return { consent, openCredential: null };
      const open = (): PartnerCredential => ({
        subject,
        provider: consent.provider,
        externalRef: row.partner_ref,
        ...openCredential(this.box, row, sealed),
      });
      return { consent, openCredential: open };
    });
  }

  /** Consents carrying the partner's handle (webhooks name the link, not the subject). */
  async findByPartnerRef(provider: ProviderName, partnerRef: string): Promise<Consent[]> {
    const rows = await this.db.query<ConsentRow>(
      `SELECT ${COLUMNS} FROM consents WHERE provider = $1 AND partner_ref = $2 ${NEWEST_FIRST}`,
      [provider, partnerRef],
    );
    return rows.map((row) => this.#toConsent(row));
  }

  /**
   * GDPR erasure: deletes the subject's consent records and their sealed tokens; returns how many.
   * Revoking the link at the partner first, and the audit trail of the erasure, are the caller's job.
   */
  async eraseSubject(subject: string): Promise<number> {
    const erased = (await this.db.query('DELETE FROM consents WHERE subject = $1 RETURNING id', [subject]))
      .length;
    await this.#changed(subject);
    return erased;
  }

  /** How many stored credentials are sealed under another key than the current one. */
  countNotUnderCurrentKey(): Promise<number> {
    return this.#links.countNotUnderCurrentKey();
  }

  /** Re-seals every stored credential not under the current key (ConsentLinks.resealCredentials). */
  resealCredentials(
    batchSize?: number,
    onBatch?: (sofar: { resealed: number; unreadable: number }) => void,
  ): Promise<{ resealed: number; unreadable: string[] }> {
    return this.#links.resealCredentials(batchSize, onBatch);
  }

  /**
   * The CredentialStore that partner providers use (store/consent-links.ts). A view rather than the
   * class itself because `CredentialStore.get(subject, provider)` would collide with `get(subject, id)`.
   */
  readonly credentials: CredentialStore;

  #toConsent(row: ConsentRow): Consent {
    return toConsent(row, this.#now());
  }
}
