/**
 * `npm run bench -- --against DIR`: this build and the build of another checkout (DIR: a clone or a
 * `git worktree` of, say, the parent commit, with its node_modules) measured in the same rounds.
 *
 * Separate bench runs on a shared machine drift by up to 3x, baselines included (docs/performance.md),
 * so a change is judged here: both servers run at once on CPU 0 against one set of sandboxes, and each
 * round measures every scenario on one build and then on the other, alternating which goes first. Per
 * round the report gives head/other of server CPU per request; the median over the rounds is the answer.
 *
 * Scenarios: the warm dashboard, the dashboard with live partner calls, `_entities` with 100 references
 * and card payments with fresh keys (the sandbox sends no webhooks in this mode, so both builds pay for
 * the same work). Both servers use the embedded database in memory: two schema versions cannot share
 * one PostgreSQL database.
 */
import { spawnSync } from 'node:child_process';
import { existsSync, writeFileSync } from 'node:fs';
import { join, resolve } from 'node:path';
import { fromRoot } from '../store/paths.js';
import { startChild, type Child, type Pinning } from './children.js';
import { askOnce, measure, median, type RunOptions, type Sample, type Target } from './measure.js';
import { DASHBOARD, ENTITIES, IDS, INITIATE_PAYMENT, paymentBody, targetsOn } from './scenarios.js';

interface Ready {
  url: string;
  tokens: Record<string, string>;
}

interface Build {
  label: 'head' | 'other';
  child: Child<Ready>;
  targets: Record<Scenario, Target>;
}

const SCENARIOS = ['dashboard-warm', 'dashboard-live', 'entities-100', 'payments'] as const;

/** The other checkout's benchmark child, built first when its `dist/` does not have one. */
function otherScript(directory: string): string {
  const script = join(directory, 'dist', 'bench', 'targets', 'tributary.js');
  if (existsSync(script)) return script;
  if (!existsSync(join(directory, 'node_modules'))) {
    throw new Error(`--against ${directory}: no node_modules there (run npm ci, or link this one's)`);
  }
  const built = spawnSync('npm', ['run', 'build', '--silent'], { cwd: directory, stdio: 'inherit' });
  if (built.status !== 0 || !existsSync(script)) {
    throw new Error(`--against ${directory}: its build did not produce ${script}`);
  }
  return script;
}

type Scenario = (typeof SCENARIOS)[number];

/** The scenarios' targets on one server (its own tokens and its own account ids). */
async function targetsOf(
  child: Child<Ready>,
  customer: string,
  bulk: string,
  label: string,
): Promise<Record<Scenario, Target>> {
  const { target, live } = targetsOn(child);
  const named = (scenario: Scenario) => `${label}:${scenario}`;
  const dashboard = target(named('dashboard-warm'), DASHBOARD, customer);
  const ids = await askOnce(target(`${label}:ids`, IDS, bulk));
  const edges = (ids.data?.accounts as { edges: { node: { id: string } }[] } | undefined)?.edges ?? [];
  if (edges.length !== 100) throw new Error(`${label}: ${bulk} has ${edges.length} accounts, not 100`);
  const representations = edges.map((edge) => ({ __typename: 'Account', id: edge.node.id }));
  let serial = 0;
  const runId = `${label}-${Date.now().toString(36)}`;
  const targets: Record<Scenario, Target> = {
    'dashboard-warm': dashboard,
    'dashboard-live': live(dashboard, named('dashboard-live')),
    'entities-100': target(named('entities-100'), ENTITIES, bulk, { representations }),
    payments: {
      ...target(named('payments'), INITIATE_PAYMENT, customer),
      body: paymentBody(`against-${runId}-first`),
      bodyFor: () => paymentBody(`against-${runId}-${serial++}`),
    },
  };
  for (const check of Object.values(targets)) {
    const answer = await askOnce(check);
    if (answer.errors || !answer.data) {
      throw new Error(`${check.name} does not answer cleanly: ${JSON.stringify(answer.errors)}`);
    }
  }
  return targets;
}

export type BuildSample = Sample & { round: number; build: 'head' | 'other'; scenario: string };

