import { afterAll, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { encodeId } from '../../domain/ids.js';
import type { FaultRule } from '../../sandboxes/kit/sandbox.js';
import { leaksIn, startProductionApp, type ProductionApp } from './security-support.js';

const DASHBOARD = `{ accounts { edges { node { id name balance { current { amount } }
  transactions(first: 5) { edges { node { id amount { amount } } } } } } } }`;

let prod: ProductionApp;
/** Every answer provoked in this file; all are scanned at the end as well as one by one. */
const answers: { what: string; body: unknown }[] = [];

async function ask(
  what: string,
  query: string,
  variables: Record<string, unknown> = {},
  subject = 'cust_alice',
) {
  const answer = await prod.app.graphql(query, variables, {
    token: null,
    headers: await prod.asRouter(subject),
  });
  answers.push({ what, body: answer.body });
  expect(answer.status, what).toBeLessThan(500);
  expect(leaksIn(answer.body, prod.secrets()), what).toEqual([]);
  return answer;
}

beforeAll(async () => {
  prod = await startProductionApp({
    env: { PARTNER_READ_TIMEOUT_MS: '400', PARTNER_CONNECT_TIMEOUT_MS: '400' },
  });
});
afterAll(() => prod?.close());

describe('the leak scanner itself', () => {
  it('finds each kind of leak it is meant to find', () => {
    const samples: [string, string][] = [
      ['stack frame', 'Error: x\n    at Object.query (/srv/store/consents.ts:42:7)'],
      ['IPv4 address', 'connect ECONNREFUSED 10.0.3.7:5432'],
      ['IPv6 address', 'connect to [fe80::1%lo0]:443 failed'],
      ['SQL', 'SELECT id FROM consents WHERE subject = $1'],
      ['database', 'duplicate key value violates unique constraint'],
      ['partner error body', '{"Errors":[{"ErrorCode":"UK.OBIE.Field.Invalid"}]}'],
      ['bearer token or JWT', 'Bearer eyJhbGciOiJFUzI1NiJ9.eyJzdWIiOiJ4In0.c2ln'],
    ];
    for (const [kind, message] of samples) expect(leaksIn({ errors: [{ message }] })).toContain(kind);
    expect(leaksIn({ errors: [{ message: 'The account was not found.' }] }, ['s3cr3t'])).toEqual([]);
    expect(leaksIn({ errors: [{ message: 'x s3cr3t' }] }, ['s3cr3t'])).toEqual(['secret']);
  });
});

describe('errors provoked from the partner', () => {
  const faults: [string, FaultRule][] = [
    ['500', { kind: 'status', status: 500 }],
    ['503', { kind: 'status', status: 503 }],
    ['400', { kind: 'status', status: 400 }],
    ['401', { kind: 'status', status: 401 }],
    ['403', { kind: 'status', status: 403 }],
    ['404', { kind: 'status', status: 404 }],
    ['rate limit', { kind: 'rate_limit', retryAfter: 1 }],
    ['latency past the timeout', { kind: 'latency', ms: 1_500 }],
    ['hang', { kind: 'hang' }],
    ['connection reset', { kind: 'reset' }],
    ['truncated body', { kind: 'truncate' }],
    ['malformed body', { kind: 'malformed' }],
    ['contract violation', { kind: 'contract' }],
  ];

  it.each(faults)('%s: a partner code and a safe message, nothing of the partner', async (what, rule) => {
    const bank = prod.partners.openbanking!.handle;
    bank.setFaults([{ match: '/open-banking/', ...rule }]);
    try {
      const { body } = await ask(`partner ${what}`, DASHBOARD);
      expect(body.errors?.length, what).toBeGreaterThan(0);
      for (const error of body.errors ?? []) {
        expect(String(error.extensions?.code)).toMatch(
          /^(PARTNER_|CONSENT_REQUIRED|NOT_FOUND|INTERNAL_SERVER_ERROR)/,
        );
      }
    } finally {
      bank.setFaults([]);
    }
  });
});

describe('errors provoked by bad input', () => {
  const account = encodeId('Account', 'openbanking', 'x'.repeat(300));
  const cases: [string, string, Record<string, unknown>][] = [
    ['a malformed id', 'query($id: ID!) { account(id: $id) { id } }', { id: "'; DROP TABLE consents; --" }],
    [
      'an id of another kind',
      'query($id: ID!) { account(id: $id) { id } }',
      { id: encodeId('Consent', 'openbanking', 'c') },
    ],
    ['an unknown partner id', 'query($id: ID!) { account(id: $id) { id } }', { id: account }],
    ['an over-long id', 'query($id: ID!) { account(id: $id) { id } }', { id: 'A'.repeat(5000) }],
    [
      'a forged cursor',
      'query($c: String) { transactions(after: $c) { edges { node { id } } } }',
      { c: 'Yzpub3BlCg' },
    ],
    [
      'a wrong variable type',
      'query($n: Int) { accounts(first: $n) { edges { node { id } } } }',
      { n: 'ten' },
    ],
    [
      'a bad DateTime',
      'query($f: TransactionFilter) { transactions(filter: $f) { edges { node { id } } } }',
      { f: { from: 'yesterday' } },
    ],
    [
      'a bad entity representation',
      'query($r: [_Any!]!) { _entities(representations: $r) { __typename } }',
      { r: [{ __typename: 'Nope', id: 1 }] },
    ],
    ['a syntax error', '{ accounts { edges { node { id } }', {}],
    ['an unknown field', '{ accounts { edges { node { secretKey } } } }', {}],
  ];

  it.each(cases)('%s: a client error, nothing of the server', async (what, query, variables) => {
    const { body } = await ask(what, query, variables);
    expect(body.errors?.length).toBeGreaterThan(0);
    expect(body.errors?.[0]?.extensions?.code).not.toBe('INTERNAL_SERVER_ERROR');
  });

  it('never echoes a rejected token', async () => {
    const token = await prod.token('cust_alice');
    for (const bad of [
      `${token}x`,
      token.split('.').slice(0, 2).join('.') + '.',
      'eyJhbGciOiJub25lIn0.eyJzdWIiOiJ4In0.',
    ]) {
      const answer = await prod.app.graphql(
        '{ __typename }',
        {},
        {
          token: bad,
          headers: { 'router-authorization': prod.routerSecret },
        },
      );
      expect(answer.status).toBe(401);
      expect(JSON.stringify(answer.body)).not.toContain(bad.slice(0, 20));
      expect(leaksIn(answer.body, prod.secrets())).toEqual([]);
    }
  });
});

describe('errors provoked from the database', () => {
  // The consent cache would answer a warm dashboard without the database: start each test cold.
  beforeEach(() => prod.app.server.services.consentCache.invalidateAll());

  it('masks a connection failure that names the host and the SQL', async () => {
    const consents = prod.app.server.services.consents;
    const original = consents.listActive.bind(consents);
    consents.listActive = async () => {
      throw new Error(
        'connect ECONNREFUSED 10.20.30.40:5432 while running SELECT * FROM consents WHERE subject = $1',
      );
    };
    try {
      const { body } = await ask('database unreachable', DASHBOARD);
      expect(body.errors?.[0]?.extensions?.code).toBe('INTERNAL_SERVER_ERROR');
      expect(body.errors?.[0]?.message).toBe('Internal server error.');
    } finally {
      consents.listActive = original;
    }
  });

  it('masks a missing table on every path that reaches it', async () => {
    await prod.app.server.services.db.query('DROP TABLE consents CASCADE');
    const consent = encodeId('Consent', 'openbanking', '00000000-0000-4000-8000-000000000000');
    for (const [what, query, variables] of [
      ['list', DASHBOARD, {}],
      ['consents', '{ consents { id status } }', {}],
      [
        'entities',
        'query($r: [_Any!]!) { _entities(representations: $r) { ... on Consent { id } } }',
        { r: [{ __typename: 'Consent', id: consent }] },
      ],
    ] as const) {
      const { body } = await ask(`database: ${what}`, query, variables);
      expect(body.errors?.[0]?.extensions?.code, what).toBe('INTERNAL_SERVER_ERROR');
    }
  });

  it('leaked nothing in any answer of this file', () => {
    expect(answers.length).toBeGreaterThan(25);
    const leaking = answers.filter(({ body }) => leaksIn(body, prod.secrets()).length > 0);
    expect(leaking.map(({ what }) => what)).toEqual([]);
  });
});
