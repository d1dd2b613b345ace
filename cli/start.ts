/**
 * `tributary start` (what `npm start` runs): partner sandboxes for every partner the configuration
 * leaves unset (development only), the subgraph, demo customers (with cust_alice's demo payments at
 * Stripe and Open Banking), and a ready token with a curl to paste.
 */
import { existsSync } from 'node:fs';
import { join } from 'node:path';
import { signDevToken, CUSTOMER_SCOPES } from '../server/auth.js';
import { closeOnSignals } from '../server/main.js';
import { startSandboxes, stopSandboxes, type RunningSandboxes } from '../sandboxes/index.js';
import { ensureLocalTls } from '../sandboxes/certs.js';
import { seedDemoCustomers, seedDemoPayments } from './dev/demo.js';
import { startDevServer } from './dev/server.js';
import { startServer } from '../server/main.js';
import { openDatabase } from '../store/db.js';
import { cliLogger, configOrExit } from './common.js';

export async function runStart(options: { seed: boolean }): Promise<void> {
  const config = configOrExit();
  const logger = cliLogger(config);
  let sandboxes: RunningSandboxes = {};
  if (!config.production) {
    // The local CA and the sandbox and client certificates, made on the first run and kept. PGlite
    // initialises only an empty directory, so on a first run the database claims the data dir first.
    if (!config.database.url && !existsSync(join(config.dataDir, 'PG_VERSION'))) {
      await (await openDatabase({ dataDir: config.database.dataDir })).close();
    }
    const tls = await ensureLocalTls(join(config.dataDir, 'tls'));
    logger.info({ dir: tls.dir }, 'local mutual-TLS certificates ready');
    sandboxes = await startSandboxes({ tls });
    for (const [name, sandbox] of Object.entries(sandboxes))
      logger.info({ partner: name, url: sandbox?.handle.url }, 'sandbox started');
  }
  const starting = config.production
    ? startServer(config, logger)
    : startDevServer(config, logger, sandboxes);
  const server = await starting.catch(async (error: unknown) => {
    logger.fatal({ err: error }, 'Tributary could not start');
    await stopSandboxes(sandboxes);
    process.exit(1);
  });
  closeOnSignals(logger, config.shutdownGraceMs, async () => {
    await server.close();
    await stopSandboxes(sandboxes);
  });
  logger.info({ url: `${server.url}/graphql` }, 'Tributary is serving');

  if (config.production || !server.services.devKey) return;
  if (options.seed) {
    await seedDemoCustomers(server.services);
    await seedDemoPayments(server.services);
  }
  const token = await signDevToken(server.services.devKey, {
    subject: 'cust_alice',
    scopes: CUSTOMER_SCOPES,
    issuer: config.auth.issuer,
    audience: config.auth.audience,
    ttlSeconds: 12 * 3600,
  });
  const query =
    '{ accounts { edges { node { id name type balance { current { amount currency } } transactions(first: 3) { edges { node { amount { amount currency } status description } } } } } } }';
  process.stdout.write(
    [
      '',
      `Tributary is serving on ${server.url}/graphql`,
      '',
      'A development token for cust_alice with every customer scope (valid 12 h):',
      '',
      `export TOKEN=${token}`,
      '',
      'Try it:',
      '',
      `curl -s ${server.url}/graphql -H "authorization: Bearer $TOKEN" -H 'content-type: application/json' \\`,
      `  -d '${JSON.stringify({ query })}'`,
      '',
      ...sandboxLines(sandboxes),
      '',
    ].join('\n'),
  );
}

/** Where the partner sandboxes listen: their control routes approve a 3-D Secure challenge or settle a payment. */
function sandboxLines(sandboxes: RunningSandboxes): string[] {
  const running = Object.entries(sandboxes).filter(([, sandbox]) => sandbox);
  if (running.length === 0) return [];
  return [
    'Partner sandboxes (their test cards and control routes: README, "Trying payments"):',
    '',
    ...running.map(([name, sandbox]) => `  ${name.padEnd(12)} ${sandbox!.handle.url}`),
    '',
  ];
}
