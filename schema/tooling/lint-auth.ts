/**
 * Authorisation coverage: every field the graph serves is guarded by `@requiresScopes`, stated where a
 * caller can enter. A field is covered when
 *
 * 1. it carries `@requiresScopes` itself, or
 * 2. its type carries `@requiresScopes` (entity types do: that is what guards `_entities`), or
 * 3. it is a `@key` field of an entity: it only echoes the representation the caller already sent, or
 * 4. its type is a value type (not Query/Mutation, no `@key`: Money, PageInfo, edges, payloads): it is
 *    reachable only through fields of the first three kinds, so it is covered by the field that returns it.
 *
 * Hence the rule is checked where callers enter: every Query and Mutation field, and every field of an
 * entity type. Two more rules: a field of a root or entity type that returns another entity (directly, in
 * a list, or as a connection's `edges.node`) requires at least that entity's own scope, so the scope is
 * visible at the field (Account.transactions needs transactions:read); and every scope is one of DESIGN §5's.
 */
import {
  getNamedType,
  isObjectType,
  type GraphQLField,
  type GraphQLNamedType,
  type GraphQLObjectType,
} from 'graphql';
import { error, type Problem } from './problems.js';
import {
  combineScopes,
  describeScopes,
  isEntity,
  keyFields,
  scopesImply,
  scopesOf,
  type BuiltSubgraph,
  type Scopes,
} from './sdl.js';

/** The scopes DESIGN §5 defines. A scope outside this list is a typo or an undocumented permission. */
export const KNOWN_SCOPES: ReadonlySet<string> = new Set([
  'accounts:read',
  'balances:read',
  'transactions:read',
  'payments:read',
  'payments:write',
  'consents:read',
  'consents:write',
  'ops:read',
  'ops:write',
]);

export function lintAuthorisation(subgraph: BuiltSubgraph, knownScopes = KNOWN_SCOPES): Problem[] {
  const problems: Problem[] = [];
  const { schema } = subgraph;
  const roots = new Set([schema.getQueryType(), schema.getMutationType()].filter(Boolean));

  for (const name of subgraph.ownTypes) {
    const type = schema.getType(name);
    if (!isObjectType(type)) continue;
    const typeScopes = scopesOf(type);
    checkKnown(name, typeScopes, knownScopes, problems);
    const entity = isEntity(type);
    const keys = new Set(keyFields(type));

    for (const field of Object.values(type.getFields())) {
      const coordinate = `${name}.${field.name}`;
      if (!subgraph.ownFields.has(coordinate)) continue;
      const fieldScopes = scopesOf(field);
      checkKnown(coordinate, fieldScopes, knownScopes, problems);
      if (!roots.has(type) && !entity) continue;

      if (!typeScopes && !fieldScopes && !keys.has(field.name)) {
        const where = roots.has(type) ? 'a root field' : `a field of the entity ${name}`;
        problems.push(
          error(
            'lint',
            'auth-coverage',
            coordinate,
            `${where} needs @requiresScopes (on the field, or on the type for every field of an entity)`,
          ),
        );
        continue;
      }
      const target = entityReturnedBy(field);
      if (!target || target === type) continue;
      const required = scopesOf(target);
      const granted = combineScopes(typeScopes, fieldScopes);
      // Requiring the target's scope at the field, not only on the target type, keeps the rule visible
      // where the data crosses from one kind to another and lets the shield refuse before resolving.
      if (required && !scopesImply(granted, required)) {
        problems.push(
          error(
            'lint',
            'auth-crossing',
            coordinate,
            `returns ${target.name}, which requires ${describeScopes(required)}; the field requires ${describeScopes(granted)}`,
          ),
        );
      }
    }
  }
  return problems;
}

/** The entity a field leads to: its own type, or `edges.node` of a connection. */
function entityReturnedBy(field: GraphQLField<unknown, unknown>): GraphQLObjectType | null {
  const returned: GraphQLNamedType = getNamedType(field.type);
  if (!isObjectType(returned)) return null;
  if (isEntity(returned)) return returned;
  const edges = returned.name.endsWith('Connection') ? returned.getFields()['edges'] : undefined;
  const edge = edges ? getNamedType(edges.type) : undefined;
  const node = isObjectType(edge) ? edge.getFields()['node'] : undefined;
  const target = node ? getNamedType(node.type) : undefined;
  return isObjectType(target) && isEntity(target) ? target : null;
}

function checkKnown(
  coordinate: string,
  scopes: Scopes | null,
  known: ReadonlySet<string>,
  problems: Problem[],
): void {
  for (const scope of new Set(scopes?.flat() ?? [])) {
    if (!known.has(scope)) {
      problems.push(
        error('lint', 'auth-scope', coordinate, `unknown scope "${scope}" (known: ${[...known].join(', ')})`),
      );
    }
  }
}
