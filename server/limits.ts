/**
 * Query limits (DESIGN §9). Static shape limits are validation rules, so a hostile document is refused
 * before execution: depth, aliases (an alias of `__typename` counts like any other), directives and
 * field selections. Limits that depend on variable values — the cost of the operation (so `first: $n`
 * counts), `first` within 1..100, the number of `_entities` representations, one money-moving mutation
 * per operation — run in a plugin once the operation is resolved, still before any resolver.
 */
import type { ApolloServerPlugin } from '@apollo/server';
import {
  getNamedType,
  GraphQLError,
  isListType,
  isNonNullType,
  isObjectType,
  isAbstractType,
  Kind,
  type ASTVisitor,
  type ConstDirectiveNode,
  type DocumentNode,
  type FieldNode,
  type GraphQLField,
  type GraphQLOutputType,
  type GraphQLSchema,
  type OperationDefinitionNode,
  type SelectionSetNode,
  type ValidationContext,
  type ValueNode,
} from 'graphql';
import type { Config } from './config.js';
import { InputError, QueryTooComplexError, type DomainError } from './errors.js';

export type Limits = Config['limits'];

/** Mutations that move money: at most one of them per operation. */
export const MONEY_MOVING_MUTATIONS = new Set(['initiatePayment', 'cancelPayment', 'refundPayment']);
const MAX_FIRST = 100;
/** Items assumed in a list field that declares no @listSize. */
const DEFAULT_LIST_SIZE = 10;

function reject(context: ValidationContext, error: DomainError): void {
  // Apollo re-labels validation errors; the domain error rides along as originalError (see graphql-errors.ts).
  context.reportError(new GraphQLError(error.message, { originalError: error }));
}

/** Depth, aliases, directives and selections, counted over the whole document. */
export function shapeLimitRule(limits: Pick<Limits, 'depth' | 'aliases' | 'directives' | 'fields'>) {
  return (context: ValidationContext): ASTVisitor => {
    let aliases = 0;
    let directives = 0;
    let fields = 0;
    let reported = false;
    const once = (error: DomainError) => {
      if (!reported) reject(context, error);
      reported = true;
    };
    return {
      Field(node) {
        fields += 1;
        if (node.alias) aliases += 1;
        if (aliases > limits.aliases)
          once(new QueryTooComplexError(`The query uses more than ${limits.aliases} aliases.`));
        if (fields > limits.fields)
          once(new QueryTooComplexError(`The query selects more than ${limits.fields} fields.`));
      },
      Directive() {
        directives += 1;
        if (directives > limits.directives) {
          once(new QueryTooComplexError(`The query uses more than ${limits.directives} directives.`));
        }
      },
      OperationDefinition(node) {
        const depth = depthOf(node.selectionSet, context.getDocument(), 0, new Set());
        if (depth > limits.depth)
          once(new QueryTooComplexError(`The query is deeper than ${limits.depth} levels.`));
      },
    };
  };
}

function depthOf(
  selectionSet: SelectionSetNode,
  document: DocumentNode,
  depth: number,
  seen: Set<string>,
): number {
  let deepest = depth;
  for (const selection of selectionSet.selections) {
    if (selection.kind === Kind.FIELD) {
      deepest = Math.max(
        deepest,
        selection.selectionSet ? depthOf(selection.selectionSet, document, depth + 1, seen) : depth + 1,
      );
    } else if (selection.kind === Kind.INLINE_FRAGMENT) {
      deepest = Math.max(deepest, depthOf(selection.selectionSet, document, depth, seen));
    } else if (!seen.has(selection.name.value)) {
      const fragment = document.definitions.find(
        (definition) =>
          definition.kind === Kind.FRAGMENT_DEFINITION && definition.name.value === selection.name.value,
      );
      if (fragment?.kind === Kind.FRAGMENT_DEFINITION) {
        deepest = Math.max(
          deepest,
          depthOf(fragment.selectionSet, document, depth, new Set([...seen, selection.name.value])),
        );
      }
    }
  }
  return deepest;
}

type Variables = Readonly<Record<string, unknown>>;

function argumentValue(node: FieldNode, name: string, variables: Variables): unknown {
  const argument = node.arguments?.find((candidate) => candidate.name.value === name);
  if (!argument) return undefined;
  return literal(argument.value, variables);
}

function literal(value: ValueNode, variables: Variables): unknown {
  switch (value.kind) {
    case Kind.VARIABLE:
      return variables[value.name.value];
    case Kind.INT:
      return Number(value.value);
    case Kind.LIST:
      return value.values.map((item) => literal(item, variables));
    case Kind.NULL:
      return null;
    default:
      return 'value' in value ? value.value : undefined;
  }
}

function directive(field: GraphQLField<unknown, unknown>, name: string): ConstDirectiveNode | undefined {
  return field.astNode?.directives?.find((node) => node.name.value === name);
}

function intArgument(node: ConstDirectiveNode | undefined, name: string): number | undefined {
  const value = node?.arguments?.find((argument) => argument.name.value === name)?.value;
  return value?.kind === Kind.INT ? Number(value.value) : undefined;
}

interface Walk {
  schema: GraphQLSchema;
  document: DocumentNode;
  variables: Variables;
  limits: Limits;
}

/**
 * The cost of a selection: each field costs its `@cost(weight:)` (1 for objects, 0 for leaves), times
 * the number of times it runs — the product of the page sizes above it (`first` from literals or
 * variables, `@listSize(assumedSize:)` otherwise). Also checks `first` on the way.
 */
