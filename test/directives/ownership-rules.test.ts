import { buildSubgraphSchema } from '@apollo/subgraph';
import { graphql, isObjectType, isUnionType, type GraphQLSchema } from 'graphql';
import { applyMiddleware } from 'graphql-middleware';
import { beforeAll, describe, expect, it } from 'vitest';
import { buildRuleMap, buildShield, OWNED_TYPES } from '../../directives/permissions.js';
import { ALL_SCOPES } from '../../server/auth.js';
import { typeDefs } from '../../server/schema.js';

let schema: GraphQLSchema;
beforeAll(() => {
  schema = buildSubgraphSchema({ typeDefs: typeDefs() });
});

/** Entity types of this subgraph: the members of the `_Entity` union (every `@key` type). */
function entityTypes(): string[] {
  const union = schema.getType('_Entity');
  return isUnionType(union) ? union.getTypes().map((type) => type.name) : [];
}

/** A minimal object of each entity type owned by `owner`, as the canonical model shapes it. */
function objectOf(type: string, owner: string): Record<string, unknown> {
  const base = { __typename: type, id: `${type}-1` };
  if (type === 'Customer') return { ...base, id: owner };
  if (type === 'Consent')
    return { ...base, subject: owner, provider: 'openbanking', permissions: [], status: 'ACTIVE' };
  return {
    ...base,
    ownerId: owner,
    provider: 'openbanking',
    name: 'n',
    status: 'BOOKED',
    description: 'd',
    reference: 'r',
  };
}

/** Runs `_entities` for one representation through the shield, the reference resolved to `owner`'s object. */
async function entity(type: string, owner: string, scopes: readonly string[], resolved: { count: number }) {
  const resolvers = Object.fromEntries(
    entityTypes().map((name) => [
      name,
      {
        __resolveReference: () => {
          resolved.count += 1;
          return objectOf(name, owner);
        },
      },
    ]),
  );
  const base = buildSubgraphSchema({ typeDefs: typeDefs(), resolvers: resolvers as never });
  const guarded = applyMiddleware(base, buildShield(base));
  return graphql({
    schema: guarded,
    source: `query($r: [_Any!]!) { _entities(representations: $r) { ... on ${type} { id } } }`,
    variableValues: { r: [{ __typename: type, id: `${type}-1` }] },
    contextValue: { principal: { subject: 'cust_alice', scopes: new Set(scopes) } },
  });
}

describe('ownership rules', () => {
  it('cover every entity type of the subgraph', () => {
    expect(entityTypes().length).toBeGreaterThanOrEqual(5);
    expect(entityTypes().filter((type) => !OWNED_TYPES.includes(type))).toEqual([]);
  });

  it('guard every field of every owned type, and never use the contextual cache', () => {
    const map = buildRuleMap(schema);
    for (const type of OWNED_TYPES) {
      const objectType = schema.getType(type);
      if (!isObjectType(objectType)) throw new Error(`${type} is not an object type`);
      for (const field of Object.keys(objectType.getFields())) {
        const rule = map[type]?.[field] as { cache?: string; name?: string } | undefined;
        expect(rule?.name, `${type}.${field}`).toMatch(new RegExp(`owner\\(${type}\\)`));
        expect(rule?.cache, `${type}.${field}`).toBe('no_cache');
      }
    }
  });

  it.each(['Account', 'Transaction', 'Payment', 'Consent', 'Customer'])(
    "answers NOT_FOUND for another subject's %s reached through _entities",
    async (type) => {
      const resolved = { count: 0 };
      const foreign = await entity(type, 'cust_bob', ALL_SCOPES, resolved);
      expect(foreign.data?._entities).toEqual([null]);
      expect(foreign.errors?.[0]?.originalError?.constructor.name).toBe('NotFoundError');
      const own = await entity(type, 'cust_alice', ALL_SCOPES, resolved);
      expect(own.errors).toBeUndefined();
      expect(own.data?._entities).toEqual([{ id: type === 'Customer' ? 'cust_alice' : `${type}-1` }]);
    },
  );

  it('checks the entity type scope on _entities before any reference is resolved', async () => {
    for (const [type, scope] of [
      ['Account', 'accounts:read'],
      ['Transaction', 'transactions:read'],
      ['Payment', 'payments:read'],
      ['Consent', 'consents:read'],
    ] as const) {
      const resolved = { count: 0 };
      const result = await entity(
        type,
        'cust_alice',
        ALL_SCOPES.filter((held) => held !== scope),
        resolved,
      );
      expect(result.errors?.[0]?.originalError?.constructor.name, type).toBe('ForbiddenError');
      expect(result.errors?.[0]?.message).toContain(scope);
      expect(resolved.count, type).toBe(0);
    }
  });
});
