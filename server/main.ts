/**
 * Process entry for the subgraph: config -> logger -> services -> app -> listen, and a graceful
 * shutdown that stops accepting, drains in-flight requests, then closes pools and the database. With the
 * embedded database it holds `<dataDir>/tributary.lock` while it runs (store/owner-lock.ts).
 */
import type { Logger } from 'pino';
import { buildApp, type App } from './app.js';
import type { Config } from './config.js';
import { closeServices, createServices, type ServiceOverrides, type Services } from './wiring.js';
import { claimDatabase } from '../store/owner-lock.js';
import { startTracing } from './tracing.js';
import { logMetricsAccess, startMetricsListener, type MetricsListener } from './metrics-access.js';

export interface RunningServer {
  url: string;
  /** The origin of the metrics listener (METRICS_PORT), or null when there is none. */
  metricsUrl: string | null;
  app: App;
  services: Services;
  close(): Promise<void>;
}

export async function startServer(
  config: Config,
  logger: Logger,
  overrides: ServiceOverrides = {},
): Promise<RunningServer> {
  // The embedded database has one owner (store/owner-lock.ts); PostgreSQL and a given db need none.
  const embedded = !overrides.db && !config.database.url && !config.database.dataDir.startsWith('memory://');
  const lock = embedded ? await claimDatabase(config.database.dataDir) : null;
  // Before anything else, so the first operation is traced (off without OTEL_EXPORTER_OTLP_ENDPOINT).
  const tracing = await startTracing(config.tracing);
  let services: Services | undefined;
  let metricsListener: MetricsListener | null = null;
  let app: App | undefined;
  try {
    services = await createServices(config, logger, overrides);
    app = await buildApp(services);
    await app.fastify.listen({ port: config.port, host: config.host });
    if (config.metrics.port !== null)
      metricsListener = await startMetricsListener(config, services.metrics, logger);
    else logMetricsAccess(config, logger);
  } catch (error) {
    await app?.fastify.close().catch(() => undefined);
    if (services) await closeServices(services).catch(() => undefined);
    await lock?.release();
    await tracing?.shutdown().catch(() => undefined);
    throw error;
  }
  const address = app.fastify.server.address();
  const port = typeof address === 'object' && address ? address.port : config.port;
  const url = `http://${config.host.includes(':') ? `[${config.host}]` : config.host}:${port}`;
  await lock?.announce(url);
  if (!config.consentCallbackUrl && !config.production) {
    // A wildcard listener answers a local browser on loopback.
    const local = url.replace('//0.0.0.0:', '//127.0.0.1:').replace('//[::]:', '//[::1]:');
    services.consentService.useCallback(`${local}/consents/callback`);
  }
  services.webhooks.worker.start();
  let closing: Promise<void> | undefined;
  const started = { app, services };
  return {
    url,
    metricsUrl: metricsListener?.url ?? null,
    app,
    services,
    close: () =>
      (closing ??= (async () => {
        try {
          await metricsListener?.close();
          await started.app.fastify.close();
          await closeServices(started.services);
        } finally {
          await lock?.release();
          // Flushes the spans still batched.
          await tracing?.shutdown().catch(() => undefined);
        }
      })()),
  };
}

/** Closes on SIGINT/SIGTERM, forcing an exit when draining takes longer than the grace period. */
export function closeOnSignals(logger: Logger, graceMs: number, close: () => Promise<void>): void {
  let stopping = false;
  const onSignal = (signal: NodeJS.Signals) => {
    // Kept registered while closing: a second signal must not kill the process before the database
    // closes (and, on the embedded database, before its lock is released).
    if (stopping) return;
    stopping = true;
    logger.info({ signal }, 'shutting down: draining requests');
    const force = setTimeout(() => {
      logger.error({ graceMs }, 'shutdown grace period exceeded; exiting');
      process.exit(1);
    }, graceMs);
    force.unref();
    close().then(
      () => process.exit(0),
      (error: unknown) => {
        logger.error({ err: error }, 'shutdown failed');
        process.exit(1);
      },
    );
  };
  process.on('SIGINT', onSignal);
  process.on('SIGTERM', onSignal);
}
