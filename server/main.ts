/**
 * Process entry for the subgraph: config -> logger -> services -> app -> listen, and a graceful
 * shutdown that stops accepting, drains in-flight requests, then closes pools and the database.
 */
import type { Logger } from 'pino';
import { buildApp, type App } from './app.js';
import type { Config } from './config.js';
import { closeServices, createServices, type ServiceOverrides, type Services } from './wiring.js';

export interface RunningServer {
  url: string;
  app: App;
  services: Services;
  close(): Promise<void>;
}

export async function startServer(
  config: Config,
  logger: Logger,
  overrides: ServiceOverrides = {},
): Promise<RunningServer> {
  const services = await createServices(config, logger, overrides);
  const app = await buildApp(services);
  await app.fastify.listen({ port: config.port, host: config.host });
  const address = app.fastify.server.address();
  const port = typeof address === 'object' && address ? address.port : config.port;
  const url = `http://${config.host.includes(':') ? `[${config.host}]` : config.host}:${port}`;
  if (!config.consentCallbackUrl && !config.production) {
    // A wildcard listener answers a local browser on loopback.
    const local = url.replace('//0.0.0.0:', '//127.0.0.1:').replace('//[::]:', '//[::1]:');
    services.consentService.useCallback(`${local}/consents/callback`);
  }
  services.webhooks.worker.start();
  let closing: Promise<void> | undefined;
  return {
    url,
    app,
    services,
    close: () =>
      (closing ??= (async () => {
        await app.fastify.close();
        await closeServices(services);
      })()),
  };
}

/** Closes on SIGINT/SIGTERM, forcing an exit when draining takes longer than the grace period. */
export function closeOnSignals(logger: Logger, graceMs: number, close: () => Promise<void>): void {
  const onSignal = (signal: NodeJS.Signals) => {
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
  process.once('SIGINT', onSignal);
  process.once('SIGTERM', onSignal);
}
