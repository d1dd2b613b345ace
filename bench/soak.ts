/**
 * `npm run bench -- --soak S`: S seconds of mixed traffic against one Tributary process (warm and live
 * dashboards, `_entities`, card payments with fresh keys while the Stripe sandbox's webhooks arrive),
 * sampling the server's memory every few seconds. What it answers: does memory settle, or grow with
 * traffic? The first tenth of the run is warm-up; growth is the last sample's RSS against the first
 * sample after it.
 */
import autocannon from 'autocannon';
import type { Child } from './children.js';
import type { Target } from './measure.js';
import type { Target as Goal } from './report.js';

export interface SoakSample {
  second: number;
  rssMb: number;
  heapUsedMb: number;
  externalMb: number;
}

export interface SoakReport {
  seconds: number;
  database: string;
  requests: Record<string, { requests: number; non2xx: number; errors: number }>;
  samples: SoakSample[];
  targets: Goal[];
}

type Memory = { rss: number; heapUsed: number; external: number };
const mb = (bytes: number) => Math.round((bytes / 1024 / 1024) * 10) / 10;

function load(target: Target, connections: number, seconds: number) {
  return autocannon({
    url: target.url,
    method: 'POST',
    connections,
    duration: seconds,
    timeout: 30,
    headers: { 'content-type': 'application/json', ...target.headers },
    body: target.body,
    ...(target.bodyFor
      ? { requests: [{ setupRequest: (request) => ({ ...request, body: target.bodyFor!() }) }] }
      : {}),
  });
}

export async function soak(options: {
  seconds: number;
  database: string;
  tributary: Child<unknown>;
  /** Each target with the connections it gets. */
  mix: { target: Target; connections: number }[];
  log: (message: string) => void;
}): Promise<SoakReport> {
  const { seconds, tributary, log } = options;
  const started = Date.now();
  const samples: SoakSample[] = [];
  const every = Math.max(2, Math.min(10, Math.round(seconds / 30)));
  const sample = async () => {
    const memory = await tributary.call<Memory>({ op: 'memory' });
    samples.push({
      second: Math.round((Date.now() - started) / 1000),
      rssMb: mb(memory.rss),
      heapUsedMb: mb(memory.heapUsed),
      externalMb: mb(memory.external),
    });
  };
  await sample();
  const sampler = setInterval(() => {
    void sample().then(() => {
      const last = samples.at(-1)!;
      log(`soak ${last.second} s: RSS ${last.rssMb} MB, heap ${last.heapUsedMb} MB`);
    });
  }, every * 1000);
  const results = await Promise.all(
    options.mix.map(({ target, connections }) => load(target, connections, seconds)),
  );
  clearInterval(sampler);
  await sample();

  const settled = samples.filter((s) => s.second >= seconds / 10);
  const first = settled[0] ?? samples[0]!;
  const last = samples.at(-1)!;
  const growth = ((last.rssMb - first.rssMb) / first.rssMb) * 100;
  const peak = Math.max(...samples.map((s) => s.rssMb));
  const requests = Object.fromEntries(
    options.mix.map(({ target }, i) => [
      target.name,
      { requests: results[i]!.requests.total, non2xx: results[i]!.non2xx, errors: results[i]!.errors },
    ]),
  );
  const targets: Goal[] = [
    {
      scenario: `soak, ${seconds} s of mixed traffic`,
      target: 'RSS growth <= 10 % after warm-up',
      observed: `${first.rssMb} MB at ${first.second} s -> ${last.rssMb} MB at ${last.second} s (${growth.toFixed(1)} %); heap ${first.heapUsedMb} -> ${last.heapUsedMb} MB`,
      met: growth <= 10,
    },
    {
      scenario: `soak, ${seconds} s of mixed traffic`,
      target: 'RSS <= 300 MB on PostgreSQL',
      observed: `peak ${peak} MB (${options.database})`,
      met: options.database === 'postgresql' ? peak <= 300 : null,
    },
  ];
  return { seconds, database: options.database, requests, samples, targets };
}
