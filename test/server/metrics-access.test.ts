/**
 * GET /metrics is never open on the client-facing port by accident (server/metrics-access.ts):
 * METRICS_PORT serves it on a listener of its own (the main port refuses), METRICS_TOKEN requires a
 * Bearer token on the main port, and production with neither answers 404. Development keeps it open
 * on the main port, with one warning at startup.
 */
import { afterEach, describe, expect, it } from 'vitest';
import type { Logger } from 'pino';
import { startTestApp, type TestApp } from '../helpers/app.js';
import { startProductionApp, type ProductionApp } from '../e2e/security-support.js';
import { logMetricsAccess, mainPortAccess, metricsTokenMatches } from '../../server/metrics-access.js';
import { problemsOf } from '../helpers/config.js';

const TOKEN = 'scrape-token-0123456789abcdef';

async function scrape(url: string, headers: Record<string, string> = {}) {
  const response = await fetch(`${url}/metrics`, { headers });
  return { status: response.status, body: await response.text() };
}

describe('GET /metrics access', { timeout: 120_000 }, () => {
  let app: TestApp | undefined;
  let production: ProductionApp | undefined;

  afterEach(async () => {
    await app?.close();
    await production?.close();
    app = production = undefined;
  });

  it('METRICS_PORT: its own port serves /metrics, the main port refuses it, and it closes with the server', async () => {
    app = await startTestApp({ env: { METRICS_PORT: '0' }, seed: false });
    const metricsUrl = app.server.metricsUrl!;
    expect(metricsUrl).toMatch(/^http:\/\/127\.0\.0\.1:\d+$/);
    expect(metricsUrl).not.toBe(app.url);

    const own = await scrape(metricsUrl);
    expect(own.status).toBe(200);
    expect(own.body).toContain('tributary_');
    expect((await fetch(`${metricsUrl}/graphql`)).status).toBe(404);

    expect((await scrape(app.url)).status).toBe(404);
    expect((await fetch(`${app.url}/healthz`)).status).toBe(200);

    await app.close();
    app = undefined;
    await expect(fetch(`${metricsUrl}/metrics`)).rejects.toThrow();
  });

  it('METRICS_TOKEN: 401 without the token or with another, 200 with it', async () => {
    app = await startTestApp({ env: { METRICS_TOKEN: TOKEN }, seed: false });
    const none = await scrape(app.url);
    expect(none.status).toBe(401);
    expect(none.body).not.toContain('tributary_');
    expect((await scrape(app.url, { authorization: `Bearer ${TOKEN}x` })).status).toBe(401);
    expect((await scrape(app.url, { authorization: TOKEN })).status).toBe(401);
    const ok = await scrape(app.url, { authorization: `Bearer ${TOKEN}` });
    expect(ok.status).toBe(200);
    expect(ok.body).toContain('tributary_');
  });

  it('production without METRICS_PORT or METRICS_TOKEN answers 404 on the main port', async () => {
    production = await startProductionApp({ customers: [] });
    expect(production.app.server.metricsUrl).toBeNull();
    const answer = await scrape(production.app.url);
    expect(answer.status).toBe(404);
    expect(answer.body).not.toContain('tributary_');
  });

  it('development without either keeps it open on the main port', async () => {
    app = await startTestApp({ seed: false });
    expect((await scrape(app.url)).status).toBe(200);
  });
});

describe('metrics access rules', () => {
  const config = (production: boolean, port: number | null, token: string | null) => ({
    production,
    metrics: { port, token },
  });

  it('decides the main port from the configuration', () => {
    expect(mainPortAccess(config(true, null, null))).toEqual({ kind: 'closed' });
    expect(mainPortAccess(config(false, null, null))).toEqual({ kind: 'open' });
    expect(mainPortAccess(config(true, 9464, null))).toEqual({ kind: 'closed' });
    expect(mainPortAccess(config(false, 9464, TOKEN))).toEqual({ kind: 'closed' });
    expect(mainPortAccess(config(true, null, TOKEN))).toEqual({ kind: 'token', token: TOKEN });
  });

  it('matches only "Bearer <token>"', () => {
    expect(metricsTokenMatches(TOKEN, `Bearer ${TOKEN}`)).toBe(true);
    expect(metricsTokenMatches(TOKEN, `bearer ${TOKEN}`)).toBe(true);
    expect(metricsTokenMatches(TOKEN, undefined)).toBe(false);
    expect(metricsTokenMatches(TOKEN, TOKEN)).toBe(false);
    expect(metricsTokenMatches(TOKEN, `Bearer ${TOKEN.slice(1)}`)).toBe(false);
  });

  it('warns once in development, and says how to enable it in production', () => {
    const lines: { level: string; message: string }[] = [];
    const logger = {
      warn: (message: string) => lines.push({ level: 'warn', message }),
      info: (message: string) => lines.push({ level: 'info', message }),
    } as unknown as Logger;
    logMetricsAccess(config(false, null, null), logger);
    expect(lines).toHaveLength(1);
    expect(lines[0]).toMatchObject({ level: 'warn' });
    expect(lines[0]!.message).toMatch(/METRICS_PORT.*METRICS_TOKEN/);
    lines.length = 0;
    logMetricsAccess(config(true, null, null), logger);
    expect(lines).toHaveLength(1);
    expect(lines[0]!.message).toMatch(/not served on the main port: set METRICS_PORT/);
    lines.length = 0;
    logMetricsAccess(config(true, null, TOKEN), logger);
    expect(lines).toHaveLength(0);
  });

  it('validates METRICS_PORT and METRICS_TOKEN', () => {
    expect(problemsOf({ METRICS_PORT: 'x' }).join('\n')).toMatch(/METRICS_PORT/);
    expect(problemsOf({ METRICS_PORT: '4001', PORT: '4001' }).join('\n')).toMatch(/must differ from PORT/);
    expect(problemsOf({ METRICS_TOKEN: 'short' }).join('\n')).toMatch(/METRICS_TOKEN/);
    expect(problemsOf({ METRICS_PORT: '9464', METRICS_TOKEN: TOKEN })).toEqual([]);
  });
});
