/**
 * One measurement: warm up, then drive a target with autocannon while reading the server process's
 * CPU time before and after. The figures BENCHMARKS.md asks for come from here: server CPU
 * microseconds per request (primary), requests per second at saturation, and latency percentiles.
 */
import autocannon from 'autocannon';
import { cpuMicros } from './children.js';

/** A server under test and the request it answers. */
export interface Target {
  name: string;
  url: string;
  pid: number;
  body: string;
  headers?: Record<string, string>;
  /** A new body for every request (e.g. a fresh idempotency key); `body` is the first one. */
  bodyFor?: () => string;
}

export interface Sample {
  target: string;
  connections: number;
  requests: number;
  seconds: number;
  reqPerSec: number;
  /** Server CPU per request in microseconds; null where /proc is unavailable. */
  cpuUsPerReq: number | null;
  latencyP50Ms: number;
  latencyP99Ms: number;
  /** Non-2xx answers, GraphQL errors, socket errors and timeouts: any of them makes the sample suspect. */
  failures: number;
}

export interface RunOptions {
  connections: number;
  warmupSeconds: number;
  seconds: number;
}

/**
 * Drives the target; `answers.wrong` counts 2xx answers that are GraphQL errors (Apollo writes `errors`
 * first), which HTTP status alone would pass: a payment refused under load is not a payment made.
 */
function cannon(target: Target, connections: number, seconds: number, answers = { wrong: 0 }) {
  const onResponse = (status: number, body: string) => {
    if (status < 300 && body.startsWith('{"errors"')) answers.wrong++;
  };
  return autocannon({
    url: target.url,
    method: 'POST',
    connections,
    duration: seconds,
    timeout: 30,
    headers: { 'content-type': 'application/json', ...target.headers },
    body: target.body,
    requests: [
      {
        onResponse,
        ...(target.bodyFor ? { setupRequest: (request) => ({ ...request, body: target.bodyFor!() }) } : {}),
      },
    ],
  });
}

export async function measure(target: Target, options: RunOptions): Promise<Sample> {
  if (options.warmupSeconds > 0) await cannon(target, options.connections, options.warmupSeconds);
  const answers = { wrong: 0 };
  const cpuBefore = cpuMicros(target.pid);
  const result = await cannon(target, options.connections, options.seconds, answers);
  const cpuAfter = cpuMicros(target.pid);
  const requests = result.requests.total;
  return {
    target: target.name,
    connections: options.connections,
    requests,
    seconds: result.duration,
    reqPerSec: requests / result.duration,
    cpuUsPerReq:
      cpuBefore === null || cpuAfter === null || requests === 0 ? null : (cpuAfter - cpuBefore) / requests,
    latencyP50Ms: result.latency.p50,
    latencyP99Ms: result.latency.p99,
    failures: result.non2xx + result.errors + result.timeouts + answers.wrong,
  };
}

/** POSTs the target's request once and returns the parsed answer (the pre-measurement check). */
export async function askOnce(
  target: Target,
): Promise<{ data?: Record<string, unknown> | null; errors?: unknown[] }> {
  const response = await fetch(target.url, {
    method: 'POST',
    headers: { 'content-type': 'application/json', ...target.headers },
    body: target.body,
  });
  return (await response.json()) as { data?: Record<string, unknown> | null; errors?: unknown[] };
}

export function median(values: readonly number[]): number {
  const sorted = [...values].sort((a, b) => a - b);
  const middle = Math.floor(sorted.length / 2);
  return sorted.length % 2 === 1 ? sorted[middle]! : (sorted[middle - 1]! + sorted[middle]!) / 2;
}

/** Median with min and max, rounded for reporting. */
export function spread(values: readonly number[], digits = 2): { median: number; min: number; max: number } {
  const round = (value: number) => Number(value.toFixed(digits));
  return { median: round(median(values)), min: round(Math.min(...values)), max: round(Math.max(...values)) };
}
