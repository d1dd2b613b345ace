import { buildSubgraphSchema } from '@apollo/subgraph';
import type { GraphQLError } from 'graphql';
import { parse, specifiedRules, validate, type GraphQLSchema, type OperationDefinitionNode } from 'graphql';
import { beforeAll, describe, expect, it } from 'vitest';
import { loadConfig } from '../../server/config.js';
import { CostWalk } from '../../server/cost.js';
import {
  effectiveVariables,
  enforceOperationLimits,
  operationLimitsPlugin,
  shapeLimitRule,
  shapeProblem,
  ShapeVerdicts,
} from '../../server/limits.js';
import { typeDefs } from '../../server/schema.js';

const limits = loadConfig({}).limits;
let schema: GraphQLSchema;
beforeAll(() => {
  schema = buildSubgraphSchema({ typeDefs: typeDefs() });
});

const shape = (source: string, overrides: Partial<typeof limits> = {}) =>
  shapeProblem(parse(source), { ...limits, ...overrides })?.message ?? null;

/** The error enforceOperationLimits raises for a document, or null. */
function operationProblem(source: string, variables: Record<string, unknown> = {}) {
  const document = parse(source);
  const operation = document.definitions.find(
    (definition) => definition.kind === 'OperationDefinition',
  ) as OperationDefinitionNode;
  try {
    enforceOperationLimits(
      { schema, document, variables: effectiveVariables(operation, variables), limits },
      operation,
    );
    return null;
  } catch (error) {
    const original = (error as GraphQLError).originalError as unknown as { code: string; message: string };
    expect((error as GraphQLError).extensions.http).toEqual({ status: 400 });
    return { code: original.code, message: original.message };
  }
}

function cost(source: string, variables: Record<string, unknown> = {}): number {
  const document = parse(source);
  const operation = document.definitions[0] as OperationDefinitionNode;
  return new CostWalk(schema, document, variables).selectionCost(
    operation.selectionSet,
    schema.getQueryType()!,
    null,
  );
}

const aliases = (n: number) => `{ ${Array.from({ length: n }, (_, i) => `a${i}: __typename`).join(' ')} }`;

describe('shape limits', () => {
  it('counts aliases of __typename like any other alias', () => {
    expect(shape(aliases(30))).toBeNull();
    expect(shape(aliases(31))).toBe('The query uses more than 30 aliases.');
  });

  it('counts directives and field selections, duplicates included', () => {
    expect(shape(`{ consents { id ${'@include(if: true) '.repeat(21)}} }`)).toMatch(
      /more than 20 directives/,
    );
    expect(shape(`{ consents { ${'id '.repeat(300)}} }`)).toMatch(/more than 300 fields/);
    expect(shape(`{ consents { ${'id '.repeat(298)}} }`)).toBeNull();
  });

  it('measures depth through fragments and inline fragments', () => {
    const nested = (levels: number) => `${'a { '.repeat(levels)}b${' }'.repeat(levels)}`;
    expect(shape(`{ ${nested(11)} }`)).toBeNull();
    expect(shape(`{ ${nested(12)} }`)).toMatch(/deeper than 12/);
    expect(shape(`{ ...F } fragment F on Query { ... on Query { ${nested(12)} } }`)).toMatch(
      /deeper than 12/,
    );
  });

  it('survives fragment cycles (validation reports them) and exponential fragment graphs', () => {
    expect(
      shape('{ ...A } fragment A on Query { a { ...B } } fragment B on Query { b { ...A } }'),
    ).toBeNull();
    const fragments = Array.from(
      { length: 40 },
      (_, i) => `fragment F${i} on Query { x { ...F${i + 1} } y { ...F${i + 1} } }`,
    );
    const started = performance.now();
    expect(shape(`{ ...F0 } ${fragments.join(' ')} fragment F40 on Query { z }`, { depth: 1000 })).toBeNull();
    expect(performance.now() - started).toBeLessThan(500);
  });

  it('is also a validation rule reporting QUERY_TOO_COMPLEX', () => {
    const errors = validate(schema, parse(aliases(40)), [...specifiedRules, shapeLimitRule(limits)]);
    expect(errors.map((error) => (error.originalError as { code?: string } | undefined)?.code)).toContain(
      'QUERY_TOO_COMPLEX',
    );
  });
});

