/**
 * Receiving a delivery (DESIGN §11): source allow-list, signature verification over the raw bytes, then
 * a durable insert into the inbox. The HTTP answer is 2xx only once the row is committed; a duplicate
 * answers 2xx without a second row. Refused deliveries leave no row at all, so nothing unverified can
 * ever be processed.
 */
import type { Logger } from 'pino';
import type { ProviderName } from '../../domain/model.js';
import {
  KeyFetchBudgetError,
  type RejectionReason,
  type WebhookVerifier,
} from '../../datasources/webhook-verify.js';
import type { WebhookRepository } from '../../store/webhooks.js';
import { LogSampler, type RejectionBudget, type SourceAllowList } from './limits.js';

/** The HTTP answer to a delivery. */
export interface IntakeAnswer {
  status: number;
  body: Record<string, unknown>;
}

export type DeliveryOutcome =
  'stored' | 'duplicate' | 'source_refused' | 'rate_limited' | 'verification_unavailable' | RejectionReason;

export interface IntakeDeps {
  verifiers: ReadonlyMap<ProviderName, WebhookVerifier>;
  repository: WebhookRepository;
  budget: RejectionBudget;
  allowList: SourceAllowList;
  logger: Logger;
  /** Told about every answered delivery (metrics). */
  observe?: (partner: ProviderName, outcome: DeliveryOutcome) => void;
  /** Told after an insert, so a local worker can start at once instead of at its next poll. */
  onStored?: () => void;
  now?: () => Date;
  /** Which refusals are logged (default: 10 a minute per partner, then one in 100). */
  sampler?: LogSampler;
}

/** Rejections a partner can fix by sending a well-formed request: 400; signature failures: 401. */
const BAD_REQUEST: ReadonlySet<RejectionReason> = new Set([
  'missing_headers',
  'malformed_signature',
  'malformed_body',
]);

export class WebhookIntake {
  readonly #sampler: LogSampler;

  constructor(private readonly deps: IntakeDeps) {
    this.#sampler = deps.sampler ?? new LogSampler();
  }

  /** Handles one delivery to `/webhooks/{provider}`. */
  async receive(
    provider: string,
    body: Buffer,
    headers: Record<string, string | string[] | undefined>,
    sourceAddress: string,
  ): Promise<IntakeAnswer> {
    const verifier = this.deps.verifiers.get(provider as ProviderName);
    if (!verifier) return { status: 404, body: { error: 'unknown_provider' } };
    const partner = verifier.provider;
    const log = this.deps.logger.child({ partner, component: 'webhooks' });
    const receivedAt = this.deps.now?.() ?? new Date();

    if (!this.deps.allowList.allows(partner, sourceAddress)) {
      return this.refuse(partner, 'source_refused', 403, log, { sourceAddress });
    }
    const flat = flatten(headers);
    let result: Awaited<ReturnType<WebhookVerifier['verify']>>;
    try {
      // No call to the partner (a key fetch) while refusals are over their budget.
      const mayCallOut = () => this.deps.budget.available(partner);
      result = await verifier.verify({ body, headers: flat, receivedAt, mayCallOut });
    } catch (error) {
      if (error instanceof KeyFetchBudgetError) {
        this.deps.observe?.(partner, 'rate_limited');
        this.#sampled(partner, log, { reason: 'key_fetch_refused', sourceAddress });
        return { status: 429, body: { error: 'too_many_rejected_deliveries' } };
      }
      // The partner's key service is unreachable: we cannot tell, so the partner must retry later.
      log.error({ err: error }, 'Webhook verification could not run.');
      this.deps.observe?.(partner, 'verification_unavailable');
      return { status: 503, body: { error: 'verification_unavailable' } };
    }
    if (!result.ok) {
      return this.refuse(partner, result.reason, BAD_REQUEST.has(result.reason) ? 400 : 401, log, {
        detail: result.detail,
        sourceAddress,
      });
    }
    const kept: Record<string, string> = {};
    for (const name of verifier.keptHeaders) if (flat[name] !== undefined) kept[name] = flat[name]!;
    const { id, inserted } = await this.deps.repository.insert({
      provider: partner,
      event: result.event,
      body,
      headers: kept,
      verification: result.method,
      receivedAt,
    });
    this.deps.observe?.(partner, inserted ? 'stored' : 'duplicate');
    log.info(
      {
        webhookEventId: id,
        partnerEventId: result.event.partnerEventId,
        type: result.event.type,
        duplicate: !inserted,
      },
      inserted ? 'Webhook event stored.' : 'Duplicate webhook delivery acknowledged.',
    );
    if (inserted) this.deps.onStored?.();
    return { status: 200, body: { received: true, id, duplicate: !inserted } };
  }

  private refuse(
    partner: ProviderName,
    reason: RejectionReason | 'source_refused',
    status: number,
    log: Logger,
    fields: Record<string, unknown>,
  ): IntakeAnswer {
    if (!this.deps.budget.spend(partner)) {
      this.deps.observe?.(partner, 'rate_limited');
      this.#sampled(partner, log, { reason: 'rate_limited', ...fields });
      return { status: 429, body: { error: 'too_many_rejected_deliveries' } };
    }
    this.deps.observe?.(partner, reason);
    this.#sampled(partner, log, { reason, ...fields });
    return { status, body: { error: reason } };
  }

  /** Refusals log at a sampled rate: a flood of forgeries must not become a flood of log lines. */
  #sampled(partner: ProviderName, log: Logger, fields: Record<string, unknown>): void {
    const taken = this.#sampler.take(partner);
    if (taken) log.warn({ ...fields, suppressed: taken.suppressed }, 'Webhook delivery refused.');
  }
}

function flatten(headers: Record<string, string | string[] | undefined>): Record<string, string | undefined> {
  const out: Record<string, string | undefined> = {};
  for (const [name, value] of Object.entries(headers)) {
    out[name.toLowerCase()] = Array.isArray(value) ? value.join(',') : value;
  }
  return out;
}
