/**
 * The consent lifecycle (DESIGN §12) as the graph, the callback route and the CLI run it:
 *
 *   grantConsent    -> a grant AWAITING_AUTHORISATION here, the grant created at the partner, and
 *                      where the customer answers (the bank's authorisation URL, or a Plaid Link token)
 *   the answer      -> GET /consents/callback (the bank's redirect) or completeConsent: the code is
 *                      exchanged for the link's tokens and the consent becomes ACTIVE; a "no" makes it
 *                      REJECTED
 *   revokeConsent   -> REVOKED here at once (no read reaches the partner from then on), then deleted at
 *                      the partner; when the partner is down the deletion waits in the consents table
 *                      and the revocation worker retries it until the partner confirms
 *
 * The OAuth state and the PKCE verifier are generated here; the state rests only as a digest, the
 * verifier only sealed. Every step is written to the audit log.
 */
import { createHash, createHmac, randomBytes, randomUUID } from 'node:crypto';
import type { Logger } from 'pino';
import { InputError, NotFoundError, NotSupportedError } from '../../domain/errors.js';
import { decodeId } from '../../domain/ids.js';
import type { ProviderName } from '../../domain/model.js';
import { isProviderName } from '../../domain/model.js';
import type { CallContext, ConsentsProvider } from '../../domain/providers.js';
import type { AuditLog } from '../../store/audit.js';
import type { ConsentRepository } from '../../store/consents.js';
import type { Json } from '../../store/idempotency.js';
import type { SecretBox } from '../../store/secrets.js';
import { once, type OnceSettings } from './once.js';
import {
  checkRedirect,
  INVALID_ANSWER,
  userError,
  type CompleteConsentArgs,
  type ConsentAuthorisation,
  type ConsentPayload,
  type ConsentResult,
  type ConsentUserError,
  type GrantConsentArgs,
  type GrantPayload,
} from './payloads.js';

export type {
  CompleteConsentArgs,
  ConsentAuthorisation,
  ConsentPayload,
  ConsentResult,
  ConsentUserError,
  ConsentUserErrorCode,
  GrantConsentArgs,
  GrantPayload,
} from './payloads.js';

export interface ConsentServiceDeps {
  consents: ConsentRepository;
  audit: AuditLog;
  /**
   * The partner's consent lifecycle (the registry's): null for a partner without one, NotSupportedError
   * for a partner this deployment does not reach.
   */
  providers: (name: ProviderName) => ConsentsProvider | null;
  /** Seals what a replayed grant answers with (it carries the state). */
  box: SecretBox;
  logger: Logger;
  once: OnceSettings;
}

export interface ConsentServiceOptions {
  /** Tributary's callback (`GET /consents/callback`), where the bank sends the customer back; null: none. */
  callbackUrl: string | null;
  /** Keys the pseudonymous customer reference partners see instead of the subject. */
  customerRefSecret: string | Buffer;
  now?: () => Date;
}

/** What one run of the revocation worker did. */
export interface RevocationRun {
  deleted: number;
  failed: number;
}

const RETRY_BASE_MS = 30_000;
const RETRY_MAX_MS = 3_600_000;

export class ConsentService {
  readonly #now: () => Date;
  #callbackUrl: string | null;

  constructor(
    private readonly deps: ConsentServiceDeps,
    private readonly options: ConsentServiceOptions,
  ) {
    this.#now = options.now ?? (() => new Date());
    this.#callbackUrl = options.callbackUrl;
  }

  /** Development: the callback's URL once the process listens (the port may be chosen then). */
  useCallback(url: string): void {
    this.#callbackUrl = url;
  }

