/**
 * Query limits (DESIGN §9), all enforced before any resolver runs, so no partner is ever called for a
 * refused operation.
 *
 * 1. Before Apollo sees the request (a fastify preHandler): the document is parsed once with the
 *    parser's `maxTokens`, and its shape — depth, aliases (an alias of `__typename` counts like any
 *    other), directives and field selections — is counted. graphql's own validation rules are quadratic
 *    on hostile documents (about half a second for 2,400 duplicate selections on this schema), so the
 *    shape is refused before they run. The same check is also a validation rule, for other entry points.
 * 2. Once the operation is resolved (values of variables, and their declared defaults, known): the cost
 *    of the operation (so `first: $n` counts), `first` within 1..100, at most N `_entities`
 *    representations per request (each naming an entity type, with a string id), and at most one
 *    money-moving mutation per operation — aliases and fragments included.
 *
 * Every refusal is an HTTP 400 carrying a domain error: QUERY_TOO_COMPLEX for size and cost,
 * BAD_USER_INPUT for `first`, malformed representations and a second money-moving mutation.
 */
import type { ApolloServerPlugin } from '@apollo/server';
import type { FastifyReply, FastifyRequest } from 'fastify';
import { LRUCache } from 'lru-cache';
import {
  GraphQLError,
  isUnionType,
  Kind,
  parse,
  valueFromASTUntyped,
  visit,
  type ASTVisitor,
  type DocumentNode,
  type FieldNode,
  type FragmentDefinitionNode,
  type GraphQLSchema,
  type OperationDefinitionNode,
  type SelectionSetNode,
  type ValidationContext,
} from 'graphql';
import type { Config } from './config.js';
import { argumentValue, CostWalk, type Variables } from './cost.js';
import { InputError, QueryTooComplexError, type DomainError } from '../domain/errors.js';

export type Limits = Config['limits'];

/** Mutations that move money: at most one of them per operation. */
export const MONEY_MOVING_MUTATIONS = new Set([
  'initiatePayment',
  'confirmPayment',
  'cancelPayment',
  'refundPayment',
]);

/** graphql-js's message when `maxTokens` stops the parser (16.x spells it "more that"). */
const TOKEN_LIMIT = /contains more tha[nt] (\d+) tokens/;

/** True for the parser's error (or its formatted form) when a document exceeds `maxTokens`. */
export function isTokenLimitError(error: unknown): boolean {
  const message = (error as { message?: unknown } | null)?.message;
  return typeof message === 'string' && TOKEN_LIMIT.test(message);
}

export function tokenLimitError(limit: number | string): QueryTooComplexError {
  return new QueryTooComplexError(`The query has more than ${limit} tokens.`);
}

/** The first shape limit a document breaks, or null. Linear in the size of the document. */
export function shapeProblem(
  document: DocumentNode,
  limits: Pick<Limits, 'depth' | 'aliases' | 'directives' | 'fields'>,
): DomainError | null {
  let aliases = 0;
  let directives = 0;
  let fields = 0;
  visit(document, {
    Field(node) {
      fields += 1;
      if (node.alias) aliases += 1;
    },
    Directive() {
      directives += 1;
    },
  });
  if (aliases > limits.aliases)
    return new QueryTooComplexError(`The query uses more than ${limits.aliases} aliases.`);
  if (directives > limits.directives)
    return new QueryTooComplexError(`The query uses more than ${limits.directives} directives.`);
  if (fields > limits.fields)
    return new QueryTooComplexError(`The query selects more than ${limits.fields} fields.`);
  if (depthOf(document) > limits.depth)
    return new QueryTooComplexError(`The query is deeper than ${limits.depth} levels.`);
  return null;
}

/** The deepest field nesting of any operation; each fragment's depth is computed once. */
function depthOf(document: DocumentNode): number {
  const fragments = new Map<string, FragmentDefinitionNode>();
  for (const definition of document.definitions) {
    if (definition.kind === Kind.FRAGMENT_DEFINITION) fragments.set(definition.name.value, definition);
  }
  const memo = new Map<string, number>();
  const inProgress = new Set<string>();
  const depth = (selectionSet: SelectionSetNode): number => {
    let deepest = 0;
    for (const selection of selectionSet.selections) {
      if (selection.kind === Kind.FIELD) {
        deepest = Math.max(deepest, 1 + (selection.selectionSet ? depth(selection.selectionSet) : 0));
      } else if (selection.kind === Kind.INLINE_FRAGMENT) {
        deepest = Math.max(deepest, depth(selection.selectionSet));
      } else {
        const name = selection.name.value;
        const fragment = fragments.get(name);
        // A cycle is a validation error (NoFragmentCyclesRule); here it only must not loop.
        if (!fragment || inProgress.has(name)) continue;
        if (!memo.has(name)) {
          inProgress.add(name);
          memo.set(name, depth(fragment.selectionSet));
          inProgress.delete(name);
        }
        deepest = Math.max(deepest, memo.get(name)!);
      }
    }
    return deepest;
  };
  let deepest = 0;
  for (const definition of document.definitions) {
    if (definition.kind === Kind.OPERATION_DEFINITION)
      deepest = Math.max(deepest, depth(definition.selectionSet));
  }
  return deepest;
}

