/**
 * `tributary webhooks list` and `tributary webhooks replay <id> | --since <time>`: the inbox for
 * operators, straight on the database the subgraph uses. A replay puts events back to pending; the
 * running subgraph's workers pick them up within one poll and fetch each payment from its partner
 * again, so replaying more than needed is harmless. Every replay is written to the audit log.
 */
import { userInfo } from 'node:os';
import type { ProviderName } from '../domain/model.js';
import { isPartnerName, PARTNER_NAMES } from '../datasources/modules.js';
import { WebhookOperations } from '../services/webhooks/operations.js';
import { openConfiguredDatabase } from '../server/wiring.js';
import { AuditLog } from '../store/audit.js';
import type { Db } from '../store/db.js';
import { WEBHOOK_STATUSES, WebhookRepository, type WebhookStatus } from '../store/webhooks.js';
import { configOrExit } from './common.js';

export interface ListOptions {
  status?: string;
  provider?: string;
  since?: string;
  limit: string;
  json?: boolean;
}

export interface ReplayOptions {
  since?: string;
  provider?: string;
}

function fail(message: string): never {
  process.stderr.write(`${message}\n`);
  process.exit(2);
}

function provider(value: string | undefined): ProviderName | null {
  if (value === undefined) return null;
  if (!isPartnerName(value)) fail(`unknown provider "${value}" (${PARTNER_NAMES.join(', ')})`);
  return value;
}

/** An ISO time, or a duration back from now: 30m, 6h, 2d. */
export function parseSince(value: string, now: Date = new Date()): Date {
  const relative = /^(\d+)([mhd])$/.exec(value);
  if (relative) {
    const unit = { m: 60_000, h: 3_600_000, d: 86_400_000 }[relative[2] as 'm' | 'h' | 'd'];
    return new Date(now.getTime() - Number(relative[1]) * unit);
  }
  const at = new Date(value);
  if (Number.isNaN(at.getTime())) fail(`invalid time "${value}" (ISO 8601, or 30m / 6h / 2d)`);
  return at;
}

async function withOperations<T>(fn: (ops: WebhookOperations, db: Db) => Promise<T>): Promise<T> {
  const config = configOrExit();
  const db = await openConfiguredDatabase(config);
  try {
    return await fn(new WebhookOperations(new WebhookRepository(db), new AuditLog(db)), db);
  } finally {
    await db.close();
  }
}

export async function runWebhooksList(options: ListOptions): Promise<void> {
  const status = options.status;
  if (status !== undefined && !(WEBHOOK_STATUSES as readonly string[]).includes(status))
    fail(`unknown status "${status}" (${WEBHOOK_STATUSES.join(', ')})`);
  const first = Number(options.limit);
  if (!Number.isInteger(first) || first < 1 || first > 100) fail('--limit must be between 1 and 100');
  await withOperations(async (ops) => {
    const page = await ops.list({
      first,
      statuses: status ? [status as WebhookStatus] : null,
      provider: provider(options.provider),
      since: options.since ? parseSince(options.since) : null,
    });
    if (options.json) {
      process.stdout.write(`${JSON.stringify(page.events, null, 2)}\n`);
      return;
    }
    for (const event of page.events) {
      const error = event.lastError ? `  error: ${event.lastError}` : '';
      process.stdout.write(
        `${event.id}  ${event.receivedAt.toISOString()}  ${event.provider.padEnd(11)} ${event.status.padEnd(10)} ` +
          `attempts=${event.attempts}  ${event.type}  ${event.partnerEventId}${error}\n`,
      );
    }
    process.stdout.write(
      `${page.events.length} event(s)${page.hasNextPage ? ', more: narrow with --since or --status' : ''}\n`,
    );
  });
}

export async function runWebhooksReplay(id: string | undefined, options: ReplayOptions): Promise<void> {
  if ((id === undefined) === (options.since === undefined)) fail('give either an event id or --since <time>');
  const actor = `operator:${userInfo().username}`;
  await withOperations(async (ops) => {
    if (id !== undefined) {
      const result = await ops.replay(id, actor).catch((error: unknown) => fail((error as Error).message));
      if (!result.ok) fail(`event ${id} is being processed right now; replay it once it finishes`);
      process.stdout.write(`replayed ${id} (${result.event.provider} ${result.event.partnerEventId})\n`);
      return;
    }
    const ids = await ops.replaySince(parseSince(options.since!), actor, provider(options.provider));
    process.stdout.write(
      `replayed ${ids.length} event(s) received since ${parseSince(options.since!).toISOString()}\n`,
    );
  });
}
