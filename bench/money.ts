/**
 * Scenario (e), money: card payments through the Stripe sandbox at zero latency, each request with its
 * own idempotency key, then the same payment asked again and again under one key (replays). The
 * sandbox's webhooks point at the subgraph, as under `npm start`, so the inbox works while payments
 * arrive: what it still holds when the load stops, and how long it takes to empty, say whether webhook
 * processing keeps up. On PostgreSQL the database's own counters give transactions per payment, and a
 * local database's processes their CPU per payment; the sandboxes' and the load generator's CPU are
 * reported too, with how busy the whole machine was: on two cores they all share, that bounds the rate.
 */
import { cpus } from 'node:os';
import pg from 'pg';
import { cpuMicros, localPostgresCpuMicros, type Child } from './children.js';
import { askOnce, measure, type RunOptions, type Sample, type Target } from './measure.js';
import type { Line, Target as Goal } from './report.js';
import { paymentBody } from './scenarios.js';

export interface MoneyResult {
  lines: Line[];
  targets: Goal[];
  samples: Sample[];
  /** Inbox counts by status when the payment load stopped, and seconds until nothing was pending. */
  webhooks: { atStop: Record<string, number>; drainSeconds: number | null };
  /** Committed database transactions per new payment (PostgreSQL only). */
  transactionsPerPayment: number | null;
  /** CPU per new payment of the processes beside the server, in µs (null where unreadable). */
  besides: CpuBesides;
}

/** The CPU a payment costs outside the server: the database (when local), the sandboxes, the load. */
export interface CpuBesides {
  postgres: number | null;
  sandboxes: number | null;
  loadGenerator: number;
  /** Server, database, sandboxes and load generator together, as a share of the machine's cores. */
  machineBusy: number | null;
}

/** CPU so far of the processes beside the server, in µs. */
function besidesNow(databaseUrl: string | null, sandboxesPid: number) {
  const load = process.cpuUsage();
  return {
    postgres: databaseUrl ? localPostgresCpuMicros(databaseUrl) : null,
    sandboxes: cpuMicros(sandboxesPid),
    loadGenerator: load.user + load.system,
  };
}

type Inbox = Record<string, number>;
const unfinished = (inbox: Inbox) => (inbox.pending ?? 0) + (inbox.processing ?? 0);

/** Committed transactions of the database so far (PostgreSQL's statistics collector). */
async function commits(url: string): Promise<number> {
  const client = new pg.Client({ connectionString: url });
  await client.connect();
  try {
    // The statistics are a snapshot per transaction; clear it to read the current values.
    await client.query('SELECT pg_stat_clear_snapshot()');
    const { rows } = await client.query<{ n: string }>(
      'SELECT xact_commit::text AS n FROM pg_stat_database WHERE datname = current_database()',
    );
    return Number(rows[0]?.n ?? 0);
  } finally {
    await client.end();
  }
}

