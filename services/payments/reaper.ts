/**
 * Deletes finished idempotency keys once their retention has passed. Unfinished keys are never
 * deleted, however old: they mark an operation whose outcome at the partner is not settled yet.
 * Safe on every replica at once (the delete skips rows another reaper holds).
 */
import type { Logger } from 'pino';
import type { IdempotencyStore } from '../../store/idempotency.js';

/** A running reaper. */
export interface KeyReaper {
  /** Runs one sweep now; returns how many keys were deleted. */
  sweep(): Promise<number>;
  stop(): void;
}

/** Sweeps every `intervalMs` (default 10 minutes) in batches of `batchSize` (default 1000). */
export function startKeyReaper(
  keys: IdempotencyStore,
  logger: Logger,
  options: { intervalMs?: number; batchSize?: number } = {},
): KeyReaper {
  const batchSize = options.batchSize ?? 1000;
  let running: Promise<number> | null = null;

  const sweep = async (): Promise<number> => {
    let total = 0;
    for (;;) {
      const deleted = await keys.reap(batchSize);
      total += deleted;
      if (deleted < batchSize) break;
    }
    if (total > 0) logger.info({ deleted: total }, 'expired idempotency keys deleted');
    return total;
  };
  const guarded = (): Promise<number> => {
    running ??= sweep().finally(() => {
      running = null;
    });
    return running;
  };

  const timer = setInterval(() => {
    guarded().catch((error: unknown) => logger.warn({ err: error }, 'idempotency key sweep failed'));
  }, options.intervalMs ?? 600_000);
  timer.unref();
  return {
    sweep: guarded,
    stop: () => clearInterval(timer),
  };
}
