/**
 * `tributary reconcile [--provider p] [--apply] [--json]`: compares the payments ledger with every
 * configured payments partner (services/payments/reconcile.ts) and prints where they disagree. Report
 * only by default; `--apply` moves payments whose status is behind the partner's forward through the
 * state machine, like a late webhook would. Every run is appended to the audit log.
 *
 * In development it reaches the sandboxes of the running `tributary start` (`<data dir>/sandboxes.json`).
 * With the embedded database the server holds it, so there use the graph's `reconcilePayments`.
 *
 * Exit codes: 0 ledger and partners agree (after applying, with --apply), 1 discrepancies remain,
 * 2 usage or configuration error. Meant to run from cron; alert on 1.
 */
import { existsSync } from 'node:fs';
import { readFile } from 'node:fs/promises';
import { userInfo } from 'node:os';
import { join } from 'node:path';
import type { PartnerEndpoint } from '../datasources/module.js';
import { remoteSandboxEndpoints } from '../sandboxes/index.js';
import { SANDBOXES_FILE } from './start.js';
import type { ProviderName } from '../domain/model.js';
import { paymentPartners } from '../datasources/modules.js';
import { closeServices, createServices } from '../server/wiring.js';
import type { Discrepancy } from '../services/payments/index.js';
import { cliLogger, configOrExit } from './common.js';

export interface ReconcileCliOptions {
  provider?: string;
  apply?: boolean;
  json?: boolean;
}

const PAYMENT_PARTNERS: readonly ProviderName[] = paymentPartners();

export async function runReconcile(options: ReconcileCliOptions): Promise<void> {
  if (options.provider !== undefined && !PAYMENT_PARTNERS.includes(options.provider as ProviderName)) {
    process.stderr.write(`unknown payments partner "${options.provider}" (${PAYMENT_PARTNERS.join(', ')})\n`);
    process.exit(2);
  }
  const config = configOrExit();
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
    const report = await services.payments.reconcile(
      { providers, apply: options.apply === true },
      `operator:${userInfo().username}`,
    );
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
