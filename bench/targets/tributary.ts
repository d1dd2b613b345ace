/**
 * Benchmark child: Tributary as it runs for real — fastify, JWT authentication, shield, limits, info
 * logging (to /dev/null), metrics, the embedded database — reaching the sandboxes of the sibling
 * child. The process runs with NODE_ENV=production; the configuration itself is development mode,
 * because production refuses the local signing key and the sandboxes this benchmark relies on. The
 * database is PostgreSQL when the run passes DATABASE_URL, else the embedded PGlite in memory.
 *
 * Argument: { endpoints, env, customers }. Ready message: { url, tokens: { [subject]: token }, ops,
 * webhookSecrets }. Over IPC it also answers `{ id, op: 'inbox' }` (the webhook inbox's counts by status)
 * and `{ id, op: 'memory' }` (process.memoryUsage()).
 */
import { mkdtempSync, writeFileSync } from 'node:fs';
import { Session } from 'node:inspector';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { PartnerEndpoint } from '../../datasources/module.js';
import { remoteSandboxEndpoints } from '../../sandboxes/index.js';
import { ALL_SCOPES, CUSTOMER_SCOPES, signDevToken } from '../../server/auth.js';
import { loadConfig } from '../../server/config.js';
import { createLogger } from '../../server/logger.js';
import { startServer } from '../../server/main.js';
import { seedDemoCustomers } from '../../cli/dev/demo.js';
import { sandboxWebhookSecrets } from '../../cli/dev/webhooks.js';
import { openDatabase } from '../../store/db.js';

interface Argument {
  endpoints: Record<string, PartnerEndpoint>;
  env: Record<string, string>;
  customers: string[];
}

const argument = JSON.parse(process.argv[2] ?? '{}') as Argument;
const config = loadConfig({
  LOG_LEVEL: 'info',
  ...argument.env,
  NODE_ENV: 'development',
  PORT: '0',
  TRIBUTARY_DATA_DIR: mkdtempSync(join(tmpdir(), 'tributary-bench-')),
});
const logger = createLogger({ level: config.logLevel });
// PostgreSQL when the run names one (DATABASE_URL); otherwise the embedded database, in memory.
// As in production (the process runs NODE_ENV=production): without the development re-entrancy guard.
const db = await openDatabase(
  config.database.url
    ? { url: config.database.url, reentryGuard: false }
    : { dataDir: 'memory://', reentryGuard: false },
);
const server = await startServer(config, logger, {
  sandboxes: await remoteSandboxEndpoints(argument.endpoints),
  db,
});
await seedDemoCustomers(server.services, argument.customers);

const key = server.services.devKey!;
const sign = (subject: string, scopes: readonly string[]) =>
  signDevToken(key, {
    subject,
    scopes,
    issuer: config.auth.issuer,
    audience: config.auth.audience,
    ttlSeconds: 6 * 3600,
  });
const tokens: Record<string, string> = {};
for (const subject of argument.customers) tokens[subject] = await sign(subject, CUSTOMER_SCOPES);
process.send?.({
  url: server.url,
  tokens,
  ops: await sign('ops_bench', ALL_SCOPES),
  webhookSecrets: sandboxWebhookSecrets(config.partners),
});

// `--profile` / `--heap-profile`: the runner starts and stops the inspector's CPU profiler or its
// sampling heap profiler around a scenario. The heap profiler keeps the samples of objects collected
// meanwhile too, so its profile is what the scenario allocated, not what survived it.
const inspector = new Session();
inspector.connect();
const post = <T>(method: string, params: object = {}): Promise<T> =>
  new Promise((resolve, reject) =>
    inspector.post(method, params, (error, result) => (error ? reject(error) : resolve(result as T))),
  );
const profilers = {
  cpu: { start: () => post('Profiler.enable').then(() => post('Profiler.start')), stop: 'Profiler.stop' },
  heap: {
    start: () =>
      post('HeapProfiler.enable').then(() =>
        post('HeapProfiler.startSampling', {
          samplingInterval: 8192,
          includeObjectsCollectedByMajorGC: true,
          includeObjectsCollectedByMinorGC: true,
        }),
      ),
    stop: 'HeapProfiler.stopSampling',
  },
};
process.on('message', (message) => {
  const { id, profile, kind, file, op } = message as {
    id?: number;
    profile?: 'start' | 'stop';
    kind?: 'cpu' | 'heap';
    file?: string;
    op?: 'inbox' | 'memory';
  };
  if (id === undefined) return;
  const done = (reply: unknown) => process.send?.({ id, reply });
  if (op === 'inbox') return void server.services.webhooks.repository.counts().then(done);
  if (op === 'memory') return void done(process.memoryUsage());
  if (!profile) return;
  const profiler = profilers[kind ?? 'cpu'];
  if (profile === 'start') {
    void profiler.start().then(() => done(true));
  } else {
    void post<{ profile: object }>(profiler.stop).then(({ profile: taken }) => {
      if (file) writeFileSync(file, JSON.stringify(taken));
      done(file ?? null);
    });
  }
});

// A benchmark child ends at once: draining keep-alive load connections is not what is measured.
process.once('SIGTERM', () => process.exit(0));
process.once('disconnect', () => process.exit(0));
