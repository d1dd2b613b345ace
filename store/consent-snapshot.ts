/**
 * One request's view of one subject's consents (DESIGN §12): the subject's active consents are read
 * once, on first use, and answer every permission check of the request; each partner's credential is
 * decrypted at most once and shared by concurrent callers (promises are memoised, so loaders running
 * side by side never race into a second read).
 *
 * Built per request and dropped with it, never cached across requests: a consent revoked or expired
 * before a request starts is refused by that request. Refreshed tokens are written through to the
 * store, and later reads in the same request get what was stored, never the token it replaced.
 * Another subject's credential is never answered from here: it goes to the store.
 */
import type { Consent, ProviderName } from '../domain/model.js';
import type { CredentialStore, PartnerCredential } from '../domain/providers.js';
import type { ActiveConsent, ConsentRepository } from './consents.js';

export class ConsentSnapshot {
  #active: Promise<ActiveConsent[]> | null = null;
  readonly #credentials = new Map<ProviderName, Promise<PartnerCredential | null>>();

  constructor(
    readonly subject: string,
    private readonly repository: Pick<ConsentRepository, 'listActive' | 'credentials'>,
  ) {}

  /** The subject's newest active consent with the provider (holding the permission, when given). */
  async findActive(provider: ProviderName, permission?: string): Promise<Consent | null> {
    const active = await this.#load();
    const found = active.find(
      ({ consent }) =>
        consent.provider === provider &&
        (permission === undefined || consent.permissions.includes(permission)),
    );
    return found?.consent ?? null;
  }

  /** The providers the subject holds an active consent with, each once. */
  async providers(): Promise<ProviderName[]> {
    return [...new Set((await this.#load()).map(({ consent }) => consent.provider))];
  }

  /** The CredentialStore of this request, for providers (reached through the registry). */
  readonly credentials: CredentialStore = {
    get: (subject, provider) =>
      subject === this.subject
        ? this.#credential(provider)
        : this.repository.credentials.get(subject, provider),
    update: (credential) => this.#update(credential),
    // The lock is the process store's (shared by every request and replica); this view re-reads after.
    refreshing: (subject, provider, externalRef, fn) =>
      this.#rereadAfter(
        subject,
        provider,
        this.repository.credentials.refreshing(subject, provider, externalRef, fn),
      ),
  };

  #load(): Promise<ActiveConsent[]> {
    this.#active ??= this.repository.listActive(this.subject);
    return this.#active;
  }

  /** Like the store: the newest active consent with the provider that holds a credential. */
  #credential(provider: ProviderName): Promise<PartnerCredential | null> {
    let credential = this.#credentials.get(provider);
    if (!credential) {
      credential = this.#load().then((active) => {
        const link = active.find(
          ({ consent, openCredential }) => consent.provider === provider && openCredential,
        );
        return link?.openCredential?.() ?? null;
      });
      this.#credentials.set(provider, credential);
    }
    return credential;
  }

  async #update(credential: PartnerCredential): Promise<void> {
    await this.#rereadAfter(
      credential.subject,
      credential.provider,
      this.repository.credentials.update(credential),
    );
  }

  /** `written`'s outcome; this subject's later reads of the provider's credential wait for it, then ask the store. */
  async #rereadAfter<T>(subject: string, provider: ProviderName, written: Promise<T>): Promise<T> {
    if (subject === this.subject) {
      // Whatever the write's outcome (a link revoked meanwhile fails it), later reads ask the store.
      const reread = written
        .catch(() => undefined)
        .then(() => this.repository.credentials.get(subject, provider));
      // A re-read nobody asks for must not surface as an unhandled rejection.
      reread.catch(() => undefined);
      this.#credentials.set(provider, reread);
    }
    return written;
  }
}