describe('the operation limits plugin', () => {
  /** Runs the plugin's check for `source` as Apollo would; counts the walks (each asks for the root type). */
  async function checker() {
    const walks = { count: 0 };
    const counted = new Proxy(schema, {
      get(target, property, receiver) {
        if (property === 'getQueryType') walks.count++;
        const value: unknown = Reflect.get(target, property, receiver);
        return typeof value === 'function' ? value.bind(target) : value;
      },
    });
    const hooks = await operationLimitsPlugin(limits).requestDidStart!({} as never);
    const check = (document: ReturnType<typeof parse>, variables: Record<string, unknown> = {}) => {
      const operation = document.definitions[0] as OperationDefinitionNode;
      return hooks!.didResolveOperation!({
        schema: counted,
        document,
        operation,
        request: { variables },
      } as never);
    };
    return { walks, check };
  }

  it('walks an operation without variables once, and one with variables every time', async () => {
    const { walks, check } = await checker();
    const fixed = parse('{ accounts(first: 5) { edges { node { id } } } }');
    await check(fixed);
    await check(fixed);
    expect(walks.count).toBe(1);
    const variable = parse('query ($n: Int) { accounts(first: $n) { edges { node { id } } } }');
    await check(variable, { n: 5 });
    await expect(check(variable, { n: 1000 })).rejects.toThrow('between 1 and 100');
    expect(walks.count).toBe(3);
  });

  it('keeps refusing an operation without variables that broke a limit', async () => {
    const { walks, check } = await checker();
    const tooMany = parse('{ accounts(first: 1000) { edges { node { id } } } }');
    await expect(check(tooMany)).rejects.toThrow('between 1 and 100');
    await expect(check(tooMany)).rejects.toThrow('between 1 and 100');
    expect(walks.count).toBe(2);
  });
});

describe('the shape guard verdicts', () => {
  const dashboard = '{ accounts { edges { node { id name balance { current { amount } } } } } }';

  it('parses a document text once: the same text again gets the kept verdict', () => {
    const verdicts = new ShapeVerdicts(limits);
    expect(verdicts.of(dashboard)).toBeNull();
    expect(verdicts.of(dashboard)).toBeNull();
    expect(verdicts.parsed).toBe(1);
    const refused = verdicts.of(aliases(40));
    expect(refused?.code).toBe('QUERY_TOO_COMPLEX');
    expect(verdicts.of(aliases(40))).toBe(refused);
    expect(verdicts.parsed).toBe(2);
  });

  it('refuses a document over the token limit and passes a syntax error on to Apollo', () => {
    const verdicts = new ShapeVerdicts({ ...limits, tokens: 10 });
    expect(verdicts.of(dashboard)?.message).toBe('The query has more than 10 tokens.');
    expect(verdicts.of('{ accounts { ')).toBeNull();
  });

  it('keeps verdicts within its bytes, and decides a text over the entry size every time', () => {
    const verdicts = new ShapeVerdicts(limits, { maxBytes: 4096, entryBytes: 512 });
    // 303 characters, but 670 bytes kept (two per UTF-16 code unit, and the entry): over 512.
    const large = `{ accounts { edges { node { id ${'name '.repeat(53)}} } } }`;
    expect(large.length).toBe(303);
    verdicts.of(large);
    verdicts.of(large);
    expect(verdicts.parsed).toBe(2);
    // Forty small texts overflow 4 KiB: the first was let go and is parsed again.
    const texts = Array.from({ length: 40 }, (_, i) => `{ accounts { edges { node { id } } } } # ${i}`);
    for (const text of texts) verdicts.of(text);
    verdicts.of(texts[0]!);
    expect(verdicts.parsed).toBe(2 + 40 + 1);
  });
});

