/**
 * `tributary webhooks list` and `tributary webhooks replay <id> | --since <time>`: the inbox for
 * operators, straight on the database the subgraph uses (or, while a server holds the embedded
 * database, through its ops API; `replay --since` then refuses: stop the server or replay by id). A replay puts events back to pending; the
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
import {
  WEBHOOK_STATUSES,
  WebhookRepository,
  type WebhookEventRecord,
  type WebhookStatus,
} from '../store/webhooks.js';
import type { Config } from '../server/config.js';
import { configOrExit } from './common.js';
import {
  announceRemote,
  OpsRequestError,
  opsRequest,
  orFail,
  refuseWhileServing,
  runningServer,
} from './server-owner.js';

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

async function withOperations<T>(
  config: Config,
  fn: (ops: WebhookOperations, db: Db) => Promise<T>,
): Promise<T> {
  const db = await openConfiguredDatabase(config);
  try {
    return await fn(new WebhookOperations(new WebhookRepository(db), new AuditLog(db)), db);
  } finally {
    await db.close();
  }
}

/** One listed event, as the database gives it or as the ops API answers it (times as ISO strings). */
type ListedEvent = Pick<
  WebhookEventRecord,
  'id' | 'provider' | 'status' | 'attempts' | 'type' | 'partnerEventId' | 'lastError'
> & { receivedAt: Date | string };

/** The API's statuses (the schema's WebhookEventStatus) for each stored one; pending is two of them. */
const API_STATUSES: Record<WebhookStatus, string[]> = {
  pending: ['RECEIVED', 'FAILED'],
  processing: ['PROCESSING'],
  processed: ['PROCESSED'],
  ignored: ['IGNORED'],
  dead: ['DEAD_LETTER'],
};

/** The stored status an API status stands for, so the output is the same as a local run's. */
function storedStatus(status: string): WebhookStatus {
  const found = (Object.entries(API_STATUSES) as [WebhookStatus, string[]][]).find(([, api]) =>
    api.includes(status),
  );
  return found ? found[0] : (status.toLowerCase() as WebhookStatus);
}

/** The one output of `webhooks list`, local or through the server. */
function printEvents(events: readonly ListedEvent[], hasNextPage: boolean, json: boolean | undefined): void {
  if (json) {
    process.stdout.write(`${JSON.stringify(events, null, 2)}\n`);
    return;
  }
  for (const event of events) {
    const error = event.lastError ? `  error: ${event.lastError}` : '';
    process.stdout.write(
      `${event.id}  ${new Date(event.receivedAt).toISOString()}  ${event.provider.padEnd(11)} ${event.status.padEnd(10)} ` +
        `attempts=${event.attempts}  ${event.type}  ${event.partnerEventId}${error}\n`,
    );
  }
  process.stdout.write(
    `${events.length} event(s)${hasNextPage ? ', more: narrow with --since or --status' : ''}\n`,
  );
}

export async function runWebhooksList(options: ListOptions): Promise<void> {
  const status = options.status;
  if (status !== undefined && !(WEBHOOK_STATUSES as readonly string[]).includes(status))
    fail(`unknown status "${status}" (${WEBHOOK_STATUSES.join(', ')})`);
  const first = Number(options.limit);
  if (!Number.isInteger(first) || first < 1 || first > 100) fail('--limit must be between 1 and 100');
  const partner = provider(options.provider);
  const since = options.since ? parseSince(options.since) : null;
  const config = configOrExit();
  const owner = await runningServer(config);
  if (owner) {
    announceRemote(owner);
    // One more than asked tells whether there are more (the API has no page info).
    const asked = Math.min(first + 1, 100);
    const fetchStatus = async (apiStatus: string | null) => {
      const query = new URLSearchParams({ limit: String(asked) });
      if (partner) query.set('partner', partner);
      if (apiStatus) query.set('status', apiStatus);
      if (since) query.set('since', since.toISOString());
      const page = await orFail(() =>
        opsRequest<{ events: ListedEvent[] }>(config, owner, 'GET', `/ops/api/webhooks?${query.toString()}`),
      );
      return page.events;
    };
    const apiStatuses = status ? API_STATUSES[status as WebhookStatus] : [null];
    const events = (await Promise.all(apiStatuses.map(fetchStatus)))
      .flat()
      .map((event) => ({ ...event, status: storedStatus(event.status) }))
      // Newest first, as the local listing (the API puts dead letters first).
      .sort((a, b) => new Date(b.receivedAt).getTime() - new Date(a.receivedAt).getTime());
    printEvents(events.slice(0, first), events.length > first, options.json);
    return;
  }
  await withOperations(config, async (ops) => {
    const page = await ops.list({
      first,
      statuses: status ? [status as WebhookStatus] : null,
      provider: partner,
      since,
    });
    printEvents(page.events, page.hasNextPage, options.json);
  });
}

const BUSY = (id: string) => `event ${id} is being processed right now; replay it once it finishes`;

export async function runWebhooksReplay(id: string | undefined, options: ReplayOptions): Promise<void> {
  if ((id === undefined) === (options.since === undefined)) fail('give either an event id or --since <time>');
  const actor = `operator:${userInfo().username}`;
  const config = configOrExit();
  const owner = await runningServer(config);
  if (owner) {
    if (id === undefined) refuseWhileServing(owner, 'webhooks replay --since');
    announceRemote(owner);
    const answer = await opsRequest<{ ok?: boolean; event?: ListedEvent }>(
      config,
      owner,
      'POST',
      `/ops/api/webhooks/${encodeURIComponent(id)}/replay`,
    ).catch((error: unknown) => {
      if (error instanceof OpsRequestError && error.status === 409) fail(BUSY(id));
      if (error instanceof OpsRequestError) fail(error.message);
      throw error;
    });
    if (answer.ok === false) fail(BUSY(id));
    const event = answer.event;
    process.stdout.write(`replayed ${id}${event ? ` (${event.provider} ${event.partnerEventId})` : ''}\n`);
    return;
  }
  await withOperations(config, async (ops) => {
    if (id !== undefined) {
      const result = await ops.replay(id, actor).catch((error: unknown) => fail((error as Error).message));
      if (!result.ok) fail(BUSY(id));
      process.stdout.write(`replayed ${id} (${result.event.provider} ${result.event.partnerEventId})\n`);
      return;
    }
    const ids = await ops.replaySince(parseSince(options.since!), actor, provider(options.provider));
    process.stdout.write(
      `replayed ${ids.length} event(s) received since ${parseSince(options.since!).toISOString()}\n`,
    );
  });
}
