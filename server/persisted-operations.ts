/**
 * Persisted operations at request time (`PERSISTED_OPERATIONS`, README "Persisted operations"):
 *
 * - `off`: nothing here runs; Apollo's automatic persisted queries (APQ) work as they always did.
 * - `allow`: a request naming a published operation by id (`extensions.persistedQuery.sha256Hash`, no
 *   `query`) runs that operation's body; full queries and APQ work as before.
 * - `require`: only published operations run. A full query runs when its SHA-256 is a published id and
 *   is otherwise refused with PERSISTED_QUERY_REQUIRED by the route's first preHandler, before anything
 *   parses it. An id that is not published is left to APQ, whose store in this mode only ever holds
 *   documents admitted here (a registration carries its document), so it answers
 *   PERSISTED_QUERY_NOT_FOUND.
 *
 * Exempt from `require`: the router's federation plumbing, i.e. a request carrying the router secret
 * whose every operation is a query selecting only `_entities` and `_service` (and `__typename`). The
 * router writes those from the supergraph, so no client's manifest can name them, and without them a
 * router can neither compose nor resolve entities. Without ROUTER_SECRET nothing is exempt: nobody can
 * prove to be the router. Root-field fetches the router plans are documents like any other.
 *
 * The manifest lives in the database (store/persisted-operations.ts), shared by every replica. A replica
 * reads all of it when Apollo starts and keeps what it read (operations never change); an id it does not
 * know is read from the database by the request that names it, so a publish reaches every running
 * replica with the first request for the new operation: no restart, no refresh interval to wait out.
 */
import type { ApolloServerPlugin } from '@apollo/server';
import type { FastifyReply, FastifyRequest } from 'fastify';
import { GraphQLError, Kind, parse, type DocumentNode, type OperationDefinitionNode } from 'graphql';
import { PersistedQueryRequiredError } from '../domain/errors.js';
import type { PersistedOperation } from '../store/persisted-operations.js';
import { routerSecretMatches } from './auth.js';
import type { Config } from './config.js';
import { isOperationId, operationId } from './operation-manifest.js';

export type PersistedOperationsMode = Config['persistedOperations'];

/**
 * What the gate did with a request, for metrics: `manifest` (an id ran its published body),
 * `unknown_id` (an id that is not published, left to APQ), `listed` (a full query that is published),
 * `router` (the router's plumbing, exempt), `refused` (PERSISTED_QUERY_REQUIRED).
 */
export type PersistedOutcome = 'manifest' | 'unknown_id' | 'listed' | 'router' | 'refused';

/** Where the published operations are read from (the repository). */
export interface OperationSource {
  get(id: string): Promise<PersistedOperation | null>;
  list(): Promise<PersistedOperation[]>;
}

/** One replica's view of the manifest: what it read, and the database for an id it has not seen. */
export class PublishedOperations {
  readonly #known = new Map<string, PersistedOperation>();

  constructor(private readonly source: OperationSource) {}

  /** Reads every published operation; returns how many this replica knows. */
  async load(): Promise<number> {
    for (const operation of await this.source.list()) this.#known.set(operation.id, operation);
    return this.#known.size;
  }

  /** The published operation with this id, or null; an id not seen yet is read from the database. */
  async get(id: string): Promise<PersistedOperation | null> {
    const known = this.#known.get(id);
    if (known) return known;
    if (!isOperationId(id)) return null;
    const found = await this.source.get(id);
    if (found) this.#known.set(id, found);
    return found;
  }
}

export interface PersistedOperationsOptions {
  mode: PersistedOperationsMode;
  /** When set, a request carrying it in `router-authorization` comes from the router. */
  routerSecret: string | null;
  /** The parser's token limit, for reading a router request's document. */
  maxTokens: number;
  /** Told what happened to every request the gate looked at. */
  observe?: (outcome: PersistedOutcome) => void;
}

/** The mode's decisions, shared by the transport guard and the Apollo plugin below. */
export class PersistedOperationsGate {
  readonly #observe: (outcome: PersistedOutcome) => void;

  constructor(
    readonly options: PersistedOperationsOptions,
    readonly operations: PublishedOperations,
  ) {
    this.#observe = options.observe ?? (() => undefined);
  }

  /** The published body for a request that names an id and sends no query, or null. */
  async bodyFor(id: string): Promise<string | null> {
    const operation = await this.operations.get(id);
    this.#observe(operation ? 'manifest' : 'unknown_id');
    return operation?.body ?? null;
  }