export async function measureMoney(options: {
  payments: Target;
  tributary: Child<unknown>;
  sandboxesPid: number;
  run: RunOptions;
  databaseUrl: string | null;
  log: (message: string) => void;
}): Promise<MoneyResult> {
  const { tributary, run, log } = options;
  const runId = Date.now().toString(36);
  let serial = 0;
  const nextKey = () => `bench-${runId}-${(serial++).toString().padStart(10, '0')}`;
  const fresh: Target = {
    ...options.payments,
    body: paymentBody(nextKey()),
    bodyFor: () => paymentBody(nextKey()),
  };

  const first = await askOnce({ ...fresh, body: paymentBody(nextKey()) });
  const payment = (first.data?.initiatePayment as { payment?: { status?: string } } | undefined)?.payment;
  if (first.errors || !payment?.status) {
    throw new Error(`check failed before measuring: a card payment: ${JSON.stringify(first)}`);
  }

  if (run.warmupSeconds > 0) await measure(fresh, { ...run, seconds: run.warmupSeconds, warmupSeconds: 0 });
  const commitsBefore = options.databaseUrl ? await commits(options.databaseUrl) : null;
  const before = besidesNow(options.databaseUrl, options.sandboxesPid);
  const created = await measure(fresh, { ...run, warmupSeconds: 0 });
  const after = besidesNow(options.databaseUrl, options.sandboxesPid);
  const commitsAfter = options.databaseUrl ? await commits(options.databaseUrl) : null;
  const each = (from: number | null, to: number | null) =>
    from === null || to === null || created.requests === 0
      ? null
      : Math.round((to - from) / created.requests);
  const postgres = each(before.postgres, after.postgres);
  const sandboxes = each(before.sandboxes, after.sandboxes);
  const loadGenerator = each(before.loadGenerator, after.loadGenerator)!;
  const besides: CpuBesides = {
    postgres,
    sandboxes,
    loadGenerator,
    machineBusy:
      created.cpuUsPerReq === null || sandboxes === null || (options.databaseUrl && postgres === null)
        ? null
        : Math.round(
            ((created.cpuUsPerReq + (postgres ?? 0) + sandboxes + loadGenerator) * created.reqPerSec) /
              (cpus().length * 10_000),
          ),
  };
  const { atStop, drainSeconds } = await drainInbox(tributary);
  log(
    `payments: inbox held ${unfinished(atStop)} unfinished events at the stop; drained in ${drainSeconds ?? '> 120'} s`,
  );

  const replayBody = paymentBody(nextKey());
  const replay: Target = { ...options.payments, name: 'tributary-payment-replays', body: replayBody };
  await askOnce(replay);
  // Latency with one client retrying (the target), throughput with many.
  const replayOne = await measure(replay, { ...run, connections: 1, warmupSeconds: 1 });
  const replays = await measure(replay, run);

  const transactionsPerPayment =
    commitsBefore !== null && commitsAfter !== null && created.requests > 0
      ? Number(((commitsAfter - commitsBefore) / created.requests).toFixed(1))
      : null;
  const line = (name: string, label: string, sample: Sample): Line => ({
    name,
    label,
    cpuUsPerReq:
      sample.cpuUsPerReq === null
        ? null
        : {
            median: Math.round(sample.cpuUsPerReq),
            min: Math.round(sample.cpuUsPerReq),
            max: Math.round(sample.cpuUsPerReq),
          },
    reqPerSec: {
      median: Math.round(sample.reqPerSec),
      min: Math.round(sample.reqPerSec),
      max: Math.round(sample.reqPerSec),
    },
    latencyP50Ms: sample.latencyP50Ms,
    latencyP99Ms: sample.latencyP99Ms,
    note: `${sample.connections} conns`,
  });
  const onPostgres = options.databaseUrl !== null;
  const targets: Goal[] = [
    {
      scenario: 'card payments, fresh keys',
      target: '>= 500 payments/s on PostgreSQL',
      observed: `${Math.round(created.reqPerSec)}/s, p50 ${created.latencyP50Ms} ms, p99 ${created.latencyP99Ms} ms, ${Math.round(created.cpuUsPerReq ?? 0)} µs CPU each${transactionsPerPayment === null ? '' : `, ${transactionsPerPayment} transactions each`}${created.failures > 0 ? `, ${created.failures} failed` : ''}; beside the server, each: ${besides.postgres === null ? '' : `PostgreSQL ${besides.postgres} µs, `}sandboxes ${besides.sandboxes ?? '?'} µs, load generator ${besides.loadGenerator} µs; machine ${besides.machineBusy ?? '?'} % busy`,
      met: onPostgres ? created.reqPerSec >= 500 && created.failures === 0 : null,
    },
    {
      scenario: 'payment replays, one key',
      target: 'p50 <= 3 ms (one connection)',
      observed: `p50 ${replayOne.latencyP50Ms} ms, p99 ${replayOne.latencyP99Ms} ms (1 conn); ${Math.round(replays.reqPerSec)}/s, p99 ${replays.latencyP99Ms} ms (${replays.connections} conns)`,
      met: replayOne.latencyP50Ms <= 3 && replayOne.failures === 0 && replays.failures === 0,
    },
    {
      scenario: 'webhooks during payments',
      target: 'the inbox is empty within 10 s of the load stopping',
      observed: `${unfinished(atStop)} unfinished at the stop, drained in ${drainSeconds ?? '> 120'} s`,
      met: drainSeconds !== null && drainSeconds <= 10,
    },
  ];
  return {
    lines: [
      line('tributary-payments', 'Tributary initiatePayment, fresh keys', created),
      line('tributary-payment-replays', 'Tributary initiatePayment, replays', replays),
    ],
    targets,
    samples: [created, replayOne, replays],
    webhooks: { atStop, drainSeconds },
    transactionsPerPayment,
    besides,
  };
}

/**
 * Waits (up to 120 s) for the webhook inbox to hold nothing unfinished, so that the next measurement
 * is not charged for the events the last one caused. Returns what it held at the call and how long it
 * took to drain (null: not within 120 s).
 */
export async function drainInbox(
  tributary: Child<unknown>,
): Promise<{ atStop: Inbox; drainSeconds: number | null }> {
  const atStop = await tributary.call<Inbox>({ op: 'inbox' });
  const stopped = Date.now();
  for (
    let inbox = atStop;
    Date.now() - stopped < 120_000;
    inbox = await tributary.call<Inbox>({ op: 'inbox' })
  ) {
    if (unfinished(inbox) === 0) return { atStop, drainSeconds: (Date.now() - stopped) / 1000 };
    await new Promise((resolve) => setTimeout(resolve, 200));
  }
  return { atStop, drainSeconds: null };
}