/**
 * Per scenario: each build's CPU per request by round, head/other for each round (the rounds are paired:
 * the two builds measured back to back) and the median of those ratios.
 */
export function headOverOther(samples: readonly BuildSample[]) {
  const scenarios = [...new Set(samples.map((sample) => sample.scenario))];
  return scenarios.map((scenario) => {
    const of = (build: BuildSample['build']) =>
      samples
        .filter((sample) => sample.scenario === scenario && sample.build === build)
        .sort((a, b) => a.round - b.round);
    const head = of('head');
    const base = of('other');
    const ratios = head.map((sample) => {
      const paired = base.find((other) => other.round === sample.round);
      return sample.cpuUsPerReq === null || !paired?.cpuUsPerReq
        ? NaN
        : sample.cpuUsPerReq / paired.cpuUsPerReq;
    });
    const failures = [...head, ...base].reduce((sum, sample) => sum + sample.failures, 0);
    return {
      scenario,
      headCpuUs: head.map((sample) => Math.round(sample.cpuUsPerReq ?? NaN)),
      otherCpuUs: base.map((sample) => Math.round(sample.cpuUsPerReq ?? NaN)),
      ratios: ratios.map((ratio) => Number(ratio.toFixed(3))),
      median: Number(median(ratios).toFixed(3)),
      failures,
    };
  });
}

export interface AgainstOptions {
  directory: string;
  sandboxes: Child<{ endpoints: Record<string, unknown> }>;
  head: Child<Ready>;
  serverArgument: { env: Record<string, string>; customers: string[] };
  customer: string;
  bulk: string;
  run: RunOptions & { rounds: number };
  pinning: Pinning | null;
  log: (message: string) => void;
}

export async function benchAgainst(options: AgainstOptions): Promise<void> {
  const { directory, sandboxes, run, log } = options;
  const root = resolve(directory);
  const script = otherScript(root);
  // The other build attaches only the sandboxes it has a binding for.
  const endpoints = Object.fromEntries(
    Object.entries(sandboxes.ready.endpoints).filter(([name]) => existsSync(join(root, 'sandboxes', name))),
  );
  const other = await startChild<Ready>(
    'tributary',
    { ...options.serverArgument, endpoints },
    { cpu: options.pinning?.server ?? null, script },
  );
  try {
    const builds: Build[] = [];
    for (const [label, child] of [
      ['head', options.head],
      ['other', other],
    ] as const) {
      builds.push({ label, child, targets: await targetsOf(child, options.customer, options.bulk, label) });
    }
    log(`against ${root}: both builds answer; ${run.rounds} rounds`);
    const samples: BuildSample[] = [];
    for (let round = 1; round <= run.rounds; round++) {
      for (const [index, scenario] of SCENARIOS.entries()) {
        // Alternate which build goes first, so neither always measures on a machine the other warmed.
        const order = (round + index) % 2 === 0 ? builds : [...builds].reverse();
        for (const build of order) {
          const connections = scenario === 'payments' ? 32 : run.connections;
          log(`round ${round}/${run.rounds}: ${build.label} ${scenario}`);
          const sample = await measure(build.targets[scenario], { ...run, connections });
          samples.push({ ...sample, round, build: build.label, scenario });
        }
      }
    }
    const rows = headOverOther(samples);
    console.log(`\nhead (this build) against ${root}: server CPU µs per request, per round\n`);
    for (const row of rows) {
      console.log(
        `  ${row.scenario.padEnd(15)} head ${row.headCpuUs.join(' / ')}  other ${row.otherCpuUs.join(' / ')}` +
          `  head/other ${row.ratios.join(', ')}  median ${row.median}${row.failures ? `  (${row.failures} failed requests)` : ''}`,
      );
    }
    const file = fromRoot('bench', 'results', 'against-latest.json');
    writeFileSync(
      file,
      `${JSON.stringify({ date: new Date().toISOString(), against: root, settings: run, rows, samples }, null, 2)}\n`,
    );
    log(`wrote ${file}`);
  } finally {
    await other.stop();
  }
}
