/**
 * Lint for the SDL's own definitions (federation's additions are not ours to lint):
 *
 * - description: every type, field, argument, enum value, input field and custom directive is described;
 * - naming: types PascalCase, fields and arguments camelCase, enum values UPPER_CASE, input types end in
 *   `Input` (or `Filter` for a filter argument), mutations return a `...Payload` with `userErrors`, and every
 *   `...Payload` is a mutation's result;
 * - money: `Float` only on a field whose name says it is a ratio, a rate or milliseconds (`errorRate`,
 *   `latencyP50Ms`); a money-sounding field is `Money`, never `Int` or `Float`;
 * - lists: a list of objects that can grow is a connection (`edges` of a `...Connection`); any other list of
 *   objects declares its bound with `@listSize(assumedSize:)` (payload `userErrors` excepted); a field that
 *   returns a connection takes `first` and `after` and is sized with `@listSize(slicingArguments: ["first"])`.
 *
 * Authorisation coverage lives in lint-auth.ts.
 */
import {
  getNamedType,
  isEnumType,
  isInputObjectType,
  isListType,
  isNonNullType,
  isObjectType,
  isScalarType,
  Kind,
  type GraphQLField,
  type GraphQLInputType,
  type GraphQLOutputType,
} from 'graphql';
import { error, type Problem } from './problems.js';
import { appliedDirectives, directiveArguments, type BuiltSubgraph } from './sdl.js';

const PASCAL = /^[A-Z][A-Za-z0-9]*$/;
const CAMEL = /^[a-z][A-Za-z0-9]*$/;
const UPPER = /^[A-Z][A-Z0-9]*(?:_[A-Z0-9]+)*$/;
const FLOAT_NAME = /(?:Ratio|Rate|Ms)$|^(?:ratio|rate)$/;
/** camelCase words that mean money anywhere in a name, and one that means it only at the end (`totalCount` is a count). */
const MONEY_WORDS = new Set(['amount', 'balance', 'price', 'fee']);

function soundsLikeMoney(name: string): boolean {
  const words = name.split(/(?=[A-Z])/).map((word) => word.toLowerCase());
  return words.some((word) => MONEY_WORDS.has(word)) || words.at(-1) === 'total';
}

export function lintSchema(subgraph: BuiltSubgraph): Problem[] {
  return [...lintDefinitions(subgraph), ...lintDirectives(subgraph)];
}

function lintDefinitions(subgraph: BuiltSubgraph): Problem[] {
  const problems: Problem[] = [];
  const { schema } = subgraph;
  const report = (rule: string, coordinate: string, message: string): void => {
    problems.push(error('lint', rule, coordinate, message));
  };
  const described = (coordinate: string, description: string | null | undefined, what: string): void => {
    if (!description?.trim()) report('description', coordinate, `${what} has no description`);
  };
  const mutationResults = new Set(
    Object.values(schema.getMutationType()?.getFields() ?? {}).map((field) => getNamedType(field.type).name),
  );

  for (const name of subgraph.ownTypes) {
    const type = schema.getType(name);
    if (!type) continue;
    const isRoot = type === schema.getQueryType() || type === schema.getMutationType();
    if (!isRoot) described(name, type.description, 'type');
    if (!PASCAL.test(name)) report('naming', name, 'type names are PascalCase');

    if (isObjectType(type)) {
      if (name.endsWith('Payload') && !mutationResults.has(name)) {
        report('naming', name, 'a ...Payload type is only the result of a mutation');
      }
      if (name.endsWith('Payload') && !type.getFields()['userErrors']) {
        report('naming', name, 'a payload carries `userErrors: [UserError!]!`');
      }
      for (const field of Object.values(type.getFields())) {
        const coordinate = `${name}.${field.name}`;
        if (!subgraph.ownFields.has(coordinate)) continue;
        described(coordinate, field.description, 'field');
        if (!CAMEL.test(field.name)) report('naming', coordinate, 'field names are camelCase');
        lintNumeric(coordinate, field.name, field.type, report);
        lintList(name, field, report);
        for (const arg of field.args) {
          const argCoordinate = `${coordinate}(${arg.name}:)`;
          described(argCoordinate, arg.description, 'argument');
          if (!CAMEL.test(arg.name)) report('naming', argCoordinate, 'argument names are camelCase');
          lintNumeric(argCoordinate, arg.name, arg.type, report);
        }
        if (type === schema.getMutationType() && !getNamedType(field.type).name.endsWith('Payload')) {
          report('naming', coordinate, 'a mutation returns a ...Payload type');
        }
      }
    } else if (isInputObjectType(type)) {
      if (!/(?:Input|Filter)$/.test(name))
        report('naming', name, 'input type names end in Input (or Filter)');
      for (const field of Object.values(type.getFields())) {
        const coordinate = `${name}.${field.name}`;
        described(coordinate, field.description, 'input field');
        if (!CAMEL.test(field.name)) report('naming', coordinate, 'input field names are camelCase');
        lintNumeric(coordinate, field.name, field.type, report);
      }
    } else if (isEnumType(type)) {
      for (const value of type.getValues()) {
        const coordinate = `${name}.${value.name}`;
        described(coordinate, value.description, 'enum value');
        if (!UPPER.test(value.name)) report('naming', coordinate, 'enum values are UPPER_CASE');
      }
    }
  }
  return problems;
}