describe('cost with variable values', () => {
  const page = 'query($n: Int) { accounts(first: $n) { edges { node { id } } } }';

  it('multiplies a connection by its page size, literal or variable, or its default', () => {
    expect(cost(page, { n: 10 })).toBe(5 + 10 * (1 + 1));
    expect(cost(page, { n: 100 })).toBe(5 + 100 * (1 + 1));
    expect(cost('{ accounts { edges { node { id } } } }')).toBe(5 + 20 * 2);
    expect(cost('{ accounts(first: 7) { edges { node { id } } } }')).toBe(5 + 7 * 2);
  });

  it('multiplies nested connections', () => {
    const nested =
      'query($n: Int) { accounts(first: $n) { edges { node { transactions(first: $n) { edges { node { id } } } } } } }';
    expect(cost(nested, { n: 10 })).toBe(5 + 10 * (1 + 1 + 5 + 10 * (1 + 1)));
  });

  it('counts _entities once per representation', () => {
    const source =
      'query($r: [_Any!]!) { _entities(representations: $r) { ... on Account { balance { asOf } } } }';
    const reps = (n: number) => ({
      r: Array.from({ length: n }, () => ({ __typename: 'Account', id: 'x' })),
    });
    // The _entities field itself (weight 1) plus each representation's balance (weight 5).
    expect(cost(source, reps(10))).toBe(1 + 10 * 5);
    expect(cost(source, reps(100))).toBe(1 + 100 * 5);
  });

  it('walks a doubling fragment graph in linear time, with the exponential cost it really has', () => {
    const fragments = Array.from(
      { length: 40 },
      (_, i) => `fragment F${i} on Query { ...F${i + 1} ...F${i + 1} }`,
    );
    const started = performance.now();
    expect(
      cost(`{ ...F0 } ${fragments.join(' ')} fragment F40 on Query { consents { id } }`),
    ).toBeGreaterThan(1e12);
    expect(performance.now() - started).toBeLessThan(500);
  });
});

describe('operation limits', () => {
  it('refuses first outside 1..100 as a literal, a variable or a variable default', () => {
    for (const [source, variables] of [
      ['{ accounts(first: 0) { edges { node { id } } } }', {}],
      ['{ accounts(first: 101) { edges { node { id } } } }', {}],
      ['query($n: Int) { accounts(first: $n) { edges { node { id } } } }', { n: 1_000_000 }],
      ['query($n: Int = 1000000) { accounts(first: $n) { edges { node { id } } } }', {}],
      ['{ ...F } fragment F on Query { transactions(first: -1) { edges { node { id } } } }', {}],
    ] as const) {
      expect(operationProblem(source, variables)).toEqual({
        code: 'BAD_USER_INPUT',
        message: 'first must be between 1 and 100.',
      });
    }
    expect(
      operationProblem('query($n: Int = 100) { accounts(first: $n) { edges { node { id } } } }'),
    ).toBeNull();
  });

  it('refuses a cost over the limit, computed with variables', () => {
    const source = `query($n: Int) { accounts(first: $n) { edges { node { transactions(first: $n) { edges { node {
      account { transactions(first: $n) { edges { node { id } } } } } } } } } } }`;
    expect(operationProblem(source, { n: 5 })).toBeNull();
    expect(operationProblem(source, { n: 100 })?.code).toBe('QUERY_TOO_COMPLEX');
  });

  it('sums entity representations across aliases and fragments', () => {
    const reps = (n: number) => Array.from({ length: n }, () => ({ __typename: 'Account', id: 'x' }));
    const twice = `query($r: [_Any!]!) { a: _entities(representations: $r) { __typename } ...F }
      fragment F on Query { b: _entities(representations: $r) { __typename } }`;
    expect(operationProblem(twice, { r: reps(500) })).toBeNull();
    expect(operationProblem(twice, { r: reps(501) })?.code).toBe('QUERY_TOO_COMPLEX');
  });

  it('refuses malformed representations as bad input', () => {
    const source = 'query($r: [_Any!]!) { _entities(representations: $r) { __typename } }';
    for (const r of [
      [{ __typename: 'Nope', id: 'x' }],
      [{ __typename: 'Account' }],
      [{ __typename: 'Account', id: 7 }],
      ['x'],
    ]) {
      expect(operationProblem(source, { r })?.code).toBe('BAD_USER_INPUT');
    }
  });

  it('allows one money-moving mutation per operation, however it is spelled', () => {
    const cancel = (alias: string, key: string) =>
      `${alias}: cancelPayment(id: "p", idempotencyKey: "${key}") { userErrors { code } }`;
    expect(operationProblem(`mutation { ${cancel('a', 'k-0000000000000001')} }`)).toBeNull();
    expect(
      operationProblem(
        `mutation { ${cancel('a', 'k-0000000000000001')} ${cancel('b', 'k-0000000000000002')} }`,
      )?.code,
    ).toBe('BAD_USER_INPUT');
    expect(
      operationProblem(
        `mutation { ...A ... on Mutation { ${cancel('b', 'k-0000000000000002')} } } fragment A on Mutation { ${cancel('a', 'k-0000000000000001')} }`,
      )?.message,
    ).toBe('At most one money-moving mutation may run per operation.');
  });
});
