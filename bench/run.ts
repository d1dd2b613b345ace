/**
 * `npm run bench`: Tributary against its baselines, measured the way BENCHMARKS.md describes.
 *
 * Processes: the partner sandboxes and this load generator share CPU 1; every server under test runs
 * alone as a child pinned to CPU 0 (taskset), and its CPU time is read from /proc/<pid>/stat.
 *
 * Scenarios:
 *   (b) the dashboard with warm partners (sandboxes at zero latency, pools and tokens warm), interleaved
 *       round-robin with a bare Apollo subgraph, a minimal graphql-js server and fixed bytes answering
 *       the same data from memory — ratios are taken per round, reported as median and min–max;
 *   (c) `_entities` with 100 Account references (in the same rounds; partner calls counted);
 *   (a) the dashboard with every partner call taking 20 ms (one connection for latency, then 50);
 *   (d) Open Banking down and its breaker open: the cached answer's latency (one connection and 50);
 *   (e) money: card payments with fresh keys against the Stripe sandbox, replays of one key, and the
 *       webhook inbox keeping up (bench/money.ts).
 *
 * Flags: --quick (1 s warm-up, 3 s runs, 1 round), --warmup S, --duration S, --rounds N, --profile (a
 * CPU profile of the server per Tributary scenario, and its self time by area), --heap-profile (what
 * each scenario allocated, by area and by site; bench/profile.ts), --soak S (only the
 * soak: S seconds of mixed traffic with the server's memory sampled; bench/soak.ts), --against DIR (only
 * this build against another checkout's, in the same rounds; bench/against.ts).
 */
