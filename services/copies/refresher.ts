/**
 * The schedule behind partner webhooks: every so often, each partner that keeps a local copy of a
 * subject's data (Plaid's transactions) brings the copies not synchronised for `staleAfterMs` up to
 * date, so a lost or never-sent notification costs at most that much freshness. Reads never wait for
 * it; they answer from the copy with its `asOf`. One run at a time per replica; replicas may overlap
 * (a sync is idempotent: it pulls from the stored cursor, and a replica that loses the race writes
 * nothing).
 */
import type { Logger } from 'pino';
import type { ProviderName } from '../../domain/model.js';
import type { RefreshOutcome } from '../../domain/providers.js';

/** The partners whose copies can be refreshed (the registry satisfies it). */
export interface CopyRefreshers {
  refreshStale(logger: Logger, before: Date, limit: number): Promise<Map<ProviderName, RefreshOutcome>>;
}

export interface CopyRefresherSettings {
  /** How often a run starts; 0 turns the schedule off. */
  intervalMs: number;
  /** Copies not synchronised for this long are refreshed. */
  staleAfterMs: number;
  /** Links refreshed per partner and run; the oldest copies first. */
  batchSize: number;
  now?: () => number;
}

/** A running schedule. */
export interface CopyRefresher {
  /** Runs once now (sharing a run already in progress); what each partner did. */
  run(): Promise<Map<ProviderName, RefreshOutcome>>;
  stop(): void;
}

export function startCopyRefresher(
  partners: CopyRefreshers,
  logger: Logger,
  settings: CopyRefresherSettings,
): CopyRefresher {
  const now = settings.now ?? Date.now;
  let running: Promise<Map<ProviderName, RefreshOutcome>> | null = null;

  const run = (): Promise<Map<ProviderName, RefreshOutcome>> => {
    running ??= partners
      .refreshStale(logger, new Date(now() - settings.staleAfterMs), settings.batchSize)
      .then((outcomes) => {
        for (const [partner, outcome] of outcomes) {
          if (outcome.refreshed + outcome.forgotten + outcome.failed === 0) continue;
          logger[outcome.failed > 0 ? 'warn' : 'info'](
            { partner, ...outcome },
            'scheduled refresh of local partner copies',
          );
        }
        return outcomes;
      })
      .finally(() => {
        running = null;
      });
    return running;
  };

  const timer =
    settings.intervalMs > 0
      ? setInterval(() => {
          run().catch((error: unknown) => logger.warn({ err: error }, 'scheduled copy refresh failed'));
        }, settings.intervalMs)
      : null;
  timer?.unref();
  return {
    run,
    stop: () => {
      if (timer) clearInterval(timer);
    },
  };
}
