/**
 * The attack corpus: hostile requests, each with the answer it must get. Every one must be refused
 * with a 4xx and its code before any resolver runs (so no partner is called), whatever the mode.
 */
import { encodeId } from '../../domain/ids.js';

export interface Attack {
  name: string;
  status: number;
  code: 'QUERY_TOO_COMPLEX' | 'BAD_USER_INPUT';
  method?: 'GET' | 'POST';
  /** Query string for GET. */
  search?: Record<string, string>;
  /** Headers besides authorization and router secret; content-type defaults to application/json. */
  headers?: Record<string, string>;
  body?: string;
}

const json = (payload: unknown) => JSON.stringify(payload);
const query = (source: string, variables?: Record<string, unknown>) => json({ query: source, variables });

/** `accounts { edges { node { transactions { edges { node { account { ... } } } } } } }`, n levels of it. */
function depthBomb(levels: number): string {
  const open = 'transactions { edges { node { account { '.repeat(levels);
  const close = ' } } } }'.repeat(levels);
  return `{ accounts { edges { node { ${open}id${close} } } } }`;
}

const key = (n: number) => `attack-key-${String(n).padStart(8, '0')}`;
const account = encodeId('Account', 'openbanking', 'no-such-account');

export const ATTACKS: readonly Attack[] = [
  { name: 'depth bomb', status: 400, code: 'QUERY_TOO_COMPLEX', body: query(depthBomb(4)) },
  {
    name: 'depth bomb through fragments',
    status: 400,
    code: 'QUERY_TOO_COMPLEX',
    body: query(
      `{ accounts { edges { node { ...A } } } }
       fragment A on Account { transactions { edges { node { ...T } } } }
       fragment T on Transaction { account { transactions { edges { node { account { ...B } } } } } }
       fragment B on Account { transactions { edges { node { account { id } } } } }`,
    ),
  },
  {
    name: '101 aliases of __typename',
    status: 400,
    code: 'QUERY_TOO_COMPLEX',
    body: query(`{ ${Array.from({ length: 101 }, (_, i) => `a${i}: __typename`).join(' ')} }`),
  },
  {
    name: '500 duplicate fields',
    status: 400,
    code: 'QUERY_TOO_COMPLEX',
    body: query(`{ consents { ${'id '.repeat(500)}} }`),
  },
  {
    name: 'directive flood',
    status: 400,
    code: 'QUERY_TOO_COMPLEX',
    body: query(`{ consents { id ${'@include(if: true) '.repeat(50)}} }`),
  },
  {
    name: 'directive flood spread over fields',
    status: 400,
    code: 'QUERY_TOO_COMPLEX',
    body: query(
      `{ ${Array.from({ length: 25 }, (_, i) => `t${i % 10}: __typename @skip(if: false)`).join(' ')} }`,
    ),
  },
  {
    // Tokens, not fields: one field and a 20,000-token default value.
    name: '20,000-token document',
    status: 400,
    code: 'QUERY_TOO_COMPLEX',
    body: query(
      `query Q($n: [Int] = [${Array.from({ length: 20_000 }, () => '1').join(',')}]) { __typename }`,
    ),
  },
  {
    name: '3 MiB body',
    status: 413,
    code: 'QUERY_TOO_COMPLEX',
    body: json({ query: '{ __typename }', variables: { pad: 'x'.repeat(3 * 1024 * 1024) } }),
  },
  {
    name: 'first: 1000000 as a literal',
    status: 400,
    code: 'BAD_USER_INPUT',
    body: query('{ accounts(first: 1000000) { edges { node { id } } } }'),
  },
  {
    name: 'first: 1000000 as a variable',
    status: 400,
    code: 'BAD_USER_INPUT',
    body: query('query($n: Int) { accounts(first: $n) { edges { node { id } } } }', { n: 1_000_000 }),
  },
  {
    name: "first: 1000000 as a variable's default",
    status: 400,
    code: 'BAD_USER_INPUT',
    body: query('query($n: Int = 1000000) { transactions(first: $n) { edges { node { id } } } }'),
  },
  {
    name: 'cost bomb with every first in range',
    status: 400,
    code: 'QUERY_TOO_COMPLEX',
    body: query(
      `query($n: Int) { accounts(first: 100) { edges { node { transactions(first: $n) { edges { node {
         account { transactions(first: $n) { edges { node { id } } } } } } } } } } }`,
      { n: 100 },
    ),
  },
  {
    name: '1,001 entity representations',
    status: 400,
    code: 'QUERY_TOO_COMPLEX',
    body: query('query($r: [_Any!]!) { _entities(representations: $r) { __typename } }', {
      r: Array.from({ length: 1001 }, () => ({ __typename: 'Account', id: account })),
    }),
  },
  {
    name: '2 x 600 entity representations under aliases',
    status: 400,
    code: 'QUERY_TOO_COMPLEX',
    body: query(
      'query($r: [_Any!]!) { a: _entities(representations: $r) { __typename } b: _entities(representations: $r) { __typename } }',
      { r: Array.from({ length: 600 }, () => ({ __typename: 'Account', id: account })) },
    ),
  },
  {
    name: 'two money-moving mutations in one operation',
    status: 400,
    code: 'BAD_USER_INPUT',
    body: query(
      `mutation { a: cancelPayment(id: "p1", idempotencyKey: "${key(1)}") { userErrors { code } }
                  b: cancelPayment(id: "p2", idempotencyKey: "${key(2)}") { userErrors { code } } }`,
    ),
  },
  {
    name: 'two money-moving mutations hidden in fragments',
    status: 400,
    code: 'BAD_USER_INPUT',
    body: query(
      `mutation { ...A ...B }
       fragment A on Mutation { cancelPayment(id: "p1", idempotencyKey: "${key(3)}") { userErrors { code } } }
       fragment B on Mutation { refundPayment(id: "p1", idempotencyKey: "${key(4)}") { userErrors { code } } }`,
    ),
  },
  {
    name: 'array batching',
    status: 400,
    code: 'BAD_USER_INPUT',
    body: json([{ query: '{ __typename }' }, { query: '{ consents { id } }' }]),
  },
  {
    name: 'GET mutation',
    status: 405,
    code: 'BAD_USER_INPUT',
    method: 'GET',
    headers: { 'apollo-require-preflight': 'true' },
    search: {
      query: `mutation { cancelPayment(id: "p1", idempotencyKey: "${key(5)}") { userErrors { code } } }`,
    },
  },
  {
    name: 'GET without a preflight header (CSRF)',
    status: 400,
    code: 'BAD_USER_INPUT',
    method: 'GET',
    search: { query: '{ consents { id } }' },
  },
  {
    name: 'form-encoded POST',
    status: 415,
    code: 'BAD_USER_INPUT',
    headers: { 'content-type': 'application/x-www-form-urlencoded' },
    body: `query=${encodeURIComponent('{ consents { id } }')}`,
  },
  {
    name: 'multipart POST',
    status: 415,
    code: 'BAD_USER_INPUT',
    headers: { 'content-type': 'multipart/form-data; boundary=x' },
    body: '--x\r\nContent-Disposition: form-data; name="query"\r\n\r\n{ consents { id } }\r\n--x--\r\n',
  },
  {
    name: 'text/plain POST (a CORS-simple request)',
    status: 400,
    code: 'BAD_USER_INPUT',
    headers: { 'content-type': 'text/plain' },
    body: query('{ consents { id } }'),
  },
  { name: 'malformed JSON', status: 400, code: 'BAD_USER_INPUT', body: '{"query": "{ consents { id } }"' },
];