  /** grantConsent: starts a grant at the partner and says where the customer answers it. */
  async grant(
    call: CallContext,
    args: GrantConsentArgs,
    idempotencyKey: string,
  ): Promise<ConsentResult<GrantPayload>> {
    const redirectUri = args.redirectUri ?? this.#callbackUrl;
    if (!redirectUri) {
      throw new InputError(
        'Name the redirectUri your app completes the grant at: this deployment has no consent callback.',
        'input.redirectUri',
      );
    }
    checkRedirect(redirectUri);
    if (args.expiresAt && args.expiresAt <= this.#now()) {
      throw new InputError('A consent must expire in the future.', 'input.expiresAt');
    }
    const provider = this.#provider(args.provider);
    const { stored, replayed } = await once(
      this.deps.once,
      {
        subject: call.subject,
        mutation: 'grantConsent',
        key: idempotencyKey,
        args: { ...args, permissions: [...new Set(args.permissions)].sort(), redirectUri },
      },
      async () => {
        const state = randomBytes(32).toString('base64url');
        const codeVerifier = randomBytes(32).toString('base64url');
        const started = await provider.start(call, {
          permissions: args.permissions,
          expiresAt: args.expiresAt,
          state,
          codeChallenge: createHash('sha256').update(codeVerifier).digest('base64url'),
          redirectUri,
          customerRef: this.#customerRef(call.subject),
        });
        const consent = await this.deps.consents.startGrant({
          subject: call.subject,
          provider: args.provider,
          permissions: started.permissions,
          partnerRef: started.partnerRef,
          expiresAt: started.expiresAt,
          state,
          pending: { codeVerifier, redirectUri },
        });
        await this.deps.audit.append({
          actor: `subject:${call.subject}`,
          action: 'consent.requested',
          subject: call.subject,
          target: `consent:${consent.id}`,
          details: {
            provider: args.provider,
            permissions: started.permissions,
            correlationId: call.correlationId,
          },
        });
        const authorisation: ConsentAuthorisation = {
          url: started.authorisationUrl,
          linkToken: started.linkToken,
          state,
          answerBy: started.answerBy,
        };
        return {
          consentId: consent.id,
          // The state is a bearer secret until used: at rest only sealed.
          authorisation: this.deps.box.seal(JSON.stringify(authorisation), `grant:${consent.id}`),
        } satisfies Json;
      },
    );
    const consent = await this.deps.consents.get(call.subject, stored.consentId);
    const opened = JSON.parse(
      this.deps.box.open(stored.authorisation, `grant:${stored.consentId}`),
    ) as ConsentAuthorisation & { answerBy: string | null };
    const authorisation = { ...opened, answerBy: opened.answerBy ? new Date(opened.answerBy) : null };
    return { payload: { consent, authorisation, userErrors: [] }, replayed };
  }

  /**
   * completeConsent (an app that owns the redirect) with its idempotency key: the caller must be the
   * grant's subject.
   */
  async completeFor(
    call: CallContext,
    args: CompleteConsentArgs,
    idempotencyKey: string,
  ): Promise<ConsentResult<ConsentPayload>> {
    const { stored, replayed } = await once(
      this.deps.once,
      { subject: call.subject, mutation: 'completeConsent', key: idempotencyKey, args },
      async () => {
        const payload = await this.complete(args, call);
        return {
          consentId: payload.consent?.id ?? null,
          userErrors: payload.userErrors.map((error) => ({ ...error })),
        } satisfies Json;
      },
    );
    const consent = stored.consentId ? await this.deps.consents.get(call.subject, stored.consentId) : null;
    return { payload: { consent, userErrors: stored.userErrors as ConsentUserError[] }, replayed };
  }

