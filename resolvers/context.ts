/**
 * The per-request context: who is asking, the correlation id, a child logger, and one fresh set of
 * DataLoaders (with the request's consent snapshot: the subject's consents and partner credentials,
 * read once for the request), so nothing loaded for one request (or one subject) is ever seen by
 * another, and no consent read in one request answers the next.
 */
import type { Logger } from 'pino';
import type { Loaders } from '../datasources/loaders.js';
import type { Services } from '../server/wiring.js';

/** The authenticated caller, from a verified bearer token. */
export interface Principal {
  /** The customer id (JWT `sub`). */
  subject: string;
  scopes: ReadonlySet<string>;
}

export interface RequestContext {
  correlationId: string;
  /** null when the request carried no valid token; resolvers that need one throw UNAUTHENTICATED. */
  principal: Principal | null;
  logger: Logger;
  loaders: Loaders;
  services: Services;
}
