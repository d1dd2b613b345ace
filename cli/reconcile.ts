/**
 * `tributary reconcile [--provider p] [--apply] [--json]`: compares the payments ledger with every
 * configured payments partner (services/payments/reconcile.ts) and prints where they disagree. Report
 * only by default; `--apply` moves payments whose status is behind the partner's forward through the
 * state machine, like a late webhook would. Every run is appended to the audit log.
 *
 * In development it reaches the sandboxes of the running `tributary start` (`<data dir>/sandboxes.json`).
 * While a server holds the embedded database, the run happens in that server (POST /ops/api/reconcile).
 *
 * Exit codes: 0 ledger and partners agree (after applying, with --apply), 1 discrepancies remain,
 * 2 usage or configuration error. Meant to run from cron; alert on 1.
 */
import { existsSync } from 'node:fs';
import cliProgress from 'cli-progress';
import { readFile } from 'node:fs/promises';
import { userInfo } from 'node:os';
import { join } from 'node:path';
import type { PartnerEndpoint } from '../datasources/module.js';
import { remoteSandboxEndpoints } from '../sandboxes/index.js';
import { SANDBOXES_FILE } from './start.js';
import type { ProviderName } from '../domain/model.js';
import { paymentPartners } from '../datasources/modules.js';
import { closeServices, createServices } from '../server/wiring.js';
import type { Discrepancy, ReconcileReport } from '../services/payments/index.js';
import { cliLogger, configOrExit } from './common.js';
import { announceRemote, opsRequest, orFail, runningServer } from './server-owner.js';

export interface ReconcileCliOptions {
  provider?: string;
  apply?: boolean;
  json?: boolean;
  /** An ISO 8601 date-time, or a duration back from now: `30m`, `24h`, `7d`. */
  since?: string;
}

/** `--since`: an ISO 8601 date-time or a duration back from `now` (`30m`, `24h`, `7d`); null when invalid. */
export function parseSince(value: string, now: Date = new Date()): Date | null {
  const duration = /^(\d{1,6})([mhd])$/.exec(value.trim());
  if (duration) {
    const unit = { m: 60_000, h: 3_600_000, d: 86_400_000 }[duration[2] as 'm' | 'h' | 'd'];
    return new Date(now.getTime() - Number(duration[1]) * unit);
  }
  if (!/^\d{4}-\d{2}-\d{2}/.test(value)) return null;
  const date = new Date(value);
  return Number.isNaN(date.getTime()) ? null : date;
}

const PAYMENT_PARTNERS: readonly ProviderName[] = paymentPartners();

export async function runReconcile(options: ReconcileCliOptions): Promise<void> {
  if (options.provider !== undefined && !PAYMENT_PARTNERS.includes(options.provider as ProviderName)) {
    process.stderr.write(`unknown payments partner "${options.provider}" (${PAYMENT_PARTNERS.join(', ')})\n`);
    process.exit(2);
  }
  const since = options.since === undefined ? null : parseSince(options.since);
  if (options.since !== undefined && since === null) {
    process.stderr.write(
      `--since: "${options.since}" is neither an ISO date nor a duration like 24h or 7d\n`,
    );
    process.exit(2);
  }
  const config = configOrExit();
  // The embedded database held by a running server: reconcile there (cli/server-owner.ts).
  const owner = await runningServer(config);
  if (owner) {
    announceRemote(owner);
    const { run } = await orFail(() =>
      opsRequest<{ run: ReconcileReport }>(config, owner, 'POST', '/ops/api/reconcile', {
        ...(options.provider ? { providers: [options.provider] } : {}),
        apply: options.apply === true,
        ...(since ? { since: since.toISOString() } : {}),
      }),
    );
    // The API spells kinds as the schema does (BEHIND); the report's own spelling is lower case.
    const discrepancies = run.discrepancies.map((d) => ({
      ...d,
      kind: d.kind.toLowerCase() as Discrepancy['kind'],
    }));
    const report = {
      checked: run.checked,
      matched: run.matched,
      discrepancies,
      run: { ...run, discrepancies },
    };
    if (options.json) process.stdout.write(`${JSON.stringify(report, null, 2)}\n`);
    else printReport(report.checked, report.matched, report.discrepancies);
    process.exitCode = report.discrepancies.some((discrepancy) => !discrepancy.applied) ? 1 : 0;
    return;
  }
  // In development the partners are the sandboxes a running `tributary start` wrote down; reconciling
  // against fresh sandboxes would find none of the ledger's payments.
  const written = join(config.dataDir, SANDBOXES_FILE);
  const sandboxes =
    !config.production && existsSync(written)
      ? await remoteSandboxEndpoints(
          JSON.parse(await readFile(written, 'utf8')) as Record<string, PartnerEndpoint>,
        )
      : undefined;
  const services = await createServices(config, cliLogger(config), sandboxes ? { sandboxes } : {});
  try {
    const wanted = options.provider ? [options.provider as ProviderName] : PAYMENT_PARTNERS;
    const configured = services.registry.names();
    const providers = wanted.filter((name) => configured.includes(name));
    for (const name of wanted.filter((partner) => !providers.includes(partner)))
      process.stderr.write(`${name} is not configured: its payments are not reconciled\n`);
    // A progress bar on stderr for people at a terminal; never in --json runs or cron logs.
    const bar =
      process.stderr.isTTY && !options.json
        ? new cliProgress.SingleBar(
            { format: 'reconciling {provider} [{bar}] {value}/{total} payments', stream: process.stderr },
            cliProgress.Presets.shades_classic,
          )
        : null;
    let barTotal = -1;
    const onProgress = (event: { provider: ProviderName; done: number; total: number }) => {
      if (!bar) return;
      if (barTotal < 0) bar.start(event.total, event.done, { provider: event.provider });
      else if (event.total !== barTotal) bar.setTotal(event.total);
      barTotal = event.total;
      bar.update(event.done, { provider: event.provider });
    };
    const report = await services.payments
      .reconcile(
        { providers, apply: options.apply === true, since, onProgress },
        `operator:${userInfo().username}`,
      )
      .finally(() => bar?.stop());
    const open = report.discrepancies.filter((discrepancy) => !discrepancy.applied);
    if (options.json) process.stdout.write(`${JSON.stringify(report, null, 2)}\n`);
    else printReport(report.checked, report.matched, report.discrepancies);
    process.exitCode = open.length > 0 ? 1 : 0;
  } finally {
    await closeServices(services);
  }
}

function printReport(checked: number, matched: number, discrepancies: Discrepancy[]): void {
  for (const d of discrepancies) {
    const status = `${d.ours ?? '-'} -> ${d.partner ?? '-'}`;
    const applied = d.applied ? '  (applied)' : '';
    process.stdout.write(
      `${d.kind.padEnd(18)} ${(d.provider ?? '-').padEnd(11)} ${d.paymentId ?? '-'}  ${status}  ${d.detail}${applied}\n`,
    );
  }
  const applied = discrepancies.filter((d) => d.applied).length;
  process.stdout.write(
    `${checked} payments compared, ${matched} matched, ${discrepancies.length} discrepancies` +
      `${applied > 0 ? `, ${applied} applied` : ''}\n`,
  );
}
