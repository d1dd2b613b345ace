/**
 * The inbox worker: claims due events with `FOR UPDATE SKIP LOCKED` under a lease, hands each to the
 * handler, then marks it processed or ignored, or schedules a retry with jittered exponential backoff,
 * and after the last attempt moves it to the dead-letter state. Safe with any number of workers and
 * replicas: a row is held by one lease at a time, and a worker that dies mid-event loses nothing, since
 * its lease lapses and the event is claimed again (the handler is idempotent, so the effect happens once).
 * The audit entries for an event (the handler's, and `webhook.ignored` or `webhook.dead_lettered`) are
 * staged in the statement that marks it, so an event is recorded once however often it is retried.
 * Within a batch, `concurrency` events are handled at once (no more than that many workers would), and
 * the events about one resource one after the other, in the order they were claimed.
 */
import { randomUUID } from 'node:crypto';
import type { Logger } from 'pino';
import { eachLimited } from '../../domain/concurrency.js';
import type { ProviderName } from '../../domain/model.js';
import type { AuditEntry, AuditLog } from '../../store/audit.js';
import type { RecordWith, WebhookEventRecord, WebhookRepository } from '../../store/webhooks.js';
import type { WebhookHandler } from './handler.js';

export interface WorkerOptions {
  maxAttempts: number;
  retryBaseMs: number;
  retryMaxMs: number;
  leaseMs: number;
  batch: number;
  /** Events of a batch handled at once; events about one resource stay in claim order. Default 1. */
  concurrency?: number;
  pollMs: number;
}

export interface WorkerDeps {
  repository: WebhookRepository;
  handler: WebhookHandler;
  audit: AuditLog;
  logger: Logger;
  observe?: (partner: ProviderName, outcome: 'processed' | 'ignored' | 'retry' | 'dead') => void;
  now?: () => Date;
  random?: () => number;
}

/** Delay before attempt `attempts + 1`: full jitter over base * 2^(attempts - 1), capped. */
export function backoffMs(
  attempts: number,
  base: number,
  max: number,
  random: () => number = Math.random,
): number {
  const ceiling = Math.min(max, base * 2 ** Math.min(30, Math.max(0, attempts - 1)));
  return Math.round(ceiling / 2 + (random() * ceiling) / 2);
}

/**
 * Handles a batch `concurrency` events at a time, as that many workers would, except that the events
 * about one resource (a payment, a dispute, an Item) form a lane handled in claim order, one after the
 * other; a failure ends its own lane only. Every lane finishes before this returns; then the first
 * failure is thrown.
 */
export async function inLanes(
  events: readonly WebhookEventRecord[],
  concurrency: number,
  handle: (event: WebhookEventRecord) => Promise<void>,
): Promise<void> {
  const lanes = new Map<string, WebhookEventRecord[]>();
  for (const event of events) {
    const key = event.resource
      ? `${event.provider}|${event.resource.kind}|${event.resource.partnerId}`
      : event.id;
    const lane = lanes.get(key);
    if (lane) lane.push(event);
    else lanes.set(key, [event]);
  }
  const failures: unknown[] = [];
  await eachLimited([...lanes.values()], concurrency, async (lane) => {
    try {
      for (const event of lane) await handle(event);
    } catch (error) {
      failures.push(error);
    }
  });
  if (failures.length > 0) throw failures[0];
}

export class WebhookWorker {
  /** This worker's lease owner name. */
  readonly owner = `worker-${randomUUID()}`;
  #timer: NodeJS.Timeout | null = null;
  #running: Promise<number> | null = null;
  #stopped = true;
  #again = false;

  constructor(
    private readonly deps: WorkerDeps,
    private readonly options: WorkerOptions,
  ) {}

  private now(): Date {
    return this.deps.now?.() ?? new Date();
  }

  /** Claims and handles one batch; returns how many events it handled. */
  async runOnce(): Promise<number> {
    const now = this.now();
    const events = await this.deps.repository.claim(
      this.owner,
      this.options.batch,
      now,
      new Date(now.getTime() + this.options.leaseMs),
    );
    await inLanes(events, this.options.concurrency ?? 1, (event) => this.process(event));
    return events.length;
  }

