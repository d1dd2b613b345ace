/** The custom scalars: exact decimals, ISO 4217 codes and RFC 3339 UTC timestamps. */
import { GraphQLError, GraphQLScalarType, Kind, type ValueNode } from 'graphql';

const CURRENCY_SHAPE = /^[A-Z]{3}$/;
const DECIMAL = /^-?\d{1,30}(\.\d{1,18})?$/;
const RFC3339 = /^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}(\.\d{1,9})?(Z|[+-]\d{2}:\d{2})$/i;

function stringScalar(name: string, description: string, check: (value: string) => boolean, problem: string) {
  const parse = (value: unknown) => {
    if (typeof value !== 'string' || !check(value)) {
      throw new GraphQLError(`${name} ${problem}`, { extensions: { code: 'BAD_USER_INPUT' } });
    }
    return value;
  };
  return new GraphQLScalarType<string, string>({
    name,
    description,
    serialize: (value) => parse(value),
    parseValue: parse,
    parseLiteral: (node: ValueNode) => parse(node.kind === Kind.STRING ? node.value : undefined),
  });
}

export const Decimal = stringScalar(
  'Decimal',
  'An exact decimal number written as a string.',
  (value) => DECIMAL.test(value),
  'must be a decimal string such as "-12.30".',
);

/**
 * Shape only: three upper-case letters. Whether the code is a currency money can be held in is the
 * operation's question (UNSUPPORTED_CURRENCY as a user error, with its field), and answers the
 * partners send are checked by the mappers.
 */
export const CurrencyCode = stringScalar(
  'CurrencyCode',
  'An ISO 4217 alphabetic currency code.',
  (value) => CURRENCY_SHAPE.test(value),
  'must be three upper-case letters, an ISO 4217 currency code such as "GBP".',
);

function parseDateTime(value: unknown): Date {
  const date = typeof value === 'string' && RFC3339.test(value) ? new Date(value) : null;
  if (!date || Number.isNaN(date.getTime())) {
    throw new GraphQLError('DateTime must be an RFC 3339 timestamp such as "2025-03-01T09:30:00Z".', {
      extensions: { code: 'BAD_USER_INPUT' },
    });
  }
  return date;
}

export const DateTime = new GraphQLScalarType<Date, string>({
  name: 'DateTime',
  description: 'An RFC 3339 timestamp in UTC.',
  serialize: (value) => {
    const date = value instanceof Date ? value : parseDateTime(value);
    return date.toISOString();
  },
  parseValue: parseDateTime,
  parseLiteral: (node) => parseDateTime(node.kind === Kind.STRING ? node.value : undefined),
});