function costOf(
  walk: Walk,
  selectionSet: SelectionSetNode,
  type: GraphQLOutputType,
  multiplier: number,
  seen: Set<string>,
  sized: { fields: ReadonlySet<string>; size: number } | null = null,
): number {
  const named = getNamedType(type);
  let total = 0;
  for (const selection of selectionSet.selections) {
    if (selection.kind === Kind.INLINE_FRAGMENT) {
      const on = selection.typeCondition ? walk.schema.getType(selection.typeCondition.name.value) : named;
      total += costOf(
        walk,
        selection.selectionSet,
        (on ?? named) as GraphQLOutputType,
        multiplier,
        seen,
        sized,
      );
      continue;
    }
    if (selection.kind === Kind.FRAGMENT_SPREAD) {
      const fragment = walk.document.definitions.find(
        (definition) =>
          definition.kind === Kind.FRAGMENT_DEFINITION && definition.name.value === selection.name.value,
      );
      if (fragment?.kind !== Kind.FRAGMENT_DEFINITION || seen.has(fragment.name.value)) continue;
      const on = walk.schema.getType(fragment.typeCondition.name.value) ?? named;
      const inner = new Set([...seen, fragment.name.value]);
      total += costOf(walk, fragment.selectionSet, on as GraphQLOutputType, multiplier, inner, sized);
      continue;
    }
    if (!isObjectType(named) || selection.name.value.startsWith('__')) continue;
    const field = named.getFields()[selection.name.value];
    if (!field) continue;
    const first =
      argumentValue(selection, 'first', walk.variables) ??
      field.args.find((arg) => arg.name === 'first')?.defaultValue;
    if (
      first !== undefined &&
      first !== null &&
      (!Number.isInteger(first) || (first as number) < 1 || (first as number) > MAX_FIRST)
    ) {
      throw new InputError(`first must be between 1 and ${MAX_FIRST}.`, 'first');
    }
    // A connection's page size multiplies its sized fields (edges), not the connection object itself.
    const sizedByParent = sized?.fields.has(field.name) ?? false;
    const times = sized && sizedByParent ? multiplier * sized.size : multiplier;
    const leaf = !isObjectType(getNamedType(field.type)) && !isAbstractType(getNamedType(field.type));
    const weight = intArgument(directive(field, 'cost'), 'weight') ?? (leaf ? 0 : 1);
    total += weight * times;
    if (!selection.selectionSet) continue;
    const listSize = directive(field, 'listSize');
    const sizedFields = stringListArgument(listSize, 'sizedFields');
    const slice = typeof first === 'number' ? first : undefined;
    if (listSize && sizedFields.length > 0) {
      const size = slice ?? intArgument(listSize, 'assumedSize') ?? MAX_FIRST;
      total += costOf(walk, selection.selectionSet, field.type, times, seen, {
        fields: new Set(sizedFields),
        size,
      });
      continue;
    }
    const unwrapped = isNonNullType(field.type) ? field.type.ofType : field.type;
    const size =
      isListType(unwrapped) && !sizedByParent
        ? (slice ?? intArgument(listSize, 'assumedSize') ?? DEFAULT_LIST_SIZE)
        : 1;
    total += costOf(walk, selection.selectionSet, field.type, times * size, seen);
  }
  return total;
}

function stringListArgument(node: ConstDirectiveNode | undefined, name: string): string[] {
  const value = node?.arguments?.find((argument) => argument.name.value === name)?.value;
  if (value?.kind !== Kind.LIST) return [];
  return value.values.flatMap((item) => (item.kind === Kind.STRING ? [item.value] : []));
}

/** The limits that need variable values, enforced after the operation is resolved and before execution. */
export function operationLimitsPlugin(limits: Limits): ApolloServerPlugin {
  return {
    async requestDidStart() {
      return {
        async didResolveOperation({ schema, document, operation, request }) {
          const variables = request.variables ?? {};
          if (!operation) return;
          enforceOperationLimits({ schema, document, variables, limits }, operation);
        },
      };
    },
  };
}

export function enforceOperationLimits(walk: Walk, operation: OperationDefinitionNode): void {
  const root =
    operation.operation === 'mutation' ? walk.schema.getMutationType() : walk.schema.getQueryType();
  if (!root) return;
  if (operation.operation === 'mutation') {
    const moving = operation.selectionSet.selections.filter(
      (selection) => selection.kind === Kind.FIELD && MONEY_MOVING_MUTATIONS.has(selection.name.value),
    );
    if (moving.length > 1)
      throw asHttp400(new InputError('At most one money-moving mutation may run per operation.'));
  }
  for (const selection of operation.selectionSet.selections) {
    if (selection.kind !== Kind.FIELD || selection.name.value !== '_entities') continue;
    const representations = argumentValue(selection, 'representations', walk.variables);
    if (Array.isArray(representations) && representations.length > walk.limits.entityRepresentations) {
      throw asHttp400(
        new QueryTooComplexError(
          `At most ${walk.limits.entityRepresentations} entity representations per request.`,
        ),
      );
    }
  }
  let cost: number;
  try {
    cost = costOf(walk, operation.selectionSet, root, 1, new Set());
  } catch (error) {
    throw asHttp400(error as DomainError);
  }
  if (cost > walk.limits.cost) {
    throw asHttp400(
      new QueryTooComplexError(`The query costs ${cost}, more than the limit of ${walk.limits.cost}.`),
    );
  }
}

/** A domain error raised before execution, answered with HTTP 400. */
function asHttp400(error: DomainError): GraphQLError {
  return new GraphQLError(error.message, { originalError: error, extensions: { http: { status: 400 } } });
}