type Report = (rule: string, coordinate: string, message: string) => void;

function lintNumeric(
  coordinate: string,
  name: string,
  type: GraphQLOutputType | GraphQLInputType,
  report: Report,
): void {
  const named = getNamedType(type);
  if (!isScalarType(named)) return;
  if (named.name === 'Float' && !FLOAT_NAME.test(name)) {
    report(
      'money',
      coordinate,
      'Float is only for ratios, rates and milliseconds; money is Money, counts are Int',
    );
  } else if (soundsLikeMoney(name) && (named.name === 'Float' || named.name === 'Int')) {
    report('money', coordinate, `looks like money but is ${named.name}; use Money (or MoneyInput)`);
  }
}

function lintList(typeName: string, field: GraphQLField<unknown, unknown>, report: Report): void {
  const coordinate = `${typeName}.${field.name}`;
  const returned = getNamedType(field.type);
  if (returned.name.endsWith('Connection')) {
    const args = new Set(field.args.map((arg) => arg.name));
    if (!args.has('first') || !args.has('after')) {
      report('lists', coordinate, 'a connection field takes `first` and `after`');
    }
    const [listSize] = appliedDirectives(field, 'listSize');
    const slicing = listSize ? directiveArguments(listSize)['slicingArguments'] : undefined;
    if (!Array.isArray(slicing) || !slicing.includes('first')) {
      report(
        'lists',
        coordinate,
        'a connection field declares @listSize(slicingArguments: ["first"], sizedFields: ["edges"])',
      );
    }
    return;
  }
  const unwrapped = isNonNullType(field.type) ? field.type.ofType : field.type;
  if (!isListType(unwrapped) || !isObjectType(returned)) return;
  if (field.name === 'edges' && typeName.endsWith('Connection')) return;
  if (field.name === 'userErrors' && typeName.endsWith('Payload')) return;
  const [listSize] = appliedDirectives(field, 'listSize');
  if (typeof (listSize && directiveArguments(listSize)['assumedSize']) !== 'number') {
    report(
      'lists',
      coordinate,
      'a list of objects is a connection (first/after, edges, pageInfo), or declares its bound with @listSize(assumedSize:)',
    );
  }
}

/** Custom directive definitions (not federation's) and their arguments are described too. */
function lintDirectives(subgraph: BuiltSubgraph): Problem[] {
  const problems: Problem[] = [];
  for (const definition of subgraph.document.definitions) {
    if (definition.kind !== Kind.DIRECTIVE_DEFINITION) continue;
    const name = `@${definition.name.value}`;
    if (!definition.description?.value.trim())
      problems.push(error('lint', 'description', name, 'directive has no description'));
    for (const arg of definition.arguments ?? []) {
      if (!arg.description?.value.trim()) {
        problems.push(
          error('lint', 'description', `${name}(${arg.name.value}:)`, 'argument has no description'),
        );
      }
    }
  }
  return problems;
}
