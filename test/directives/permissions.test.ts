import { buildSubgraphSchema } from '@apollo/subgraph';
import { defaultFieldResolver, graphql, isObjectType, type GraphQLSchema } from 'graphql';
import { deny } from 'graphql-shield';
import { beforeAll, describe, expect, it } from 'vitest';
import { buildRuleMap, fieldScopeChecks, guardSchema } from '../../directives/permissions.js';
import { collectFieldScopes } from '../../directives/scopes.js';
import { sdlPiiFields } from '../../server/sdl.js';
import { typeDefs } from '../../server/schema.js';

let schema: GraphQLSchema;
beforeAll(() => {
  schema = buildSubgraphSchema({ typeDefs: typeDefs() });
});

describe('permissions generated from the SDL', () => {
  it('puts a rule before every root field, so nothing unscoped is reachable by omission', () => {
    const map = buildRuleMap(schema);
    const missing: string[] = [];
    for (const root of ['Query', 'Mutation']) {
      const type = schema.getType(root);
      if (!isObjectType(type)) continue;
      for (const field of Object.keys(type.getFields()))
        if (!map[root]?.[field]) missing.push(`${root}.${field}`);
    }
    expect(missing).toEqual([]);
  });

  it('checks every field with a scope of its own (Account.balance, Account.transactions)', () => {
    const map = buildRuleMap(schema);
    const checks = fieldScopeChecks(schema);
    const own = collectFieldScopes(schema).filter((entry) => entry.own);
    expect(own.map(({ type, field }) => `${type}.${field}`)).toEqual(
      expect.arrayContaining(['Account.balance', 'Account.transactions', 'Transaction.account']),
    );
    for (const { type, field, requirements } of own) {
      const root = type === 'Query' || type === 'Mutation';
      if (root) expect(map[type]?.[field], `${type}.${field}`).toBeDefined();
      else expect(checks[type]?.[field], `${type}.${field}`).toEqual(requirements);
    }
    expect(checks.Account?.balance).toEqual([[['accounts:read']], [['balances:read']]]);
  });

  it("leaves the fields without a rule unwrapped: a checked account's name resolves synchronously", () => {
    const guarded = guardSchema(schema);
    const account = guarded.getType('Account');
    if (!isObjectType(account)) throw new Error('Account is not an object type');
    const name = account.getFields().name;
    expect(buildRuleMap(schema).Account?.name).toBeUndefined();
    expect(name?.resolve === undefined || name.resolve === defaultFieldResolver).toBe(true);
  });

  it('requires a scope on every root field except the federation entry points', () => {
    const unscoped = collectFieldScopes(schema)
      .filter(
        ({ type, requirements }) => (type === 'Query' || type === 'Mutation') && requirements.length === 0,
      )
      .map(({ type, field }) => `${type}.${field}`);
    expect(unscoped.sort()).toEqual(['Query._entities', 'Query._service']);
    const map = buildRuleMap(schema);
    expect(map.Query?._entities).not.toBe(deny);
  });

  it('combines a type scope with a field scope (Account.balance needs accounts:read and balances:read)', () => {
    const balance = collectFieldScopes(schema).find(
      ({ type, field }) => type === 'Account' && field === 'balance',
    );
    expect(balance?.requirements).toEqual([[['accounts:read']], [['balances:read']]]);
  });

  it('finds the @pii fields for log redaction', () => {
    expect(sdlPiiFields()).toEqual(
      expect.arrayContaining([
        'description',
        'maskedAccountNumber',
        'maskedIban',
        'maskedNumber',
        'name',
        'reference',
      ]),
    );
  });
});

describe('the shield at run time', () => {
  const account = (ownerId: string) => ({
    id: 'acc-1',
    ownerId,
    provider: 'openbanking',
    name: 'Current',
    type: 'CURRENT',
    currency: 'GBP',
    maskedNumber: '1234',
    freshness: { source: 'LIVE', asOf: new Date(0), provider: 'openbanking' },
  });
  const run = (source: string, scopes: string[] | null, owner = 'cust_alice') => {
    const base = buildSubgraphSchema({
      typeDefs: typeDefs(),
      resolvers: { Query: { account: () => account(owner) } } as never,
    });
    const guarded = guardSchema(base);
    const principal = scopes ? { subject: 'cust_alice', scopes: new Set(scopes) } : null;
    return graphql({ schema: guarded, source, contextValue: { principal } });
  };

  it('answers UNAUTHENTICATED without a principal', async () => {
    const result = await run('{ account(id: "x") { name } }', null);
    expect(result.errors?.[0]?.originalError?.constructor.name).toBe('UnauthenticatedError');
  });

  it('answers FORBIDDEN when a scope is missing, naming the scope', async () => {
    const result = await run('{ account(id: "x") { name } }', ['balances:read']);
    expect(result.errors?.[0]?.message).toMatch(/accounts:read/);
    expect(result.errors?.[0]?.originalError?.constructor.name).toBe('ForbiddenError');
  });

  it("turns another customer's object into NOT_FOUND on every field", async () => {
    const result = await run('{ account(id: "x") { name currency } }', ['accounts:read'], 'cust_bob');
    expect(result.data?.account).toBeNull();
    expect(result.errors?.[0]?.originalError?.constructor.name).toBe('NotFoundError');
  });

  it('refuses a field with a scope of its own at its path, before its resolver runs', async () => {
    let balanceReads = 0;
    const base = buildSubgraphSchema({
      typeDefs: typeDefs(),
      resolvers: {
        Query: { account: () => account('cust_alice') },
        Account: {
          balance: () => {
            balanceReads += 1;
            return null;
          },
        },
      } as never,
    });
    const guarded = guardSchema(base);
    const ask = (scopes: string[]) =>
      graphql({
        schema: guarded,
        source: '{ account(id: "x") { name balance { asOf } } }',
        contextValue: { principal: { subject: 'cust_alice', scopes: new Set(scopes) } },
      });

    const refused = await ask(['accounts:read']);
    expect(refused.data?.account).toEqual({ name: 'Current', balance: null });
    expect(refused.errors?.[0]?.path).toEqual(['account', 'balance']);
    expect(refused.errors?.[0]?.message).toMatch(/balances:read/);
    expect(refused.errors?.[0]?.originalError?.constructor.name).toBe('ForbiddenError');
    expect(balanceReads).toBe(0);

    const served = await ask(['accounts:read', 'balances:read']);
    expect(served.errors).toBeUndefined();
    expect(balanceReads).toBe(1);
  });

  it('serves the owner with the right scope', async () => {
    const result = await run('{ account(id: "x") { name currency } }', ['accounts:read']);
    expect(result.errors).toBeUndefined();
    expect(result.data?.account).toEqual({ name: 'Current', currency: 'GBP' });
  });
});