  /**
   * The customer's answer, from the bank's redirect (no caller: the state names the grant and its
   * subject) or from completeConsent (`caller`: it must be the grant's subject).
   */
  async complete(
    args: CompleteConsentArgs,
    caller: CallContext | null,
    logger?: Logger,
  ): Promise<ConsentPayload> {
    if (args.code === null && args.error === null) {
      throw new InputError('Give the code the partner handed back, or the error it answered.', 'input.code');
    }
    const pending = await this.deps.consents.pendingByState(args.state);
    if (!pending || (caller && pending.consent.subject !== caller.subject)) {
      return { consent: null, userErrors: [INVALID_ANSWER] };
    }
    const { consent } = pending;
    const call: CallContext = caller ?? {
      subject: consent.subject,
      correlationId: randomUUID(),
      logger: (logger ?? this.deps.logger).child({ component: 'consents' }),
    };
    const actor = caller ? `subject:${caller.subject}` : `partner:${consent.provider}`;
    if (args.code === null || args.error !== null) {
      const declined = await this.deps.consents.decline(consent);
      await this.deps.audit.append({
        actor,
        action: 'consent.declined',
        subject: consent.subject,
        target: `consent:${consent.id}`,
        details: { provider: consent.provider, reason: (args.error ?? 'no code').slice(0, 100) },
      });
      return {
        consent: declined,
        userErrors: [
          userError('CONSENT_DECLINED', 'The customer did not authorise the consent at the partner.'),
        ],
      };
    }
    let completed;
    try {
      completed = await this.#provider(consent.provider).complete(
        call,
        { partnerRef: pending.partnerRef, ...pending.pending },
        args.code,
      );
    } catch (error) {
      if (error instanceof InputError) {
        return { consent, userErrors: [{ ...INVALID_ANSWER, field: ['input', 'code'] }] };
      }
      throw error;
    }
    const authorised = await this.deps.consents.authorise(consent, {
      partnerRef: completed.partnerRef,
      credential: {
        accessToken: completed.accessToken,
        refreshToken: completed.refreshToken,
        expiresAt: completed.tokenExpiresAt,
      },
    });
    if (!authorised) {
      // Answered twice at once, or revoked meanwhile: the other outcome stands; give the link back.
      await this.#provider(consent.provider)
        .revoke(call, { partnerRef: completed.partnerRef, accessToken: completed.accessToken })
        .catch((error: unknown) =>
          call.logger.warn(
            { err: error, consentId: consent.id },
            'an unused link could not be deleted at the partner',
          ),
        );
      return {
        consent: await this.deps.consents.get(consent.subject, consent.id),
        userErrors: [INVALID_ANSWER],
      };
    }
    await this.deps.audit.append({
      actor,
      action: 'consent.granted',
      subject: consent.subject,
      target: `consent:${consent.id}`,
      details: { provider: consent.provider, permissions: authorised.permissions },
    });
    return { consent: authorised, userErrors: [] };
  }

  /** revokeConsent: REVOKED here at once, then deleted at the partner (now, or by the worker later). */
  async revoke(
    call: CallContext,
    id: string,
    idempotencyKey: string,
  ): Promise<ConsentResult<ConsentPayload>> {
    const decoded = decodeId(id, 'Consent');
    if (!decoded) throw new InputError('The consent id is not valid.', 'id');
    const { stored, replayed } = await once(
      this.deps.once,
      { subject: call.subject, mutation: 'revokeConsent', key: idempotencyKey, args: { id } },
      async () => {
        const current = await this.deps.consents.get(call.subject, decoded.partnerId);
        if (!current) throw new NotFoundError('Consent');
        if (current.status === 'REVOKED' || current.status === 'REJECTED') {
          return {
            consentId: current.id,
            userErrors: [
              {
                ...userError('CONSENT_NOT_ACTIVE', `The consent is already ${current.status.toLowerCase()}.`),
              },
            ],
          } satisfies Json;
        }
        await this.deps.consents.revokeWithPartner(call.subject, current.id);
        await this.deps.audit.append({
          actor: `subject:${call.subject}`,
          action: 'consent.revoked',
          subject: call.subject,
          target: `consent:${current.id}`,
          details: { provider: current.provider, correlationId: call.correlationId },
        });
        // Deleting at the partner is best effort here: the worker retries whatever this leaves due.
        await this.runPartnerRevocations(10, call.logger, current.id);
        return { consentId: current.id, userErrors: [] } satisfies Json;
      },
    );
    const consent = await this.deps.consents.get(call.subject, stored.consentId);
    return { payload: { consent, userErrors: stored.userErrors as ConsentUserError[] }, replayed };
  }

  /**
   * Deletes at the partners the links of revoked consents that are due (oldest first, at most
   * `limit`; only `onlyId` when given). A partner without a consent lifecycle has nothing to delete.
   */
  async runPartnerRevocations(
    limit: number,
    logger: Logger = this.deps.logger,
    onlyId?: string,
  ): Promise<RevocationRun> {
    const run = { deleted: 0, failed: 0 };
    const due = await this.deps.consents.duePartnerRevocations(limit, onlyId);
    for (const item of due) {
      const { consent } = item;
      const call: CallContext = { subject: consent.subject, correlationId: randomUUID(), logger };
      try {
        // A partner without a consent lifecycle holds nothing to delete; one not reachable here throws.
        const provider = this.deps.providers(consent.provider);
        if (provider)
          await provider.revoke(call, { partnerRef: item.partnerRef, accessToken: item.accessToken });
        await this.deps.consents.partnerRevoked(consent.id);
        await this.deps.audit.append({
          actor: 'system:consents',
          action: 'consent.deleted_at_partner',
          subject: consent.subject,
          target: `consent:${consent.id}`,
          details: { provider: consent.provider, attempts: item.attempts + 1 },
        });
        run.deleted += 1;
      } catch (error) {
        const delayMs = Math.min(RETRY_MAX_MS, RETRY_BASE_MS * 2 ** Math.min(item.attempts, 10));
        const message = error instanceof Error ? error.message : String(error);
        await this.deps.consents.partnerRevocationFailed(
          consent.id,
          message,
          new Date(this.#now().getTime() + delayMs),
        );
        logger.warn(
          {
            err: error,
            consentId: consent.id,
            partner: consent.provider,
            attempts: item.attempts + 1,
            retryInMs: delayMs,
          },
          'The partner did not confirm deleting a revoked consent; it will be asked again.',
        );
        run.failed += 1;
      }
    }
    return run;
  }

  /** A stable pseudonym of the subject for partners that want a customer id (Plaid's client_user_id). */
  #customerRef(subject: string): string {
    return `trb-${createHmac('sha256', this.options.customerRefSecret).update(subject).digest('hex').slice(0, 32)}`;
  }

  #provider(name: string): ConsentsProvider {
    if (!isProviderName(name)) throw new InputError(`Unknown provider ${name}.`, 'input.provider');
    const provider = this.deps.providers(name);
    if (!provider) throw new NotSupportedError(name, 'consents granted through Tributary');
    return provider;
  }
}
