/**
 * The cost of an operation, computed with its variable values (so `first: $n` counts), from the SDL's
 * `@cost(weight:)` and `@listSize` (the IBM/Apollo demand-control directives). `first` is checked to be
 * within 1..100 on the way.
 *
 * The walk is linear in the size of the document: cost is linear in the multiplier above a selection,
 * so each fragment's cost is computed once (per slicing context) and multiplied wherever it is spread.
 * Without that, `fragment A { ...B ...B }  fragment B { ...C ...C }` makes a naive walk exponential.
 */
import {
  getNamedType,
  isAbstractType,
  isInterfaceType,
  isListType,
  isNonNullType,
  isObjectType,
  Kind,
  type ConstDirectiveNode,
  type DocumentNode,
  type FieldNode,
  type FragmentDefinitionNode,
  type GraphQLField,
  type GraphQLNamedType,
  type GraphQLSchema,
  type SelectionSetNode,
  type ValueNode,
} from 'graphql';
import { InputError } from '../domain/errors.js';

/** `first` is 1..100 everywhere (DESIGN §5). */
export const MAX_FIRST = 100;
/** Items assumed in a list field that declares no @listSize and has no slicing argument. */
const DEFAULT_LIST_SIZE = 10;

export type Variables = Readonly<Record<string, unknown>>;

/** The value of an argument, with variables substituted; undefined when the argument is absent. */
export function argumentValue(node: FieldNode, name: string, variables: Variables): unknown {
  const argument = node.arguments?.find((candidate) => candidate.name.value === name);
  return argument ? valueOf(argument.value, variables) : undefined;
}

function valueOf(value: ValueNode, variables: Variables): unknown {
  switch (value.kind) {
    case Kind.VARIABLE:
      return variables[value.name.value];
    case Kind.INT:
    case Kind.FLOAT:
      return Number(value.value);
    case Kind.LIST:
      return value.values.map((item) => valueOf(item, variables));
    case Kind.OBJECT:
      return Object.fromEntries(
        value.fields.map((field) => [field.name.value, valueOf(field.value, variables)]),
      );
    case Kind.NULL:
      return null;
    default:
      return value.value;
  }
}

function directive(field: GraphQLField<unknown, unknown>, name: string): ConstDirectiveNode | undefined {
  return field.astNode?.directives?.find((node) => node.name.value === name);
}

function intArgument(node: ConstDirectiveNode | undefined, name: string): number | undefined {
  const value = node?.arguments?.find((argument) => argument.name.value === name)?.value;
  return value?.kind === Kind.INT ? Number(value.value) : undefined;
}

function stringListArgument(node: ConstDirectiveNode | undefined, name: string): string[] {
  const value = node?.arguments?.find((argument) => argument.name.value === name)?.value;
  if (value?.kind !== Kind.LIST) return [];
  return value.values.flatMap((item) => (item.kind === Kind.STRING ? [item.value] : []));
}

/** A connection's page size applies to its sized fields (`edges`), not to the connection itself. */
interface Slicing {
  fields: ReadonlySet<string>;
  size: number;
}

export function checkFirst(first: unknown): void {
  if (first === undefined || first === null) return;
  if (!Number.isInteger(first) || (first as number) < 1 || (first as number) > MAX_FIRST) {
    throw new InputError(`first must be between 1 and ${MAX_FIRST}.`, 'first');
  }
}

/** Computes the cost of one operation's selection set; throws InputError for `first` out of range. */
export class CostWalk {
  readonly #fragments = new Map<string, FragmentDefinitionNode>();
  readonly #memo = new Map<string, number>();
  readonly #inProgress = new Set<string>();

  constructor(
    private readonly schema: GraphQLSchema,
    document: DocumentNode,
    private readonly variables: Variables,
  ) {
    for (const definition of document.definitions) {
      if (definition.kind === Kind.FRAGMENT_DEFINITION)
        this.#fragments.set(definition.name.value, definition);
    }
  }

  /** The cost of a selection set on `type`, run once (the caller multiplies). */
  selectionCost(selectionSet: SelectionSetNode, type: GraphQLNamedType, slicing: Slicing | null): number {
    let total = 0;
    for (const selection of selectionSet.selections) {
      if (selection.kind === Kind.INLINE_FRAGMENT) {
        const on = selection.typeCondition ? this.schema.getType(selection.typeCondition.name.value) : type;
        total += this.selectionCost(selection.selectionSet, on ?? type, slicing);
      } else if (selection.kind === Kind.FRAGMENT_SPREAD) {
        total += this.#fragmentCost(selection.name.value, type, slicing);
      } else {
        total += this.#fieldCost(selection, type, slicing);
      }
    }
    return total;
  }

  #fragmentCost(name: string, type: GraphQLNamedType, slicing: Slicing | null): number {
    const fragment = this.#fragments.get(name);
    // A cycle or an unknown fragment is a validation error, reported by graphql's own rules.
    if (!fragment || this.#inProgress.has(name)) return 0;
    const key = `${name}|${slicing ? `${[...slicing.fields].join(',')}x${slicing.size}` : ''}`;
    const known = this.#memo.get(key);
    if (known !== undefined) return known;
    this.#inProgress.add(name);
    const on = this.schema.getType(fragment.typeCondition.name.value) ?? type;
    const cost = this.selectionCost(fragment.selectionSet, on, slicing);
    this.#inProgress.delete(name);
    this.#memo.set(key, cost);
    return cost;
  }

  #fieldCost(node: FieldNode, parent: GraphQLNamedType, slicing: Slicing | null): number {
    if (node.name.value.startsWith('__')) return 0;
    if (!isObjectType(parent) && !isInterfaceType(parent)) return 0;
    const field = parent.getFields()[node.name.value];
    if (!field) return 0;
    const first =
      argumentValue(node, 'first', this.variables) ??
      field.args.find((arg) => arg.name === 'first')?.defaultValue;
    checkFirst(first);
    const named = getNamedType(field.type);
    const leaf = !isObjectType(named) && !isAbstractType(named);
    const own = intArgument(directive(field, 'cost'), 'weight') ?? (leaf ? 0 : 1);
    const sizedByParent = slicing?.fields.has(field.name) ?? false;
    const times = sizedByParent && slicing ? slicing.size : 1;
    if (!node.selectionSet) return times * own;

    const slice = typeof first === 'number' ? first : undefined;
    const listSize = directive(field, 'listSize');
    const sizedFields = stringListArgument(listSize, 'sizedFields');
    if (listSize && sizedFields.length > 0) {
      const size = slice ?? intArgument(listSize, 'assumedSize') ?? MAX_FIRST;
      const inner = this.selectionCost(node.selectionSet, named, { fields: new Set(sizedFields), size });
      return times * (own + inner);
    }
    const unwrapped = isNonNullType(field.type) ? field.type.ofType : field.type;
    const size = isListType(unwrapped) && !sizedByParent ? this.#listSize(node, slice, listSize) : 1;
    return times * (own + size * this.selectionCost(node.selectionSet, named, null));
  }

  /** `_entities` runs once per representation; other lists use `first` or their assumed size. */
  #listSize(node: FieldNode, slice: number | undefined, listSize: ConstDirectiveNode | undefined): number {
    if (node.name.value === '_entities') {
      const representations = argumentValue(node, 'representations', this.variables);
      if (Array.isArray(representations)) return representations.length;
    }
    return slice ?? intArgument(listSize, 'assumedSize') ?? DEFAULT_LIST_SIZE;
  }
}
