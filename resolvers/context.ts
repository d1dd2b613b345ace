/**
 * The per-request context: who is asking, the correlation id, a child logger, one fresh set of
 * DataLoaders (with the request's consent snapshot: the subject's consents and partner credentials,
 * read once for the request), and the services resolvers may call. Nothing loaded for one request (or
 * one subject) is ever seen by another, and no consent read in one request answers the next.
 *
 * Resolvers see services through GraphServices: what the graph does, never the database, the
 * configuration or the signing key.
 */
import type { Logger } from 'pino';
import type { Consent, ProviderName } from '../domain/model.js';
import type { Principal } from '../domain/principal.js';
import type { PartnerHealth } from '../datasources/resilience.js';
import type { ConsentService } from '../services/consents/index.js';
import type { CustomerErasure } from '../services/erasure/index.js';
import type { PaymentService } from '../services/payments/index.js';
import type { WebhookOperations } from '../services/webhooks/index.js';
import type { Loaders } from './loaders.js';

export type { Principal } from '../domain/principal.js';

/** The services the graph calls. */
export interface GraphServices {
  payments: PaymentService;
  consents: {
    listBySubject(subject: string): Promise<Consent[]>;
    get(subject: string, id: string): Promise<Consent | null>;
  } & Pick<ConsentService, 'grant' | 'completeFor' | 'revoke'>;
  partners: {
    /** Whether the partner is reachable here and has the accounts capability. */
    hasAccounts(name: ProviderName): boolean;
    /** Breaker state and recent calls per partner (`partnerHealth`). */
    health(): PartnerHealth[];
  };
  /** Erasing a customer (operators). */
  erasure: Pick<CustomerErasure, 'erase'>;
  webhooks: {
    operations: WebhookOperations;
    /** Asks the inbox worker to look for work now (after a replay). */
    wake(): void;
  };
}

export interface RequestContext {
  correlationId: string;
  /** null when the request carried no valid token; resolvers that need one throw UNAUTHENTICATED. */
  principal: Principal | null;
  logger: Logger;
  loaders: Loaders;
  services: GraphServices;
}
