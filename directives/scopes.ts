/**
 * Reads `@requiresScopes` from the SDL, so the schema is the one source of truth for authorisation.
 * A requirement is a list of alternatives, each a list of scopes that must all be held (the
 * federation directive's `[[Scope]]` semantics: OR of ANDs). A field needs both its own requirement
 * and its parent type's.
 */
import {
  isObjectType,
  Kind,
  type ConstDirectiveNode,
  type GraphQLField,
  type GraphQLNamedType,
  type GraphQLSchema,
} from 'graphql';

export type ScopeRequirement = readonly (readonly string[])[];

const FEDERATION_INTERNAL_TYPES = new Set(['_Service', '_Any', '_Entity', 'FieldSet', 'link__Import']);

function scopesFrom(directives: readonly ConstDirectiveNode[] | undefined): ScopeRequirement | null {
  const directive = directives?.find((node) => node.name.value === 'requiresScopes');
  const argument = directive?.arguments?.find((node) => node.name.value === 'scopes');
  if (!argument) return null;
  if (argument.value.kind !== Kind.LIST) throw new Error('@requiresScopes(scopes:) must be a list of lists');
  return argument.value.values.map((alternative) => {
    if (alternative.kind !== Kind.LIST) throw new Error('@requiresScopes(scopes:) must be a list of lists');
    return alternative.values.map((scope) => {
      if (scope.kind !== Kind.STRING) throw new Error('@requiresScopes scopes must be strings');
      return scope.value;
    });
  });
}

function directivesOf(node: GraphQLNamedType | GraphQLField<unknown, unknown>): ConstDirectiveNode[] {
  const own = node.astNode?.directives ?? [];
  const extensions =
    'extensionASTNodes' in node ? node.extensionASTNodes.flatMap((ext) => ext.directives ?? []) : [];
  return [...own, ...extensions];
}

/** `@requiresScopes` on a type (or its extensions), or null. */
export function typeScopes(type: GraphQLNamedType): ScopeRequirement | null {
  return scopesFrom(directivesOf(type));
}

/** `@requiresScopes` on a field, or null. */
export function fieldScopes(field: GraphQLField<unknown, unknown>): ScopeRequirement | null {
  return scopesFrom(directivesOf(field));
}

export interface FieldScopes {
  type: string;
  field: string;
  /** Requirements that all must hold: the type's, then the field's. Empty = no scope needed. */
  requirements: ScopeRequirement[];
  /** True when the field carries a `@requiresScopes` of its own (beyond its type's). */
  own: boolean;
}

/** Every field of every object type of the schema, with the scope requirements that guard it. */
export function collectFieldScopes(schema: GraphQLSchema): FieldScopes[] {
  const result: FieldScopes[] = [];
  for (const type of Object.values(schema.getTypeMap())) {
    if (!isObjectType(type) || type.name.startsWith('__') || FEDERATION_INTERNAL_TYPES.has(type.name))
      continue;
    const onType = typeScopes(type);
    for (const field of Object.values(type.getFields())) {
      const onField = fieldScopes(field);
      result.push({
        type: type.name,
        field: field.name,
        requirements: [onType, onField].filter(
          (requirement): requirement is ScopeRequirement => requirement !== null,
        ),
        own: onField !== null,
      });
    }
  }
  return result;
}

/** True when the held scopes satisfy a requirement (any alternative fully held). */
export function satisfies(held: ReadonlySet<string>, requirement: ScopeRequirement): boolean {
  return requirement.some((alternative) => alternative.every((scope) => held.has(scope)));
}
