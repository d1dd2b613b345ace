/**
 * A real Tributary on loopback for end-to-end tests: the partner sandboxes, an isolated database
 * (PGlite in memory, or a fresh PostgreSQL schema), the fastify app on a free port, and the demo
 * customers linked through the sandboxes' consent flows. Nothing is mocked.
 */
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { generateDevKey, signDevToken, CUSTOMER_SCOPES, type DevSigningKey } from '../../server/auth.js';
import { loadConfig, type Config } from '../../server/config.js';
import type { DestinationStream } from 'pino';
import { createLogger } from '../../server/logger.js';
import type { RunningServer } from '../../server/main.js';
import { sharedSandboxTls } from '../../sandboxes/certs.js';
import {
  sandboxSigningEnv,
  sandboxTlsEnv,
  startSandboxes,
  stopSandboxes,
  type RunningSandboxes,
  type SandboxesOptions,
} from '../../sandboxes/index.js';
import { seedDemoCustomers } from '../../cli/dev/demo.js';
import { startDevServer } from '../../cli/dev/server.js';
import type { Db } from '../../store/db.js';
import { testBackends } from './db.js';

export interface TestAppOptions {
  /** Extra environment for the config reader (e.g. NODE_ENV, ROUTER_SECRET, limits). */
  env?: Record<string, string>;
  sandboxes?: SandboxesOptions;
  /** Link cust_alice and cust_bob to the sandboxes (default true). */
  seed?: boolean;
  /** Customers to link when seeding (default cust_alice and cust_bob). */
  customers?: readonly string[];
  /** An existing database (e.g. a PostgreSQL schema shared by two replicas). Default: fresh PGlite. */
  db?: Db;
  /** Where the server's log lines go (with `env.LOG_LEVEL`); default stdout. */
  logs?: DestinationStream;
}

export interface GraphQLAnswer {
  status: number;
  headers: Headers;
  body: {
    data?: Record<string, unknown> | null;
    errors?: { message: string; path?: unknown[]; extensions?: Record<string, unknown> }[];
    extensions?: Record<string, unknown>;
  };
}

export interface TestApp {
  url: string;
  config: Config;
  server: RunningServer;
  sandboxes: RunningSandboxes;
  devKey: DevSigningKey;
  token(subject: string, scopes?: readonly string[], options?: { ttlSeconds?: number }): Promise<string>;
  /** POSTs a GraphQL request; `token: null` sends no Authorization header. */
  graphql(
    query: string,
    variables?: Record<string, unknown>,
    options?: { token?: string | null; subject?: string; headers?: Record<string, string> },
  ): Promise<GraphQLAnswer>;
  close(): Promise<void>;
}

export async function startTestApp(options: TestAppOptions = {}): Promise<TestApp> {
  const dataDir = await mkdtemp(join(tmpdir(), 'tributary-test-'));
  // A bank configured as a partner gets the client certificate and signing key of the sandboxes' CA
  // set (mutual TLS, signed payment requests) and the sandbox bank's signing keys (signed answers).
  const bankUrl = options.env?.OPENBANKING_BASE_URL;
  const bankTls = bankUrl
    ? {
        ...sandboxTlsEnv(options.sandboxes?.tls ?? (await sharedSandboxTls())),
        ...sandboxSigningEnv(bankUrl),
      }
    : {};
  const config = loadConfig({
    NODE_ENV: 'test',
    PORT: '0',
    LOG_LEVEL: 'silent',
    TRIBUTARY_DATA_DIR: dataDir,
    ...bankTls,
    ...options.env,
  });
  const logger = createLogger({
    level: config.logLevel,
    ...(options.logs ? { destination: options.logs } : {}),
  });
  const sandboxes = await startSandboxes(options.sandboxes);
  const devKey = await generateDevKey();
  const db = options.db ?? (await testBackends()[0]!.open({ migrate: false }));
  const server = await startDevServer(config, logger, sandboxes, { db, devKey });
  if (options.seed ?? true) await seedDemoCustomers(server.services, options.customers);

  const token: TestApp['token'] = (subject, scopes = CUSTOMER_SCOPES, tokenOptions = {}) =>
    signDevToken(devKey, {
      subject,
      scopes,
      issuer: config.auth.issuer,
      audience: config.auth.audience,
      ...tokenOptions,
    });

  return {
    url: server.url,
    config,
    server,
    sandboxes,
    devKey,
    token,
    async graphql(query, variables, requestOptions = {}) {
      const bearer =
        requestOptions.token === undefined
          ? await token(requestOptions.subject ?? 'cust_alice')
          : requestOptions.token;
      const response = await fetch(`${server.url}/graphql`, {
        method: 'POST',
        headers: {
          'content-type': 'application/json',
          ...(bearer ? { authorization: `Bearer ${bearer}` } : {}),
          ...requestOptions.headers,
        },
        body: JSON.stringify({ query, variables }),
      });
      return {
        status: response.status,
        headers: response.headers,
        body: (await response.json()) as GraphQLAnswer['body'],
      };
    },
    async close() {
      await server.close();
      await stopSandboxes(sandboxes);
      await rm(dataDir, { recursive: true, force: true });
    },
  };
}