/**
 * The same shape limits as a validation rule, for documents that reach validation without passing
 * through the plugin's parse (none today; kept so the rule set alone is also safe).
 */
export function shapeLimitRule(limits: Pick<Limits, 'depth' | 'aliases' | 'directives' | 'fields'>) {
  return (context: ValidationContext): ASTVisitor => ({
    Document(node) {
      const problem = shapeProblem(node, limits);
      if (problem) context.reportError(new GraphQLError(problem.message, { originalError: problem }));
    },
  });
}

/**
 * A fastify preHandler for the GraphQL route: parses the request's document once with `maxTokens` and
 * refuses a document over a shape limit with a GraphQL-shaped 400, before Apollo parses or validates
 * it. Anything it cannot read (batches, persisted-query hashes, syntax errors) is left to Apollo.
 */
export function shapeGuard(limits: Limits, verdicts = new ShapeVerdicts(limits)) {
  return async (request: FastifyRequest, reply: FastifyReply) => {
    const source = documentOf(request.method === 'GET' ? request.query : request.body);
    if (source === null) return;
    const problem = verdicts.of(source);
    if (problem) return refuse(reply, problem, request.id);
  };
}

/** What keeping a text costs: two bytes per UTF-16 code unit, plus the entry. */
const keptBytes = (text: string): number => 2 * text.length + 64;

/**
 * The shape guard's verdict on a document's text: the error to refuse it with, or null to pass it on
 * (within the limits, or a syntax error that Apollo reports with its location). A verdict depends only
 * on the text and the limits, and clients send the same few documents again and again, so each text is
 * parsed once: verdicts are kept up to `maxBytes`, and a text that would take more than `entryBytes`
 * to keep is decided every time it comes.
 */
export class ShapeVerdicts {
  readonly #kept: LRUCache<string, { problem: DomainError | null }>;
  readonly #entryBytes: number;
  #parsed = 0;

  constructor(
    private readonly limits: Limits,
    options: { maxBytes?: number; entryBytes?: number } = {},
  ) {
    this.#entryBytes = options.entryBytes ?? 64 * 1024;
    this.#kept = new LRUCache({
      maxSize: options.maxBytes ?? 4 * 1024 * 1024,
      sizeCalculation: (_verdict, text) => keptBytes(text),
    });
  }

  /** How many texts were parsed so far (the rest were answered from the kept verdicts). */
  get parsed(): number {
    return this.#parsed;
  }

  of(source: string): DomainError | null {
    const kept = this.#kept.get(source);
    if (kept) return kept.problem;
    this.#parsed++;
    const problem = this.#decide(source);
    if (keptBytes(source) <= this.#entryBytes) this.#kept.set(source, { problem });
    return problem;
  }

  #decide(source: string): DomainError | null {
    let document: DocumentNode;
    try {
      document = parse(source, { maxTokens: this.limits.tokens, noLocation: true });
    } catch (error) {
      // A syntax error is Apollo's to report, with its location.
      return isTokenLimitError(error) ? tokenLimitError(this.limits.tokens) : null;
    }
    return shapeProblem(document, this.limits);
  }
}

function documentOf(payload: unknown): string | null {
  const query = (payload as { query?: unknown } | null)?.query;
  return typeof query === 'string' && !Array.isArray(payload) ? query : null;
}

function refuse(reply: FastifyReply, error: DomainError, correlationId: string) {
  return reply
    .code(400)
    .type('application/json')
    .send({ errors: [{ message: error.message, extensions: { code: error.code, correlationId } }] });
}

/** The limits that need the resolved operation and its variables, enforced before execution. */
export function operationLimitsPlugin(limits: Limits): ApolloServerPlugin {
  // An operation without variables costs the same every time, so one that passed is not walked again.
  // Apollo keeps the parsed document of a query it has seen, so a repeated query's operation is the
  // same node.
  const passed = new WeakSet<OperationDefinitionNode>();
  return {
    async requestDidStart() {
      return {
        async didResolveOperation({ schema, document, operation, request }) {
          if (!operation || passed.has(operation)) return;
          const variables = effectiveVariables(operation, request.variables ?? {});
          enforceOperationLimits({ schema, document, variables, limits }, operation);
          if (!operation.variableDefinitions?.length) passed.add(operation);
        },
      };
    },
  };
}