  /** Handles batches until nothing is due (tests, the CLI after a replay). */
  async drain(maxBatches = 1_000): Promise<number> {
    let total = 0;
    for (let i = 0; i < maxBatches; i += 1) {
      const handled = await this.runOnce();
      total += handled;
      if (handled === 0) break;
    }
    return total;
  }

  /** Polls every `pollMs` until stopped; `wake()` runs a batch at once. */
  start(): void {
    if (!this.#stopped) return;
    this.#stopped = false;
    this.schedule(0);
  }

  /** Asks for a run now (a new event was stored by this process). */
  wake(): void {
    if (this.#stopped) return;
    if (this.#running) {
      this.#again = true;
      return;
    }
    this.schedule(0);
  }

  /** Stops polling and waits for the batch in hand. */
  async stop(): Promise<void> {
    this.#stopped = true;
    if (this.#timer) clearTimeout(this.#timer);
    this.#timer = null;
    await this.#running?.catch(() => 0);
  }

  private schedule(delayMs: number): void {
    if (this.#timer) clearTimeout(this.#timer);
    this.#timer = setTimeout(() => {
      this.#timer = null;
      this.#running = this.drain(20);
      void this.#running
        .catch((error: unknown) => this.deps.logger.error({ err: error }, 'Webhook worker batch failed.'))
        .finally(() => {
          this.#running = null;
          if (this.#stopped) return;
          const again = this.#again;
          this.#again = false;
          this.schedule(again ? 0 : this.options.pollMs);
        });
    }, delayMs);
    this.#timer.unref();
  }

  /** Stages `entries` in the statement that marks the event (none: the mark alone). */
  private record(entries: readonly AuditEntry[]): RecordWith | undefined {
    if (entries.length === 0) return undefined;
    return (db, guarded) => this.deps.audit.stageWith(db, guarded, entries);
  }

  private async process(event: WebhookEventRecord): Promise<void> {
    const log = this.deps.logger.child({
      partner: event.provider,
      webhookEventId: event.id,
      partnerEventId: event.partnerEventId,
      attempt: event.attempts,
    });
    try {
      const result = await this.deps.handler.handle(event, log);
      const entries: AuditEntry[] = result.audit ? [result.audit] : [];
      if (result.outcome === 'ignored') {
        entries.push({
          actor: `webhook:${event.provider}`,
          action: 'webhook.ignored',
          target: event.id,
          details: { partnerEventId: event.partnerEventId, type: event.type, reason: result.detail },
        });
      }
      const done = await this.deps.repository.complete(
        event.id,
        this.owner,
        result.outcome,
        this.now(),
        this.record(entries),
      );
      if (!done) return log.warn('Webhook lease lost before completion; another worker owns the event.');
      this.deps.observe?.(event.provider, result.outcome);
      log.info({ outcome: result.outcome, detail: result.detail }, 'Webhook event handled.');
    } catch (error) {
      const message = error instanceof Error ? error.message : String(error);
      const dead = event.attempts >= this.options.maxAttempts;
      const retryAt = dead
        ? null
        : new Date(
            this.now().getTime() +
              backoffMs(event.attempts, this.options.retryBaseMs, this.options.retryMaxMs, this.deps.random),
          );
      const deadLettered: AuditEntry = {
        actor: `webhook:${event.provider}`,
        action: 'webhook.dead_lettered',
        target: event.id,
        details: { partnerEventId: event.partnerEventId, type: event.type, error: message },
      };
      const recorded = await this.deps.repository.fail(
        event.id,
        this.owner,
        message,
        retryAt,
        this.record(dead ? [deadLettered] : []),
      );
      if (!recorded) return;
      this.deps.observe?.(event.provider, dead ? 'dead' : 'retry');
      log.warn(
        { err: error, retryAt: retryAt?.toISOString() ?? null },
        dead
          ? 'Webhook event dead-lettered after its last attempt.'
          : 'Webhook event failed; retrying later.',
      );
    }
  }
}