import { mkdirSync, mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { isDeepStrictEqual } from 'node:util';
import { fromRoot } from '../store/paths.js';
import { detectPinning, pinSelf, startChild, type Child } from './children.js';
import { askOnce, measure, type Sample, type Target } from './measure.js';
import { benchAgainst } from './against.js';
import { drainInbox, measureMoney } from './money.js';
import { soak } from './soak.js';
import { allocations, printAreas, selfTimeByArea, type CpuProfile, type HeapProfile } from './profile.js';
import { printReport, writeReport } from './report.js';
import { entitiesCallTarget, summarise, type Settings } from './summary.js';
import {
  BANK_DASHBOARD,
  body,
  DASHBOARD,
  ENTITIES,
  HEALTH,
  INITIATE_PAYMENT,
  paymentBody,
  IDS,
  perOperation,
  targetsOn,
  timeless,
} from './scenarios.js';

const CUSTOMER = 'cust_alice';
const BULK = 'cust_bench';
/** A short breaker window lets scenario (d) open the breaker quickly; a long pause keeps it open. */
const SERVER_ENV: Record<string, string> = {
  PARTNER_BREAKER_WINDOW_MS: '5000',
  PARTNER_BREAKER_HALF_OPEN_MS: '600000',
  // Partner data within a minute answers without a partner call (the warm dashboard); scenarios that
  // are about partner calls send `Cache-Control: no-cache` and get live data.
  MAX_AGE_ACCOUNTS_SECONDS: '60',
  MAX_AGE_BALANCES_SECONDS: '60',
  MAX_AGE_TRANSACTIONS_SECONDS: '60',
  // The database under test: PostgreSQL when the run names one, else the embedded PGlite.
  ...(process.env.DATABASE_URL ? { DATABASE_URL: process.env.DATABASE_URL } : {}),
};
const DATABASE = process.env.DATABASE_URL ? 'postgresql' : 'pglite';
const PARTNERS = ['openbanking', 'plaid'] as const;

type Sandboxes = Child<{ endpoints: Record<string, unknown> }>;
type Answer = Awaited<ReturnType<typeof askOnce>>;

function settings(): Settings {
  const args = process.argv.slice(2);
  const value = (flag: string, fallback: number) => {
    const index = args.indexOf(flag);
    return index >= 0 ? Number(args[index + 1]) : fallback;
  };
  const quick = args.includes('--quick');
  return {
    warmupSeconds: value('--warmup', quick ? 1 : 3),
    seconds: value('--duration', quick ? 3 : 10),
    rounds: value('--rounds', quick ? 1 : 3),
    connections: 50,
  };
}

function check(condition: unknown, message: string): asserts condition {
  if (!condition) throw new Error(`check failed before measuring: ${message}`);
}

/** Partner calls per operation, per partner and route, over `count` sequential requests. */
async function partnerCalls(sandboxes: Sandboxes, target: Target, count: number) {
  const read = () =>
    Promise.all(PARTNERS.map((partner) => sandboxes.call<Record<string, number>>({ op: 'ledger', partner })));
  const before = await read();
  for (let i = 0; i < count; i++) await askOnce(target);
  const after = await read();
  return Object.fromEntries(
    PARTNERS.map((partner, i) => [partner, perOperation(before[i]!, after[i]!, count)]),
  );
}

const setFaults = (sandboxes: Sandboxes, partner: string, rules: unknown[]) =>
  sandboxes.call({ op: 'faults', partner, rules });

/** `--soak S`: only the soak, for S seconds; null without the flag. */
function soakArgument(): number | null {
  const index = process.argv.indexOf('--soak');
  if (index < 0) return null;
  const seconds = Number(process.argv[index + 1] ?? 600);
  if (!Number.isFinite(seconds) || seconds < 10) throw new Error('--soak takes the seconds to run (>= 10)');
  return seconds;
}

/** `--against DIR`: only this build against DIR's build, in the same rounds; null without the flag. */
function againstArgument(): string | null {
  const index = process.argv.indexOf('--against');
  if (index < 0) return null;
  const directory = process.argv[index + 1];
  if (!directory) throw new Error('--against takes the directory of another checkout');
  if (process.env.DATABASE_URL) throw new Error('--against runs both builds on the embedded database');
  return directory;
}

async function main(): Promise<void> {
  const run = settings();
  const pinning = detectPinning();
  if (pinning) pinSelf(pinning.load);
  const children: Child<unknown>[] = [];
  const started = Date.now();
  const log = (message: string) => console.log(`[${Math.round((Date.now() - started) / 1000)} s] ${message}`);
  try {
    const sandboxes: Sandboxes = await startChild(
      'sandboxes',
      {
        openbanking: { extraAccounts: { [BULK]: 50 }, pageSize: 1000 },
        plaid: { extraAccounts: { [BULK]: 50 } },
      },
      { cpu: pinning?.load ?? null },
    );
    children.push(sandboxes);
    const tributary = await startChild<{
      url: string;
      tokens: Record<string, string>;
      ops: string;
      webhookSecrets: Record<string, string[]>;
    }>(
      'tributary',
      { endpoints: sandboxes.ready.endpoints, env: SERVER_ENV, customers: [CUSTOMER, BULK] },
      { cpu: pinning?.server ?? null },
    );
    children.push(tributary);
    const auth = (token: string) => ({ authorization: `Bearer ${token}` });
    const { target, live } = targetsOn(tributary);
    log(`servers up (database: ${DATABASE}); checking answers`);

    const dashboard = target('tributary-dashboard', DASHBOARD, CUSTOMER);
    const dashboardLive = live(dashboard, 'tributary-dashboard-live');
    const reference = await askOnce(dashboard);
    const edges =
      (reference.data?.accounts as { edges: { node: { provider: string } }[] } | undefined)?.edges ?? [];
    check(
      !reference.errors && edges.length > 0,
      `Tributary's dashboard: ${JSON.stringify(reference.errors)}`,
    );
    check(new Set(edges.map((edge) => edge.node.provider)).size === 2, 'the dashboard spans two partners');
    const idsAnswer = await askOnce(target('ids', IDS, BULK));
    const ids = (idsAnswer.data?.accounts as { edges: { node: { id: string } }[] }).edges.map(
      (edge) => edge.node.id,
    );
    check(ids.length === 100, `${BULK} has 100 accounts (got ${ids.length})`);
    const representations = ids.map((id) => ({ __typename: 'Account', id }));
    const entities = target('tributary-entities-100', ENTITIES, BULK, { representations });
    const entityAnswer = await askOnce(entities);
    const found = (entityAnswer.data?._entities as unknown[] | undefined) ?? [];
    check(
      !entityAnswer.errors && found.length === 100 && found.every(Boolean),
      '_entities answers 100 accounts',
    );

    const against = againstArgument();
    if (against !== null) {
      return await benchAgainst({
        directory: against,
        sandboxes,
        head: tributary,
        serverArgument: { env: SERVER_ENV, customers: [CUSTOMER, BULK] },
        customer: CUSTOMER,
        bulk: BULK,
        run,
        pinning,
        log,
      });
    }

    const soakSeconds = soakArgument();
    if (soakSeconds !== null) {
      await sandboxes.call({
        op: 'webhooks',
        url: tributary.ready.url,
        secrets: tributary.ready.webhookSecrets,
      });
      let serial = 0;
      const runId = Date.now().toString(36);
      const pay = target('tributary-payments', INITIATE_PAYMENT, CUSTOMER);
      const report = await soak({
        seconds: soakSeconds,
        database: DATABASE,
        tributary,
        mix: [
          { target: dashboard, connections: 16 },
          { target: dashboardLive, connections: 4 },
          { target: entities, connections: 2 },
          { target: { ...pay, bodyFor: () => paymentBody(`soak-${runId}-${serial++}`) }, connections: 4 },
        ],
        log,
      });
      console.log(`Database: ${report.database}\nRequests: ${JSON.stringify(report.requests)}\n\nTargets:`);
      for (const goal of report.targets) {
        const verdict = goal.met === null ? 'reported' : goal.met ? 'met' : 'NOT met';
        console.log(`  [${verdict}] ${goal.scenario}: ${goal.target}; observed ${goal.observed}`);
      }
      const file = fromRoot('bench', 'results', 'soak-latest.json');
      writeFileSync(file, `${JSON.stringify({ date: new Date().toISOString(), ...report }, null, 2)}\n`);
      log(`wrote ${file}`);
      return;
    }

    const dataFile = join(mkdtempSync(join(tmpdir(), 'tributary-bench-')), 'dashboard.json');
    writeFileSync(dataFile, JSON.stringify({ data: reference.data }));
    const baseline = async (kind: 'graphql' | 'apollo' | 'bytes', name: string): Promise<Target> => {
      const child = await startChild<{ url: string }>(
        'baseline',
        { kind, dataFile },
        { cpu: pinning?.server ?? null },
      );
      children.push(child);
      const answer: Answer = await askOnce({
        name,
        url: child.ready.url,
        pid: child.pid,
        body: body(DASHBOARD),
      });
      check(!answer.errors, `${name} answers without errors: ${JSON.stringify(answer.errors)}`);
      check(
        isDeepStrictEqual(timeless(answer.data), timeless(reference.data)),
        `${name} answers the same data`,
      );
      return { name, url: child.ready.url, pid: child.pid, body: body(DASHBOARD) };
    };
    const graphqlJs = await baseline('graphql', 'graphql-js');
    const apollo = await baseline('apollo', 'apollo-subgraph');
    const bytes = await baseline('bytes', 'node-http-bytes');

    const profiles = (['cpu', 'heap'] as const).filter((kind) =>
      process.argv.includes(kind === 'cpu' ? '--profile' : '--heap-profile'),
    );
    if (profiles.length > 0) {
      const directory = fromRoot('bench', 'results', 'profiles');
      mkdirSync(directory, { recursive: true });
      let profiled = 0;
      const payments: Target = {
        ...target('tributary-payments', INITIATE_PAYMENT, CUSTOMER),
        body: paymentBody(`bench-profile-${Date.now()}-x`),
        bodyFor: () => paymentBody(`bench-profile-${Date.now()}-${profiled++}`),
      };
      // One key asked again and again: the first request pays, every later one is a replay.
      const replays: Target = {
        ...target('tributary-payment-replays', INITIATE_PAYMENT, CUSTOMER),
        body: paymentBody(`bench-profile-replay-${Date.now()}`),
      };
      for (const kind of profiles) {
        for (const scenario of [dashboard, dashboardLive, entities, payments, replays]) {
          // The payments' webhooks are worked off first, or the next profile would hold their cost.
          await drainInbox(tributary);
          await tributary.call({ profile: 'start', kind });
          await measure(scenario, run);
          const file = join(directory, `${scenario.name}.${kind === 'cpu' ? 'cpuprofile' : 'heapprofile'}`);
          await tributary.call({ profile: 'stop', kind, file });
          const taken: unknown = JSON.parse(readFileSync(file, 'utf8'));
          if (kind === 'cpu') printAreas(scenario.name, selfTimeByArea(taken as CpuProfile));
          else {
            const { areas, sites } = allocations(taken as HeapProfile);
            printAreas(scenario.name, areas, 'Allocated bytes by area');
            printAreas(scenario.name, sites.slice(0, 15), 'Allocated bytes by site (top 15)');
          }
          log(`wrote ${file}`);
        }
      }
    }

    const calls = {
      dashboard: await partnerCalls(sandboxes, dashboardLive, 10),
      'entities-100': await partnerCalls(sandboxes, live(entities, 'entities-live'), 10),
      'dashboard-warm': await partnerCalls(sandboxes, dashboard, 10),
    };

    const samples: (Sample & { round: number })[] = [];
    const interleaved = [dashboard, dashboardLive, apollo, graphqlJs, entities, bytes];
    for (let round = 1; round <= run.rounds; round++) {
      for (const next of interleaved) {
        log(`round ${round}/${run.rounds}: ${next.name}`);
        samples.push({ round, ...(await measure(next, run)) });
      }
    }

    log('(a) partners at 20 ms per call');
    for (const partner of PARTNERS) await setFaults(sandboxes, partner, [{ kind: 'latency', ms: 20 }]);
    const slow = live(dashboard, 'tributary-dashboard-20ms');
    const slowOne = await measure(slow, { ...run, connections: 1, warmupSeconds: 1 });
    const slowMany = await measure(slow, run);
    for (const partner of PARTNERS) await setFaults(sandboxes, partner, []);

    log('(d) Open Banking down, breaker open');
    const bank = live(
      target('tributary-cached-breaker-open', BANK_DASHBOARD, CUSTOMER),
      'tributary-cached-breaker-open',
    );
    await setFaults(sandboxes, 'openbanking', [{ kind: 'status', status: 503 }]);
    const health = { ...target('health', HEALTH, CUSTOMER), headers: auth(tributary.ready.ops) };
    const breaker = async () =>
      ((await askOnce(health)).data?.partnerHealth as { provider: string; breakerState: string }[]).find(
        (line) => line.provider === 'OPENBANKING',
      )?.breakerState;
    for (let i = 0; i < 400 && (await breaker()) !== 'OPEN'; i++) await askOnce(bank);
    check((await breaker()) === 'OPEN', 'the Open Banking breaker opened');
    const cached = await askOnce(bank);
    const cachedNodes = (cached.data?.accounts as { edges: { node: { freshness: { source: string } } }[] })
      .edges;
    check(
      !cached.errors && cachedNodes.every((edge) => edge.node.freshness.source === 'CACHED'),
      'a CACHED answer',
    );
    const cachedCalls = await partnerCalls(sandboxes, bank, 10);
    const cachedOne = await measure(bank, { ...run, connections: 1, warmupSeconds: 1 });
    const cachedMany = await measure(bank, run);
    await setFaults(sandboxes, 'openbanking', []);

    log('(e) payments: fresh keys, then replays of one key');
    await sandboxes.call({
      op: 'webhooks',
      url: tributary.ready.url,
      secrets: tributary.ready.webhookSecrets,
    });
    const money = await measureMoney({
      payments: target('tributary-payments', INITIATE_PAYMENT, CUSTOMER),
      tributary,
      sandboxesPid: sandboxes.pid,
      run: { ...run, connections: 32 },
      databaseUrl: process.env.DATABASE_URL ?? null,
      log,
    });

    const report = summarise(run, pinning !== null, samples, { slowOne, slowMany, cachedOne, cachedMany });
    report.lines.push(...money.lines);
    report.targets.push(...money.targets);
    report.samples.push(...money.samples);
    report.database = DATABASE;
    report.partnerCallsPerOperation = { ...calls, 'cached-breaker-open': cachedCalls };
    report.targets.splice(1, 0, entitiesCallTarget(calls['entities-100']));
    printReport(report);
    const files = writeReport(report, fromRoot('bench', 'results'));
    log(`wrote ${files.join(', ')}`);
  } finally {
    await Promise.all(children.map((child) => child.stop()));
  }
}

await main();
