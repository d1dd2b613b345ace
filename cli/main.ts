/**
 * The `tributary` command. Operators and developers use the same entry: `start` is what `npm start`
 * runs. Every command reads configuration through server/config.ts, like the server does.
 */
import { Command, Option } from 'commander';
import { ALL_SCOPES, CUSTOMER_SCOPES } from '../server/auth.js';
import { PARTNER_NAMES, paymentPartners } from '../datasources/modules.js';
import { runAuditVerify } from './audit.js';
import { runMigrate } from './migrate.js';
import { runReconcile, type ReconcileCliOptions } from './reconcile.js';
import { runSandboxes } from './sandboxes.js';
import { runStart, type StartOptions } from './start.js';
import { runSupergraph, type SupergraphOptions } from './supergraph.js';
import { runToken } from './token.js';
import { runErase } from './erase.js';
import { runSecretsRotate } from './secrets.js';
import { runOperationsList, runOperationsPublish } from './operations.js';
import { runWebhooksList, runWebhooksReplay, type ListOptions, type ReplayOptions } from './webhooks.js';

const program = new Command('tributary')
  .description('Tributary: one canonical GraphQL subgraph over banking partners')
  .showHelpAfterError();

program
  .command('start')
  .description(
    'migrate, start partner sandboxes where no partner is configured, seed demo data, serve the subgraph',
  )
  .option('--no-seed', 'do not seed the demo customers')
  .option('--no-sandboxes', 'start no partner sandbox; unconfigured partners stay disabled')
  .option(
    '--attach-sandboxes <file>',
    "a second replica: use the sandboxes in the first replica's <data dir>/sandboxes.json",
  )
  .action((options: StartOptions) => runStart(options));

program
  .command('sandboxes')
  .description('run the partner sandboxes alone')
  .option('--port <partner=port...>', 'fixed ports, e.g. --port openbanking=4101 (default: free ports)')
  .action((options: { port?: string[] }) => runSandboxes(options));

program
  .command('migrate')
  .description('apply database migrations and exit')
  .action(() => runMigrate());

program
  .command('token')
  .description('sign a development token (refused in production)')
  .requiredOption('--subject <id>', 'the customer id (JWT sub), e.g. cust_alice')
  .addOption(new Option('--scopes <scopes>', 'space-separated scopes').default(CUSTOMER_SCOPES.join(' ')))
  .option('--ttl <duration>', 'lifetime: seconds, or 15m, 12h, 7d (at most 30 days)', '3600')
  .action((options: { subject: string; scopes: string; ttl: string }) => runToken(options));

program
  .command('supergraph')
  .description("compose running subgraphs' SDL (_service) into a supergraph file for a router")
  .requiredOption('--subgraph <name=url...>', 'each subgraph, e.g. tributary=http://localhost:4001/graphql')
  .option('--router-secret <name=secret...>', "a subgraph's router secret (default: ROUTER_SECRET for all)")
  .option('--out <file>', 'write the supergraph here (default: standard output)')
  .action((options: SupergraphOptions) => runSupergraph(options));

program
  .command('erase')
  .description(
    'erase a customer: revoke their links at the partners, delete their personal data, pseudonymise the ledger (audited)',
  )
  .requiredOption('--subject <id>', "the customer's id (JWT sub)")
  .requiredOption(
    '--reason <ticket>',
    'a reference to the request (ticket id), kept in the audit log; no personal data',
  )
  .action((options: { subject: string; reason: string }) => runErase(options));

const secrets = program.command('secrets').description('the key ring of SECRETS_KEY');
secrets
  .command('rotate')
  .description(
    'reseal every partner credential under the current (first) key; exit 1 while any is left under an older one',
  )
  .option('--batch-size <n>', 'credentials per transaction', '100')
  .action((options: { batchSize: string }) => runSecretsRotate(options));

const audit = program.command('audit').description('the tamper-evident audit log');
audit
  .command('verify')
  .description('verify the hash chain; exits 1 on any edit, deletion or reorder')
  .action(() => runAuditVerify());

const webhooks = program.command('webhooks').description('the partner webhook inbox');
webhooks
  .command('list')
  .description('list received webhook events, newest first')
  .option('--status <status>', 'pending | processing | processed | ignored | dead')
  .option('--provider <provider>', PARTNER_NAMES.join(' | '))
  .option('--since <time>', 'ISO time, or 30m / 6h / 2d back from now')
  .option('--limit <n>', 'how many (1..100)', '50')
  .option('--json', 'print JSON')
  .action((options: ListOptions) => runWebhooksList(options));
webhooks
  .command('replay [id]')
  .description('queue events for processing again: one by id, or all received since a time (audited)')
  .option('--since <time>', 'ISO time, or 30m / 6h / 2d back from now')
  .option('--provider <provider>', 'with --since: only this partner')
  .action((id: string | undefined, options: ReplayOptions) => runWebhooksReplay(id, options));

const operations = program
  .command('operations')
  .description('persisted operations: the manifest every replica serves (PERSISTED_OPERATIONS)');
operations
  .command('publish <file>')
  .description(
    "publish an Apollo persisted query manifest (audited); refuses the whole file (exit 1) if any id is not its body's SHA-256 or any body does not validate",
  )
  .action((file: string) => runOperationsPublish(file));
operations
  .command('list')
  .description('list the published operations, oldest first')
  .option('--json', 'print JSON')
  .action((options: { json?: boolean }) => runOperationsList(options));

program
  .command('reconcile')
  .description('compare the payments ledger with the partners; exits 1 while discrepancies remain (audited)')
  .option('--provider <provider>', `${paymentPartners().join(' | ')} (default: all)`)
  .option('--apply', 'move payments behind their partner forward through the state machine')
  .option('--json', 'print the report as JSON')
  .option('--since <when>', 'only payments created since an ISO date or a duration back (24h, 7d)')
  .action((options: ReconcileCliOptions) => runReconcile(options));

program.addHelpText('after', `\nScopes: ${ALL_SCOPES.join(' ')}`);

await program.parseAsync(process.argv);
