/**
 * `tributary erase --subject ID --reason TICKET`: a data-subject erasure from the command line, through
 * the same service (and audit trail) as the `eraseCustomer` mutation. The partners the customer is
 * linked to must be reachable from this process (configured). While a server holds the embedded
 * database (`npm start`), the erasure runs in that server, through its ops API (POST /ops/api/erase).
 */
import { userInfo } from 'node:os';
import { isDomainError } from '../domain/errors.js';
import { localCopiesOf, type ErasureReport } from '../services/erasure/index.js';
import { closeServices, createServices } from '../server/wiring.js';
import { cliLogger, configOrExit } from './common.js';
import { announceRemote, OpsRequestError, opsRequest, runningServer } from './server-owner.js';

/** The one output of an erasure, local or through the server. */
function printErasure(
  subject: string,
  report: Omit<ErasureReport, 'localCopies'>,
  localCopies: number,
): void {
  process.stdout.write(
    [
      `erased ${subject}; what remains for the ledger carries ${report.pseudonym}`,
      `  consents revoked at partners ${report.consentsRevoked}, deleted ${report.consentsDeleted}`,
      `  payments ${report.payments}, idempotency keys ${report.idempotencyKeys}, webhook events ${report.webhookEvents}`,
      `  local partner copies ${localCopies}, audit entries ${report.auditEntriesErased}`,
      '',
    ].join('\n'),
  );
}

/** Consents revoked, but a linked partner could not be reached: the erasure is to be run again. */
function notFinished(message: string, code: string | null): void {
  process.stderr.write(`erasure not finished: ${message}\n`);
  if (code === 'PARTNER_UNAVAILABLE')
    process.stderr.write(
      'The consents are revoked already; run the erasure again once every linked partner is reachable from here.\n',
    );
  process.exitCode = 1;
}

export async function runErase(options: { subject: string; reason: string }): Promise<void> {
  const config = configOrExit();
  const owner = await runningServer(config);
  if (owner) {
    announceRemote(owner);
    try {
      // The API counts the local partner copies already (localCopiesOf).
      const { erasure } = await opsRequest<{
        erasure: Omit<ErasureReport, 'localCopies'> & { localCopies: number };
      }>(config, owner, 'POST', '/ops/api/erase', { customerId: options.subject, reason: options.reason });
      printErasure(options.subject, erasure, erasure.localCopies);
    } catch (error) {
      if (!(error instanceof OpsRequestError)) throw error;
      notFinished(error.message, error.code);
    }
    return;
  }
  const services = await createServices(config, cliLogger(config));
  try {
    const report = await services.erasure.erase(
      options.subject,
      `operator:${userInfo().username}`,
      options.reason,
    );
    printErasure(options.subject, report, localCopiesOf(report));
  } catch (error) {
    if (!isDomainError(error)) throw error;
    notFinished(error.message, error.code);
  } finally {
    await closeServices(services);
  }
}
