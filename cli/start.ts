/**
 * `tributary start` (what `npm start` runs): partner sandboxes for every partner the configuration
 * leaves unset (development only), the subgraph, demo customers (with cust_alice's demo payments at
 * Stripe and Open Banking), and a ready token with a curl to paste.
 */
import { existsSync } from 'node:fs';
import { readFile, writeFile } from 'node:fs/promises';
import { join, resolve } from 'node:path';
import type { PartnerEndpoint } from '../datasources/module.js';
import { PARTNER_NAMES } from '../datasources/modules.js';
import type { ProviderName } from '../domain/model.js';
import { signDevToken, CUSTOMER_SCOPES } from '../server/auth.js';
import { closeOnSignals } from '../server/main.js';
import {
  plainEndpoints,
  remoteSandboxEndpoints,
  startSandboxes,
  stopSandboxes,
  type RunningSandboxes,
} from '../sandboxes/index.js';
import { ensureLocalTls } from '../sandboxes/certs.js';
import { seedDemoCustomers, seedDemoPayments } from './dev/demo.js';
import { startDevServer } from './dev/server.js';
import { startServer } from '../server/main.js';
import { openDatabase } from '../store/db.js';
import { databaseOwner, DatabaseInUseError } from '../store/owner-lock.js';
import { cliLogger, configOrExit } from './common.js';

export interface StartOptions {
  seed: boolean;
  /** `--no-sandboxes`: start none, even for partners the configuration leaves unset (they stay disabled). */
  sandboxes: boolean;
  /**
   * `--attach-sandboxes FILE`: use the sandboxes another `tributary start` wrote to FILE (a second
   * replica), with the same development stand-ins as the first, instead of starting its own.
   */
  attachSandboxes?: string;
}

/** Where `tributary start` writes the endpoints of the sandboxes it started, for a second replica. */
export const SANDBOXES_FILE = 'sandboxes.json';

export async function runStart(options: StartOptions): Promise<void> {
  const config = configOrExit();
  const logger = cliLogger(config);
  // The embedded database has one owner: refuse before touching it or starting any sandbox.
  if (!config.database.url) {
    const owner = await databaseOwner(config.database.dataDir);
    if (owner) refuseSecondOwner(new DatabaseInUseError(config.database.dataDir, owner));
  }
  let sandboxes: RunningSandboxes = {};
  // A sandbox only for a partner the configuration leaves unset: a configured partner is reached where
  // configured (a shared sandbox for a second replica, a real partner), never shadowed by a local one.
  const unset = PARTNER_NAMES.filter((name) => !config.partners[name]?.endpoint);
  const attached = options.attachSandboxes ? await attachedSandboxes(options.attachSandboxes) : null;
  if (!config.production && !options.sandboxes && unset.length > 0)
    logger.warn(
      { partners: unset },
      'no sandboxes (--no-sandboxes): these unconfigured partners are disabled',
    );
  if (!config.production && options.sandboxes && !attached && unset.length > 0) {
    // The local CA and the sandbox and client certificates, made on the first run and kept. PGlite
    // initialises only an empty directory, so on a first run the database claims the data dir first.
    if (!config.database.url && !existsSync(join(config.dataDir, 'PG_VERSION'))) {
      await (await openDatabase({ dataDir: config.database.dataDir })).close();
    }
    const tls = await ensureLocalTls(join(config.dataDir, 'tls'));
    logger.info({ dir: tls.dir }, 'local mutual-TLS certificates ready');
    sandboxes = await startSandboxes({ tls, only: unset });
    for (const [name, sandbox] of Object.entries(sandboxes))
      logger.info({ partner: name, url: sandbox?.handle.url }, 'sandbox started');
    const file = join(config.dataDir, SANDBOXES_FILE);
    await writeFile(file, JSON.stringify(plainEndpoints(sandboxes), null, 2));
    logger.info({ file }, 'sandbox endpoints written for a second replica (--attach-sandboxes)');
  }
  const starting = config.production
    ? startServer(config, logger)
    : attached
      ? // The first replica registered the webhooks; the sandboxes deliver to it.
        startServer(config, logger, { sandboxes: await remoteSandboxEndpoints(attached) })
      : startDevServer(config, logger, sandboxes);
  const server = await starting.catch(async (error: unknown) => {
    await stopSandboxes(sandboxes);
    if (error instanceof DatabaseInUseError) refuseSecondOwner(error);
    logger.fatal({ err: error }, 'Tributary could not start');
    process.exit(1);
  });
  closeOnSignals(logger, config.shutdownGraceMs, async () => {
    await server.close();
    await stopSandboxes(sandboxes);
  });
  logger.info({ url: `${server.url}/graphql` }, 'Tributary is serving');

  if (config.production || !server.services.devKey) return;
  // A replica on shared sandboxes shares the first replica's database too: it is seeded already.
  if (options.seed && !attached) {
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
      "More tokens (signed with this server's key, so run with its data directory):",
      '',
      `  TRIBUTARY_DATA_DIR=${shellQuote(resolve(config.dataDir))} npx tributary token --subject cust_bob --scopes "accounts:read balances:read"`,
      '',
      'Try it:',
      '',
      `curl -s ${server.url}/graphql -H "authorization: Bearer $TOKEN" -H 'content-type: application/json' \\`,
      `  -d '${JSON.stringify({ query })}'`,
      '',
      ...sandboxLines(
        attached
          ? Object.entries(attached).map(([name, endpoint]) => [name, endpoint!.baseUrl] as const)
          : Object.entries(sandboxes).map(([name, sandbox]) => [name, sandbox!.handle.url] as const),
      ),
      'Stop with Ctrl-C.',
      '',
    ].join('\n'),
  );
}

/** A second server on a data directory whose embedded database another one holds: exit 1, saying who. */
function refuseSecondOwner(error: DatabaseInUseError): never {
  process.stderr.write(`tributary start: ${error.message}\n`);
  process.exit(1);
}

/** Where the partner sandboxes listen: their control routes approve a 3-D Secure challenge or settle a payment. */
function sandboxLines(urls: readonly (readonly [string, string])[]): string[] {
  if (urls.length === 0) return [];
  return [
    'Partner sandboxes (their test cards and control routes: README, "Trying payments"):',
    '',
    ...urls.map(([name, url]) => `  ${name.padEnd(12)} ${url}`),
    '',
  ];
}

/** A path as one shell word: bare when it is plain, single-quoted otherwise. */
function shellQuote(path: string): string {
  return /^[\w@%+=:,./-]+$/.test(path) ? path : `'${path.replaceAll("'", "'\\''")}'`;
}

/** The endpoints file of another `tributary start`, or exit with what is wrong with it. */
async function attachedSandboxes(file: string): Promise<Partial<Record<ProviderName, PartnerEndpoint>>> {
  try {
    const endpoints = JSON.parse(await readFile(file, 'utf8')) as Record<string, PartnerEndpoint>;
    const unknown = Object.keys(endpoints).filter(
      (name) => !(PARTNER_NAMES as readonly string[]).includes(name),
    );
    if (unknown.length > 0) throw new Error(`unknown partners ${unknown.join(', ')}`);
    return endpoints as Partial<Record<ProviderName, PartnerEndpoint>>;
  } catch (error) {
    process.stderr.write(
      `--attach-sandboxes ${file}: ${(error as Error).message}\n` +
        `Give the ${SANDBOXES_FILE} the first replica's tributary start wrote in its data directory.\n`,
    );
    process.exit(2);
  }
}
