/**
 * The inbox as the graph shows it: the stored status and attempt count become the schema's
 * WebhookEventStatus (a pending row that failed before is FAILED, one never tried is RECEIVED).
 */
import type { RequestContext } from '../context.js';
import type { WebhookEventRecord, WebhookStatus } from '../../store/webhooks.js';
import type {
  QueryWebhookEventsArgs,
  WebhookEvent,
  WebhookEventConnection,
  WebhookEventStatus,
} from '../__generated__/types.js';
import { pageSize } from './connection.js';

export function statusOf(event: WebhookEventRecord): WebhookEventStatus {
  switch (event.status) {
    case 'pending':
      return event.attempts > 0 ? 'FAILED' : 'RECEIVED';
    case 'processing':
      return 'PROCESSING';
    case 'processed':
      return 'PROCESSED';
    case 'ignored':
      return 'IGNORED';
    case 'dead':
      return 'DEAD_LETTER';
    default: {
      const unknown: never = event.status;
      throw new Error(`Unknown webhook status ${String(unknown)}`);
    }
  }
}

/** The stored statuses (and retried flag) a schema status filter selects. */
export function filterOf(status: WebhookEventStatus): { statuses: WebhookStatus[]; retried: boolean | null } {
  const map = {
    RECEIVED: { statuses: ['pending'], retried: false },
    FAILED: { statuses: ['pending'], retried: true },
    PROCESSING: { statuses: ['processing'], retried: null },
    PROCESSED: { statuses: ['processed'], retried: null },
    IGNORED: { statuses: ['ignored'], retried: null },
    DEAD_LETTER: { statuses: ['dead'], retried: null },
  } satisfies Record<WebhookEventStatus, { statuses: WebhookStatus[]; retried: boolean | null }>;
  return map[status];
}

export function toWebhookEvent(event: WebhookEventRecord): WebhookEvent {
  return {
    id: event.id,
    // Stored only for partners of the module list (the intake refuses others), whose names the SDL enum lists.
    provider: event.provider as WebhookEvent['provider'],
    partnerEventId: event.partnerEventId,
    type: event.type,
    status: statusOf(event),
    attempts: event.attempts,
    receivedAt: event.receivedAt,
    processedAt: event.processedAt,
    lastError: event.lastError,
  };
}

export async function webhookEventsConnection(
  context: RequestContext,
  args: QueryWebhookEventsArgs,
): Promise<WebhookEventConnection> {
  const filter = args.status ? filterOf(args.status) : null;
  const page = await context.services.webhooks.operations.list({
    first: pageSize(args.first),
    after: args.after ?? null,
    statuses: filter?.statuses ?? null,
    retried: filter?.retried ?? null,
    provider: args.provider ?? null,
    since: args.since ?? null,
  });
  const edges = page.events.map((event) => ({ cursor: page.cursorOf(event), node: toWebhookEvent(event) }));
  return {
    edges,
    pageInfo: {
      hasNextPage: page.hasNextPage,
      hasPreviousPage: Boolean(args.after),
      startCursor: edges[0]?.cursor ?? null,
      endCursor: edges.at(-1)?.cursor ?? null,
    },
  };
}

/** replayWebhookEvent: operators only (ops:write); audited with the operator as actor. */
export async function replayWebhookEventPayload(context: RequestContext, id: string) {
  const actor = `operator:${context.principal?.subject ?? 'unknown'}`;
  const result = await context.services.webhooks.operations.replay(id, actor);
  if (result.ok) {
    context.services.webhooks.wake();
    return { webhookEvent: toWebhookEvent(result.event), userErrors: [] };
  }
  return {
    webhookEvent: toWebhookEvent(result.event),
    userErrors: [
      {
        code: 'NOT_REPLAYABLE' as const,
        message: 'The event is being processed; replay it once it finishes.',
        field: ['id'],
      },
    ],
  };
}