/** Attacks that only production refuses (development keeps introspection for tooling). */
export const PRODUCTION_ATTACKS: readonly Attack[] = [
  {
    name: 'introspection of the schema',
    status: 400,
    code: 'BAD_USER_INPUT',
    body: query('{ __schema { types { name fields { name } } } }'),
  },
  {
    name: 'introspection of one type',
    status: 400,
    code: 'BAD_USER_INPUT',
    body: query('{ __type(name: "Account") { fields { name } } }'),
  },
  {
    name: 'field suggestions',
    status: 400,
    code: 'BAD_USER_INPUT',
    body: query('{ acounts { edges { node { idd } } } }'),
  },
];

export interface AttackAnswer {
  status: number;
  body: { data?: unknown; errors?: { message: string; extensions?: Record<string, unknown> }[] };
  text: string;
}

/** Sends an attack with the given identity headers (token, router secret). */
export async function send(
  url: string,
  identity: Record<string, string>,
  attack: Attack,
): Promise<AttackAnswer> {
  const target = new URL('/graphql', url);
  for (const [name, value] of Object.entries(attack.search ?? {})) target.searchParams.set(name, value);
  const method = attack.method ?? 'POST';
  const response = await fetch(target, {
    method,
    headers: {
      ...(method === 'POST' ? { 'content-type': 'application/json' } : {}),
      ...identity,
      ...attack.headers,
    },
    ...(method === 'POST' ? { body: attack.body ?? '' } : {}),
  });
  const text = await response.text();
  let body: AttackAnswer['body'];
  try {
    body = JSON.parse(text) as AttackAnswer['body'];
  } catch {
    body = {};
  }
  return { status: response.status, body, text };
}
