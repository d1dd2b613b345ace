/**
 * Trace context for partner calls (OpenTelemetry API only; the SDK is started by the server when
 * OTEL_EXPORTER_OTLP_ENDPOINT is set, and without it every call here is a no-op). The policy opens one
 * span per partner call; each HTTP attempt carries that span's `traceparent` to the partner.
 */
import { context, propagation, trace } from '@opentelemetry/api';

export const partnerTracer = trace.getTracer('tributary.partners');

/** Adds `traceparent` (and `tracestate`) of the active span to outgoing partner headers. */
export function injectTraceContext(headers: Record<string, string>): Record<string, string> {
  propagation.inject(context.active(), headers);
  return headers;
}
