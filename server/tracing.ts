/**
 * OpenTelemetry tracing, off unless OTEL_EXPORTER_OTLP_ENDPOINT is set (the SDK's own variable; the
 * other OTEL_* variables, e.g. OTEL_SERVICE_NAME and OTEL_EXPORTER_OTLP_HEADERS, work as documented by
 * OpenTelemetry). Spans: one per GraphQL operation (here), one per partner call
 * (datasources/resilience.ts) and one per database statement (store/db.ts). A `traceparent` from the
 * router becomes the operation span's parent, and partner calls carry their span's `traceparent`.
 *
 * With tracing off the API's no-op tracer answers every call: nothing is recorded or exported.
 */
import { context, propagation, ROOT_CONTEXT, SpanKind, SpanStatusCode, trace } from '@opentelemetry/api';
import type { tracing } from '@opentelemetry/sdk-node';
import type { ApolloServerPlugin } from '@apollo/server';
import type { IncomingHttpHeaders } from 'node:http';
import type { Config } from './config.js';

export interface Tracing {
  shutdown(): Promise<void>;
}

/**
 * Starts the SDK when `OTEL_EXPORTER_OTLP_ENDPOINT` is set (or when a span processor is given, as the
 * tests do with an in-memory exporter); returns null when tracing stays off. The SDK and the exporter
 * are loaded only then: ~20 MB of resident memory (59 MB loaded alone) a server without tracing
 * would carry for nothing.
 */
export async function startTracing(
  settings: Config['tracing'],
  spanProcessor?: tracing.SpanProcessor,
): Promise<Tracing | null> {
  if (!spanProcessor && !settings.otlpEndpoint) return null;
  const { NodeSDK, tracing } = await import('@opentelemetry/sdk-node');
  const processor =
    spanProcessor ??
    new tracing.BatchSpanProcessor(
      new (await import('@opentelemetry/exporter-trace-otlp-http')).OTLPTraceExporter({
        url: new URL('v1/traces', withSlash(settings.otlpEndpoint!)).href,
      }),
    );
  const sdk = new NodeSDK({
    serviceName: settings.serviceName,
    spanProcessors: [processor],
    // Spans come from Tributary's own code; no monkey-patching instrumentations are loaded.
    instrumentations: [],
  });
  sdk.start();
  return { shutdown: () => sdk.shutdown() };
}

/** The OTLP/HTTP base URL, e.g. http://collector:4318, gets traces at `/v1/traces` as the spec says. */
const withSlash = (url: string): string => (url.endsWith('/') ? url : `${url}/`);

const tracer = trace.getTracer('tributary.graphql');

/**
 * Runs one GraphQL request under its operation span, a child of the caller's `traceparent` when one
 * came with the request (the router's), so partner calls and statements below it join the same trace.
 */
export function withOperationSpan<T>(headers: IncomingHttpHeaders, run: () => T | Promise<T>): Promise<T> {
  const parent = propagation.extract(ROOT_CONTEXT, headers);
  return context.with(parent, () =>
    tracer.startActiveSpan('graphql', { kind: SpanKind.SERVER }, async (span) => {
      try {
        return await run();
      } finally {
        span.end();
      }
    }),
  );
}

/** Names the operation span after the operation and marks it failed when the answer carries errors. */
export function operationSpanPlugin(): ApolloServerPlugin {
  return {
    async requestDidStart() {
      const span = trace.getActiveSpan();
      if (!span?.isRecording()) return;
      return {
        async didResolveOperation({ operation, operationName }) {
          const type = operation?.operation ?? 'query';
          span.updateName(`graphql ${type} ${operationName ?? 'anonymous'}`);
          span.setAttributes({
            'graphql.operation.type': type,
            'graphql.operation.name': operationName ?? '',
          });
        },
        async willSendResponse({ response }) {
          const errors = response.body.kind === 'single' ? (response.body.singleResult.errors ?? []) : [];
          if (errors.length > 0) {
            const codes = [...new Set(errors.map((error) => String(error.extensions?.code ?? 'ERROR')))];
            span.setAttribute('graphql.error.codes', codes);
            span.setStatus({ code: SpanStatusCode.ERROR, message: codes.join(',') });
          }
        },
      };
    },
  };
}