interface Walk {
  schema: GraphQLSchema;
  document: DocumentNode;
  variables: Variables;
  limits: Limits;
}

/** The request's variables over the operation's declared defaults (`$n: Int = 1000000` counts too). */
export function effectiveVariables(operation: OperationDefinitionNode, given: Variables): Variables {
  const defaults: Record<string, unknown> = {};
  for (const definition of operation.variableDefinitions ?? []) {
    if (definition.defaultValue) {
      defaults[definition.variable.name.value] = valueFromASTUntyped(definition.defaultValue);
    }
  }
  return { ...defaults, ...given };
}

export function enforceOperationLimits(walk: Walk, operation: OperationDefinitionNode): void {
  const root =
    operation.operation === 'mutation' ? walk.schema.getMutationType() : walk.schema.getQueryType();
  if (!root) return;
  const fields = rootFields(walk.document, operation.selectionSet);
  if (operation.operation === 'mutation') {
    const moving = fields.filter((field) => MONEY_MOVING_MUTATIONS.has(field.name.value));
    if (moving.length > 1) {
      throw asHttp400(new InputError('At most one money-moving mutation may run per operation.'));
    }
  }
  const representations = fields
    .filter((field) => field.name.value === '_entities')
    .flatMap((field) => {
      const value = argumentValue(field, 'representations', walk.variables);
      return Array.isArray(value) ? value : [];
    });
  if (representations.length > walk.limits.entityRepresentations) {
    throw asHttp400(
      new QueryTooComplexError(
        `At most ${walk.limits.entityRepresentations} entity representations per request.`,
      ),
    );
  }
  checkRepresentations(walk.schema, representations);
  let cost: number;
  try {
    cost = new CostWalk(walk.schema, walk.document, walk.variables).selectionCost(
      operation.selectionSet,
      root,
      null,
    );
  } catch (error) {
    throw asHttp400(error as DomainError);
  }
  if (cost > walk.limits.cost) {
    throw asHttp400(
      new QueryTooComplexError(`The query costs ${cost}, more than the limit of ${walk.limits.cost}.`),
    );
  }
}

/**
 * Every representation names an entity type of this subgraph and carries a string id, so a malformed
 * one is the caller's mistake (400), not a crash inside a reference resolver.
 */
function checkRepresentations(schema: GraphQLSchema, representations: readonly unknown[]): void {
  if (representations.length === 0) return;
  const entityTypes = entityTypesOf(schema);
  for (const representation of representations) {
    const { __typename, id } = (representation ?? {}) as { __typename?: unknown; id?: unknown };
    if (typeof __typename !== 'string' || !entityTypes.has(__typename) || typeof id !== 'string') {
      throw asHttp400(
        new InputError(
          'Each representation needs the __typename of an entity and a string id.',
          'representations',
        ),
      );
    }
  }
}

/** The names of a schema's entity types (`_Entity`'s members), collected once per schema. */
const ENTITY_TYPES = new WeakMap<GraphQLSchema, ReadonlySet<string>>();
function entityTypesOf(schema: GraphQLSchema): ReadonlySet<string> {
  let names = ENTITY_TYPES.get(schema);
  if (!names) {
    const entity = schema.getType('_Entity');
    names = new Set(isUnionType(entity) ? entity.getTypes().map((type) => type.name) : []);
    ENTITY_TYPES.set(schema, names);
  }
  return names;
}

/** The root fields of an operation, through fragments and inline fragments (aliases kept apart). */
function rootFields(document: DocumentNode, selectionSet: SelectionSetNode): FieldNode[] {
  const fragments = new Map<string, FragmentDefinitionNode>();
  for (const definition of document.definitions) {
    if (definition.kind === Kind.FRAGMENT_DEFINITION) fragments.set(definition.name.value, definition);
  }
  const found: FieldNode[] = [];
  const seen = new Set<string>();
  const collect = (set: SelectionSetNode) => {
    for (const selection of set.selections) {
      if (selection.kind === Kind.FIELD) found.push(selection);
      else if (selection.kind === Kind.INLINE_FRAGMENT) collect(selection.selectionSet);
      else if (!seen.has(selection.name.value)) {
        seen.add(selection.name.value);
        const fragment = fragments.get(selection.name.value);
        if (fragment) collect(fragment.selectionSet);
      }
    }
  };
  collect(selectionSet);
  return found;
}

/** A domain error raised before execution, answered with HTTP 400. */
function asHttp400(error: DomainError): GraphQLError {
  return new GraphQLError(error.message, { originalError: error, extensions: { http: { status: 400 } } });
}
