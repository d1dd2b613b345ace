/**
 * The development wiring around the product's server: the subgraph started against local sandboxes
 * for the partners the configuration leaves unset, and those sandboxes told to send their webhooks
 * here. `tributary start`, end-to-end tests and benchmarks use it; production starts server/main.ts
 * alone.
 */
import type { Logger } from 'pino';
import { sandboxEndpoints, type RunningSandboxes } from '../../sandboxes/index.js';
import type { Config } from '../../server/config.js';
import { startServer, type RunningServer } from '../../server/main.js';
import type { ServiceOverrides } from '../../server/wiring.js';
import { registerSandboxWebhooks, sandboxWebhookSecrets } from './webhooks.js';

/**
 * Starts the subgraph with `sandboxes` standing in for unconfigured partners. In production mode
 * (tests of production behaviour) the sandboxes are not told to send webhooks here.
 */
export async function startDevServer(
  config: Config,
  logger: Logger,
  sandboxes: RunningSandboxes,
  overrides: Omit<ServiceOverrides, 'sandboxes'> = {},
): Promise<RunningServer> {
  const server = await startServer(config, logger, { ...overrides, sandboxes: sandboxEndpoints(sandboxes) });
  if (!config.production)
    await registerSandboxWebhooks(
      sandboxes,
      sandboxWebhookSecrets(config.partners),
      config.webhooks.publicUrl ?? server.url,
      logger,
    );
  return server;
}
