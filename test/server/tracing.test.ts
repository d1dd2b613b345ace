/**
 * The span tree of a dashboard query, exported in memory by the same startTracing the server uses:
 * the router's traceparent is the operation span's parent, partner calls and database statements are
 * its descendants, and the partners receive the trace in their own traceparent.
 */
import { SpanStatusCode } from '@opentelemetry/api';
import { tracing } from '@opentelemetry/sdk-node';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { DASHBOARD } from '../../bench/scenarios.js';
import { startTracing, type Tracing } from '../../server/tracing.js';
import { startTestApp, type TestApp } from '../helpers/app.js';

const exporter = new tracing.InMemorySpanExporter();
let tracer: Tracing | null;
let app: TestApp;

beforeAll(async () => {
  tracer = await startTracing(
    { otlpEndpoint: null, serviceName: 'tributary' },
    new tracing.SimpleSpanProcessor(exporter),
  );
  app = await startTestApp();
}, 120_000);

afterAll(async () => {
  await app?.close();
  await tracer?.shutdown();
});

const TRACE_ID = '4bf92f3577b34da6a3ce929d0e0e4736';
const ROUTER_SPAN = '00f067aa0ba902b7';

describe('tracing', () => {
  it('stays off without OTEL_EXPORTER_OTLP_ENDPOINT', async () => {
    expect(await startTracing({ otlpEndpoint: null, serviceName: 'tributary' })).toBeNull();
  });

  it('traces a dashboard query as one tree under the router span, down to partners and statements', async () => {
    exporter.reset();
    const answer = await app.graphql(
      DASHBOARD,
      {},
      { headers: { traceparent: `00-${TRACE_ID}-${ROUTER_SPAN}-01` } },
    );
    expect(answer.body.errors).toBeUndefined();

    const spans = exporter.getFinishedSpans().filter((span) => span.spanContext().traceId === TRACE_ID);
    const byId = new Map(spans.map((span) => [span.spanContext().spanId, span]));
    const parentOf = (span: tracing.ReadableSpan) => span.parentSpanContext?.spanId;

    const operation = spans.find((span) => span.name === 'graphql query Dashboard');
    expect(operation, spans.map((span) => span.name).join(', ')).toBeDefined();
    expect(parentOf(operation!)).toBe(ROUTER_SPAN);
    expect(operation!.attributes['graphql.operation.name']).toBe('Dashboard');

    const under = (span: tracing.ReadableSpan): boolean => {
      for (let id = parentOf(span); id; id = parentOf(byId.get(id)!)) {
        if (id === operation!.spanContext().spanId) return true;
        if (!byId.has(id)) return false;
      }
      return false;
    };
    const partnerCalls = spans.filter((span) => span.attributes['partner.name'] !== undefined);
    expect(new Set(partnerCalls.map((span) => span.attributes['partner.name']))).toEqual(
      new Set(['openbanking', 'plaid']),
    );
    for (const call of partnerCalls) {
      expect(under(call), call.name).toBe(true);
      expect(call.attributes).toMatchObject({ 'partner.attempts': 1, 'partner.retries': 0 });
      expect(call.attributes['partner.status']).toMatch(/^2\d\d$/);
      expect(call.attributes['partner.breaker_state']).toBe('CLOSED');
      expect(call.attributes['partner.endpoint']).toEqual(expect.any(String));
    }
    const statements = spans.filter((span) => span.attributes['db.query.text'] !== undefined);
    for (const statement of statements) expect(under(statement), statement.name).toBe(true);

    // Each partner saw the trace in the traceparent of its requests.
    for (const partner of ['openbanking', 'plaid'] as const) {
      expect(app.sandboxes[partner]!.handle.ledger().traceIds).toContain(TRACE_ID);
    }
  });

  it("marks the operation span failed with the answer's error codes", async () => {
    exporter.reset();
    const traceId = TRACE_ID.replace('4', '5');
    const answer = await app.graphql(
      '{ noSuchField }',
      {},
      { headers: { traceparent: `00-${traceId}-${ROUTER_SPAN}-01` } },
    );
    expect(answer.body.errors?.length).toBeGreaterThan(0);
    const operation = exporter
      .getFinishedSpans()
      .find((span) => span.spanContext().traceId === traceId && span.name.startsWith('graphql'));
    expect(operation?.status.code).toBe(SpanStatusCode.ERROR);
    expect(operation?.attributes['graphql.error.codes']).toEqual(['BAD_USER_INPUT']);
  });
});
