/**
 * What operators do with the inbox (CLI `tributary webhooks list|replay`, GraphQL `webhookEvents` and
 * `replayWebhookEvent`): list by status, partner and time, and replay events by id or from a time on.
 * A replay puts the event back to pending with fresh attempts; the worker then fetches the payment again
 * from the partner, so a replay is always safe. Every replay is appended to the audit log.
 */
import type { ProviderName } from '../../domain/model.js';
import { InputError, NotFoundError } from '../../domain/errors.js';
import type { AuditLog } from '../../store/audit.js';
import type { WebhookEventRecord, WebhookRepository, WebhookStatus } from '../../store/webhooks.js';

export interface WebhookListArgs {
  first: number;
  after?: string | null;
  statuses?: readonly WebhookStatus[] | null;
  provider?: ProviderName | null;
  since?: Date | null;
  /** With pending: only retrying (true) or only never tried (false). */
  retried?: boolean | null;
}

export interface WebhookPage {
  events: WebhookEventRecord[];
  hasNextPage: boolean;
  cursorOf(event: WebhookEventRecord): string;
}

/** A replay's outcome: ok, or refused because a worker holds the event (`event` as it is). */
export interface ReplayResult {
  ok: boolean;
  event: WebhookEventRecord;
}

const UUID = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/i;

function encodeCursor(event: WebhookEventRecord): string {
  return Buffer.from(`${event.receivedAt.toISOString()}|${event.id}`, 'utf8').toString('base64url');
}

function decodeCursor(cursor: string): { receivedAt: Date; id: string } {
  const [at, id] = Buffer.from(cursor, 'base64url').toString('utf8').split('|');
  const receivedAt = new Date(at ?? '');
  if (!id || !UUID.test(id) || Number.isNaN(receivedAt.getTime()))
    throw new InputError('Invalid cursor.', 'after');
  return { receivedAt, id };
}

export class WebhookOperations {
  constructor(
    private readonly repository: WebhookRepository,
    private readonly audit: AuditLog,
    private readonly now: () => Date = () => new Date(),
  ) {}

  async list(args: WebhookListArgs): Promise<WebhookPage> {
    if (!Number.isInteger(args.first) || args.first < 1 || args.first > 100)
      throw new InputError('first must be between 1 and 100.', 'first');
    const rows = await this.repository.list({
      limit: args.first + 1,
      statuses: args.statuses ?? null,
      provider: args.provider ?? null,
      since: args.since ?? null,
      retried: args.retried ?? null,
      before: args.after ? decodeCursor(args.after) : null,
    });
    return {
      events: rows.slice(0, args.first),
      hasNextPage: rows.length > args.first,
      cursorOf: encodeCursor,
    };
  }

  async get(id: string): Promise<WebhookEventRecord | null> {
    return UUID.test(id) ? this.repository.get(id) : null;
  }

  /**
   * Replays one event; NOT_FOUND for an unknown id. An event a worker holds right now is not
   * replayable (an expected outcome, returned as data).
   */
  async replay(id: string, actor: string): Promise<ReplayResult> {
    const event = await this.get(id);
    if (!event) throw new NotFoundError('The webhook event');
    const replayed = await this.repository.replay({ id }, this.now());
    if (replayed.length === 0) return { ok: false, event };
    await this.audit.append({
      actor,
      action: 'webhook.replayed',
      target: id,
      details: {
        provider: event.provider,
        partnerEventId: event.partnerEventId,
        previousStatus: event.status,
      },
    });
    return { ok: true, event: (await this.repository.get(id))! };
  }

  /** Replays every event received since `since` (optionally one partner's); returns the ids. */
  async replaySince(since: Date, actor: string, provider: ProviderName | null = null): Promise<string[]> {
    if (Number.isNaN(since.getTime())) throw new InputError('Invalid time.', 'since');
    const ids = await this.repository.replay({ since, provider }, this.now());
    await this.audit.append({
      actor,
      action: 'webhook.replayed',
      target: null,
      details: { since: since.toISOString(), provider, count: ids.length },
    });
    return ids;
  }
}
