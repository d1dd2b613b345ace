/**
 * Who may scrape GET /metrics. The series name partners, outcomes and inbox depths: operational detail
 * that is not the business of the clients on the main port. As Prometheus deployments expect, either
 * - `METRICS_PORT`: /metrics is served on a listener of its own (same host), which a network policy or
 *   the scrape config reaches and clients do not; the main port answers 404 there; or
 * - `METRICS_TOKEN`: /metrics on the main port requires `Authorization: Bearer <token>` (Prometheus's
 *   `authorization: { credentials_file: ... }`), compared in constant time.
 * With neither, production answers 404 on the main port (startup logs how to enable it); development
 * serves it openly on the main port and warns once at startup.
 */
import { createServer, type Server } from 'node:http';
import type { Logger } from 'pino';
import type { Config } from './config.js';
import type { Metrics } from './metrics.js';
import { routerSecretMatches } from './auth.js';

export type MetricsAccess =
  /** Served on the main port, to callers with the token. */
  | { kind: 'token'; token: string }
  /** Served on the main port to anyone (development without METRICS_PORT or METRICS_TOKEN). */
  | { kind: 'open' }
  /** Not served on the main port (its own listener, or production without a token). */
  | { kind: 'closed' };

/** What the main port does with /metrics under this configuration. */
export function mainPortAccess(config: Pick<Config, 'production' | 'metrics'>): MetricsAccess {
  if (config.metrics.port !== null) return { kind: 'closed' };
  if (config.metrics.token !== null) return { kind: 'token', token: config.metrics.token };
  return config.production ? { kind: 'closed' } : { kind: 'open' };
}

/** Whether an Authorization header carries the metrics token (constant time). */
export function metricsTokenMatches(token: string, authorization: string | undefined): boolean {
  const presented = /^Bearer\s+(\S+)\s*$/i.exec(authorization ?? '')?.[1];
  // Compared even when absent, so a missing header takes as long as a wrong one.
  return routerSecretMatches(token, presented ?? '') && presented !== undefined;
}

/** Logged once at startup: where /metrics is, or why it is not on the main port. */
export function logMetricsAccess(config: Pick<Config, 'production' | 'metrics'>, logger: Logger): void {
  const access = mainPortAccess(config);
  if (config.metrics.port !== null) return;
  if (access.kind === 'open')
    logger.warn(
      'GET /metrics is open on the main port (development only; production answers 404): ' +
        'set METRICS_PORT for a listener of its own or METRICS_TOKEN to require a Bearer token',
    );
  else if (access.kind === 'closed')
    logger.info(
      'GET /metrics is not served on the main port: set METRICS_PORT (a listener of its own) ' +
        'or METRICS_TOKEN (Authorization: Bearer <token>) to enable it',
    );
}

export interface MetricsListener {
  /** Its origin, e.g. http://127.0.0.1:9464. */
  url: string;
  close(): Promise<void>;
}

/** Serves GET /metrics (and nothing else) on its own port; with METRICS_TOKEN, to bearers of it. */
export async function startMetricsListener(
  config: Pick<Config, 'host' | 'metrics'>,
  metrics: Pick<Metrics, 'render'>,
  logger: Logger,
): Promise<MetricsListener> {
  const token = config.metrics.token;
  const server: Server = createServer((request, response) => {
    const path = (request.url ?? '/').split('?')[0];
    if (path !== '/metrics' || (request.method !== 'GET' && request.method !== 'HEAD')) {
      response.writeHead(404, { 'content-type': 'text/plain' }).end('not found\n');
      return;
    }
    if (token !== null && !metricsTokenMatches(token, request.headers.authorization)) {
      response
        .writeHead(401, { 'content-type': 'text/plain', 'www-authenticate': 'Bearer' })
        .end('unauthorized\n');
      return;
    }
    metrics.render().then(
      ({ contentType, body }) => response.writeHead(200, { 'content-type': contentType }).end(body),
      (error: unknown) => {
        logger.error({ err: error }, 'rendering /metrics failed');
        response.writeHead(500, { 'content-type': 'text/plain' }).end('error\n');
      },
    );
  });
  server.keepAliveTimeout = 65_000;
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(config.metrics.port ?? 0, config.host, () => {
      server.off('error', reject);
      resolve();
    });
  });
  const address = server.address();
  const port = typeof address === 'object' && address ? address.port : (config.metrics.port ?? 0);
  const url = `http://${config.host.includes(':') ? `[${config.host}]` : config.host}:${port}`;
  logger.info({ url: `${url}/metrics` }, 'metrics served on their own listener (METRICS_PORT)');
  return {
    url,
    close: () =>
      new Promise<void>((resolve) => {
        server.close(() => resolve());
        server.closeAllConnections();
      }),
  };
}
