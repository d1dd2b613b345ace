/**
 * `tributary erase --subject ID --reason TICKET`: a data-subject erasure from the command line, through
 * the same service (and audit trail) as the `eraseCustomer` mutation. The partners the customer is
 * linked to must be reachable from this process (configured); in development, where the sandboxes live
 * inside `npm start`, run `eraseCustomer` against the running server instead.
 */
import { userInfo } from 'node:os';
import { isDomainError } from '../domain/errors.js';
import { localCopiesOf } from '../services/erasure/index.js';
import { closeServices, createServices } from '../server/wiring.js';
import { cliLogger, configOrExit } from './common.js';

export async function runErase(options: { subject: string; reason: string }): Promise<void> {
  const config = configOrExit();
  const services = await createServices(config, cliLogger(config));
  try {
    const report = await services.erasure.erase(
      options.subject,
      `operator:${userInfo().username}`,
      options.reason,
    );
    process.stdout.write(
      [
        `erased ${options.subject}; what remains for the ledger carries ${report.pseudonym}`,
        `  consents revoked at partners ${report.consentsRevoked}, deleted ${report.consentsDeleted}`,
        `  payments ${report.payments}, idempotency keys ${report.idempotencyKeys}, webhook events ${report.webhookEvents}`,
        `  local partner copies ${localCopiesOf(report)}, audit entries ${report.auditEntriesErased}`,
        '',
      ].join('\n'),
    );
  } catch (error) {
    if (!isDomainError(error)) throw error;
    process.stderr.write(`erasure not finished: ${error.message}\n`);
    if (error.code === 'PARTNER_UNAVAILABLE')
      process.stderr.write(
        'The consents are revoked already; run the erasure again once every linked partner is reachable from here.\n',
      );
    process.exitCode = 1;
  } finally {
    await closeServices(services);
  }
}
