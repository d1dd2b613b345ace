import { buildSubgraphSchema } from '@apollo/subgraph';
import {
  getNamedType,
  graphql,
  isAbstractType,
  isObjectType,
  isUnionType,
  type GraphQLSchema,
} from 'graphql';
import { beforeAll, describe, expect, it } from 'vitest';
import { guardSchema, objectEntryFields, OWNED_TYPES } from '../../directives/permissions.js';
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
  const guarded = guardSchema(base);
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

  it('check the owner on every field that can hand out an owned object, whatever type it is on', () => {
    const entries = new Set(objectEntryFields(schema).map(({ type, field }) => `${type}.${field}`));
    const handingOut: string[] = [];
    for (const type of Object.values(schema.getTypeMap())) {
      if (!isObjectType(type) || type.name.startsWith('__')) continue;
      for (const field of Object.values(type.getFields())) {
        const named = getNamedType(field.type);
        const members = isAbstractType(named)
          ? schema.getPossibleTypes(named).map((m) => m.name)
          : [named.name];
        if (members.some((member) => OWNED_TYPES.includes(member)))
          handingOut.push(`${type.name}.${field.name}`);
      }
    }
    expect(handingOut).toEqual(
      expect.arrayContaining([
        'Query.account',
        'Query._entities',
        'AccountEdge.node',
        'Payment.debtorAccount',
        'TransactionEdge.node',
        'Transaction.account',
      ]),
    );
    expect(handingOut.filter((coordinate) => !entries.has(coordinate))).toEqual([]);
  });

  it("answers NOT_FOUND at the nested path of another subject's object, and never resolves its fields", async () => {
    const read: string[] = [];
    const transaction = (id: string, owner: string) => ({ ...objectOf('Transaction', owner), id });
    const base = buildSubgraphSchema({
      typeDefs: typeDefs(),
      resolvers: {
        Query: {
          account: () => objectOf('Account', 'cust_alice'),
          payment: () => ({ ...objectOf('Payment', 'cust_alice'), status: 'SETTLED' }),
        },
        Account: {
          name: (parent: { ownerId: string }) => {
            read.push(parent.ownerId);
            return 'n';
          },
          transactions: () => ({
            edges: [
              { cursor: 'c1', node: transaction('t-own', 'cust_alice') },
              { cursor: 'c2', node: transaction('t-foreign', 'cust_bob') },
            ],
            pageInfo: { hasNextPage: false, hasPreviousPage: false },
          }),
        },
        Payment: { debtorAccount: () => objectOf('Account', 'cust_bob') },
      } as never,
    });
    const ask = (source: string) =>
      graphql({
        schema: guardSchema(base),
        source,
        contextValue: { principal: { subject: 'cust_alice', scopes: new Set(ALL_SCOPES) } },
      });
    const where = (result: Awaited<ReturnType<typeof ask>>) =>
      result.errors?.map((error) => [error.path?.join('.'), error.originalError?.constructor.name]);

    // A nullable field holding a foreign account: null there, with NOT_FOUND at its path; the rest served.
    const payment = await ask('{ payment(id: "p") { id status debtorAccount { name } } }');
    expect(payment.data?.payment).toEqual({ id: 'Payment-1', status: 'SETTLED', debtorAccount: null });
    expect(where(payment)).toEqual([['payment.debtorAccount', 'NotFoundError']]);

    // A page with a foreign transaction: NOT_FOUND at that node (non-null, so it propagates per the SDL).
    const page = await ask('{ account(id: "a") { transactions(first: 2) { edges { node { id } } } } }');
    expect(where(page)).toEqual([['account.transactions.edges.1.node', 'NotFoundError']]);
    expect(JSON.stringify(page.data)).not.toContain('t-foreign');
    expect(read).toEqual([]);
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
