/**
 * With OTEL_EXPORTER_OTLP_ENDPOINT set, a started server exports its spans over OTLP/HTTP to
 * `<endpoint>/v1/traces`: a loopback collector receives the operation's trace. (Own file: the SDK
 * registers itself globally for the process.)
 */
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startTestApp, type TestApp } from '../helpers/app.js';

const TRACE_ID = '0af7651916cd43dd8448eb211c80319c';

describe('OTLP export', () => {
  let collector: Server;
  const received: { path: string; body: Buffer }[] = [];
  let app: TestApp;

  beforeAll(async () => {
    collector = createServer((req, res) => {
      const chunks: Buffer[] = [];
      req.on('data', (chunk: Buffer) => chunks.push(chunk));
      req.on('end', () => {
        received.push({ path: req.url ?? '', body: Buffer.concat(chunks) });
        res.writeHead(200, { 'content-type': 'application/json' }).end('{}');
      });
    });
    await new Promise<void>((resolve) => collector.listen(0, '127.0.0.1', resolve));
    const { port } = collector.address() as AddressInfo;
    app = await startTestApp({ env: { OTEL_EXPORTER_OTLP_ENDPOINT: `http://127.0.0.1:${port}` } });
  }, 120_000);

  afterAll(async () => {
    await app?.close();
    await new Promise((resolve) => collector?.close(resolve));
  });

  it('sends the spans of an operation to the collector when the server closes', async () => {
    const answer = await app.graphql(
      '{ accounts { edges { node { id } } } }',
      {},
      { headers: { traceparent: `00-${TRACE_ID}-b7ad6b7169203331-01` } },
    );
    expect(answer.body.errors).toBeUndefined();
    // Closing flushes the batch; nothing is waited for by time.
    await app.close();
    const traces = received.filter((request) => request.path === '/v1/traces');
    expect(traces.length).toBeGreaterThan(0);
    // OTLP/HTTP JSON carries the trace id as hex.
    const body = Buffer.concat(traces.map((request) => request.body)).toString('utf8');
    expect(body).toContain(TRACE_ID);
    expect(body).toContain('graphql query');
  });
});