  /**
   * Under `require`, whether a full document may run: `listed` (published), `router` (the router's
   * plumbing) or `refused`. Apollo's half passes the SHA-256 and the parsed document it already has.
   */
  async decide(
    query: string,
    routerAuthorization: string | undefined,
    parsed: { id: string; document: DocumentNode } | null = null,
  ): Promise<'listed' | 'router' | 'refused'> {
    if (await this.operations.get(parsed?.id ?? operationId(query))) return 'listed';
    const { routerSecret, maxTokens } = this.options;
    return routerSecret !== null &&
      routerSecretMatches(routerSecret, routerAuthorization) &&
      isFederationPlumbing(parsed?.document ?? query, maxTokens)
      ? 'router'
      : 'refused';
  }

  observe(outcome: PersistedOutcome): void {
    this.#observe(outcome);
  }
}

/**
 * A fastify preHandler for the GraphQL route: under `require`, a full document that is not published
 * (and not the router's plumbing) is refused with a GraphQL-shaped 400 before Apollo parses it. Requests
 * without a document (an id alone) are the plugin's.
 */
export function persistedOperationsGuard(gate: PersistedOperationsGate) {
  return async (request: FastifyRequest, reply: FastifyReply) => {
    if (gate.options.mode !== 'require') return;
    const payload = request.method === 'GET' ? request.query : request.body;
    const query = (payload as { query?: unknown } | null)?.query;
    if (typeof query !== 'string') return;
    const router = request.headers['router-authorization'];
    const outcome = await gate.decide(query, Array.isArray(router) ? router[0] : router);
    gate.observe(outcome);
    if (outcome !== 'refused') return;
    const error = new PersistedQueryRequiredError();
    return reply
      .code(400)
      .type('application/json')
      .send({
        errors: [{ message: error.message, extensions: { code: error.code, correlationId: request.id } }],
      });
  };
}

/**
 * Apollo's half: reads the manifest when the server starts, and turns a published id into its body
 * before Apollo reads `request.query` (for GET and POST alike: Apollo has parsed both by then). An id
 * that is not published is left to APQ. Under `require` it decides again on the document Apollo
 * resolved, so what runs is what was checked even where the transport read the request differently
 * (a query string fastify and Apollo decode apart) or there was no transport (`executeOperation`).
 */
export function persistedOperationsPlugin(gate: PersistedOperationsGate): ApolloServerPlugin {
  if (gate.options.mode === 'off') return {};
  return {
    async serverWillStart() {
      await gate.operations.load();
    },
    async requestDidStart({ request }) {
      const id = requestedId(request.extensions);
      let published = false;
      if (request.query === undefined && id !== undefined) {
        const body = await gate.bodyFor(id);
        if (body !== null) request.query = body;
        published = body !== null;
      }
      if (gate.options.mode !== 'require' || published) return;
      return {
        async didResolveOperation({ source, queryHash, document }) {
          const routerAuthorization = request.http?.headers.get('router-authorization');
          const outcome = await gate.decide(source, routerAuthorization, { id: queryHash, document });
          if (outcome !== 'refused') return;
          gate.observe('refused');
          const error = new PersistedQueryRequiredError();
          // Thrown here, Apollo answers it like any refused operation (formatError, 400).
          throw new GraphQLError(error.message, {
            originalError: error,
            extensions: { code: error.code, http: { status: 400 } },
          });
        },
      };
    },
  };
}

function requestedId(extensions: Record<string, unknown> | undefined): string | undefined {
  const persisted = extensions?.persistedQuery as { sha256Hash?: unknown } | undefined;
  return typeof persisted?.sha256Hash === 'string' ? persisted.sha256Hash : undefined;
}

const PLUMBING = new Set(['_entities', '_service', '__typename']);

/** True when every operation of the document (text or parsed) is a query selecting only federation fields. */
export function isFederationPlumbing(source: string | DocumentNode, maxTokens: number): boolean {
  let document: DocumentNode;
  try {
    document = typeof source === 'string' ? parse(source, { maxTokens, noLocation: true }) : source;
  } catch {
    return false;
  }
  const definitions = document.definitions.filter(
    (definition): definition is OperationDefinitionNode => definition.kind === Kind.OPERATION_DEFINITION,
  );
  return (
    definitions.length > 0 &&
    definitions.every(
      (definition) =>
        definition.operation === 'query' &&
        definition.selectionSet.selections.every(
          (selection) => selection.kind === Kind.FIELD && PLUMBING.has(selection.name.value),
        ),
    )
  );
}
