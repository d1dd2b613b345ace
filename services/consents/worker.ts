/**
 * The revocation worker: every interval, deletes at the partners the links of revoked consents whose
 * deletion is due (the partner was down when the customer revoked). One run at a time; a failing run
 * is logged and the next one tries again.
 */
import type { Logger } from 'pino';

export interface RevocationWorker {
  /** Runs once now (tests, shutdown paths); resolves when it finished. */
  runNow(): Promise<void>;
  stop(): void;
}

export function startRevocationWorker(
  service: {
    runPartnerRevocations(limit: number, logger: Logger): Promise<{ deleted: number; failed: number }>;
  },
  logger: Logger,
  options: { intervalMs: number; batchSize: number },
): RevocationWorker {
  let running: Promise<void> | null = null;
  const runNow = (): Promise<void> => {
    running ??= service
      .runPartnerRevocations(options.batchSize, logger)
      .then((run) => {
        if (run.deleted + run.failed > 0) logger.info(run, 'Revoked consents deleted at their partners.');
      })
      .catch((error: unknown) => logger.warn({ err: error }, 'The revocation worker failed; it runs again.'))
      .finally(() => {
        running = null;
      });
    return running;
  };
  const timer = setInterval(() => void runNow(), options.intervalMs);
  timer.unref();
  return { runNow, stop: () => clearInterval(timer) };
}
