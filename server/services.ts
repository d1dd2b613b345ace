/**
 * The process-wide parts, built once at boot and shared by every request: database, repositories,
 * partner registry, authenticator. Requests get their own loaders on top of these (context.ts).
 */
import type { Logger } from 'pino';
import { createRegistry, type Registry, type SandboxEndpoints } from '../datasources/registry.js';
import { AuditLog } from '../store/audit.js';
import { ConsentRepository } from '../store/consents.js';
import { openDatabase, type Db } from '../store/db.js';
import { migrate } from '../store/migrate.js';
import { parseKeyRing, SecretBox } from '../store/secrets.js';
import { createAuthenticator, loadOrCreateDevKey, type Authenticator, type DevSigningKey } from './auth.js';
import type { Config } from './config.js';

export interface Services {
  config: Config;
  logger: Logger;
  db: Db;
  consents: ConsentRepository;
  audit: AuditLog;
  registry: Registry;
  authenticator: Authenticator;
  /** The development signing key (null in production). */
  devKey: DevSigningKey | null;
}

export interface ServiceOverrides {
  db?: Db;
  devKey?: DevSigningKey;
  /** Locally started sandboxes, for partners the configuration leaves unset (development only). */
  sandboxes?: SandboxEndpoints;
}

/** PostgreSQL when DATABASE_URL is set, else the embedded PGlite under the data directory. */
export function openConfiguredDatabase(config: Config): Promise<Db> {
  return openDatabase(
    config.database.url ? { url: config.database.url } : { dataDir: config.database.dataDir },
  );
}

/** Opens the database, applies migrations and wires every process-wide part. */
export async function createServices(
  config: Config,
  logger: Logger,
  overrides: ServiceOverrides = {},
): Promise<Services> {
  const db = overrides.db ?? (await openConfiguredDatabase(config));
  const { applied } = await migrate(db);
  if (applied.length > 0) logger.info({ applied }, 'database migrations applied');
  const secrets = new SecretBox(parseKeyRing(config.secretsKey));
  const consents = new ConsentRepository(db, secrets);
  const devKey =
    config.auth.mode === 'dev' ? (overrides.devKey ?? (await loadOrCreateDevKey(config.dataDir))) : null;
  return {
    config,
    logger,
    db,
    consents,
    audit: new AuditLog(db),
    registry: createRegistry(
      config,
      { credentials: consents.credentials, db, logger },
      overrides.sandboxes ?? {},
    ),
    authenticator: createAuthenticator(config.auth, devKey),
    devKey,
  };
}

export async function closeServices(services: Services): Promise<void> {
  await services.registry.close();
  await services.db.close();
}
