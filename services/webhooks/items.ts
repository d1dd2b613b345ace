/**
 * What an Item event does (Plaid names the Item, never the customer). TRANSACTIONS SYNC_UPDATES_AVAILABLE
 * (and the older DEFAULT_UPDATE) say the Item's transactions changed: the Item is mapped back to the
 * subjects that linked it (the consent's partner reference is the item id) and the provider syncs its
 * local copy for each, so copy and cursor are current before anyone reads. The sync is idempotent (it
 * pulls from the persisted cursor to now), so duplicates and late events cost one cheap call. A failed
 * sync throws, and the worker retries the event with backoff.
 */
import type { Logger } from 'pino';
import type { Consent, ProviderName } from '../../domain/model.js';
import type { CallContext } from '../../domain/providers.js';
import type { WebhookEventRecord } from '../../store/webhooks.js';
import type { HandleResult } from './result.js';

/** Event types after which an Item's transactions are synced. */
export const ITEM_SYNC_EVENTS: ReadonlySet<string> = new Set([
  'TRANSACTIONS.SYNC_UPDATES_AVAILABLE',
  'TRANSACTIONS.DEFAULT_UPDATE',
]);

/** Where the links of a partner reference are found (ConsentRepository satisfies it). */
export interface ItemLinks {
  findByPartnerRef(provider: ProviderName, partnerRef: string): Promise<Consent[]>;
}

/** Brings the provider's local copy of the subject's link up to date; false when it is not their link. */
export type LinkRefresher = (
  provider: ProviderName,
  ctx: CallContext,
  externalRef: string,
) => Promise<boolean>;

export interface ItemHandlerDeps {
  links: ItemLinks;
  refreshLink: LinkRefresher;
}

export interface ItemEventHandler {
  handle(event: WebhookEventRecord, logger: Logger): Promise<HandleResult>;
}

/** Syncs the Item an event names for every subject that has it linked. */
export function itemEventHandler(deps: ItemHandlerDeps): ItemEventHandler {
  return {
    async handle(event, logger) {
      const itemId = event.resource?.kind === 'item' ? event.resource.partnerId : null;
      if (!itemId) return { outcome: 'ignored', detail: `no Item in ${event.type}` };
      if (!ITEM_SYNC_EVENTS.has(event.type))
        return { outcome: 'ignored', detail: `${event.type} needs no action` };
      const consents = await deps.links.findByPartnerRef(event.provider, itemId);
      const subjects = [
        ...new Set(consents.filter((consent) => consent.status === 'ACTIVE').map((c) => c.subject)),
      ];
      if (subjects.length === 0) {
        // Details reach the logs and unerasable audit entries: they name no Item (a customer's handle).
        return { outcome: 'ignored', detail: `no active ${event.provider} link for the Item` };
      }
      const synced: string[] = [];
      for (const subject of subjects) {
        const ctx: CallContext = { subject, correlationId: `webhook-${event.id}`, logger };
        if (await deps.refreshLink(event.provider, ctx, itemId)) synced.push(subject);
      }
      if (synced.length === 0) {
        return { outcome: 'ignored', detail: 'the Item is no longer the linked one of its subject' };
      }
      return {
        outcome: 'processed',
        detail: `transactions of the Item synced (${event.type})`,
        audit: {
          actor: `webhook:${event.provider}`,
          action: 'webhook.processed',
          subject: synced.length === 1 ? synced[0] : null,
          // The Item id is the customer's handle at Plaid: in details, erased with the subject.
          target: event.id,
          details: {
            itemId,
            webhookEventId: event.id,
            partnerEventId: event.partnerEventId,
            type: event.type,
          },
        },
      };
    },
  };
}
