/**
 * The ownership matrix: for every principal x every object id x every path that reaches the object
 * (root field, nested field, `_entities`), another subject's object answers exactly like an object that
 * does not exist — same status, data, codes, messages and paths — and never shows the object.
 */
import { randomUUID } from 'node:crypto';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { decodeId, encodeId, type EntityKind } from '../../domain/ids.js';
import { CUSTOMER_SCOPES } from '../../server/auth.js';
import { startTestApp, type GraphQLAnswer, type TestApp } from '../helpers/app.js';

const OWNERS = ['cust_alice', 'cust_bob'] as const;
/** A principal with a valid token and no links at all. */
const PRINCIPALS = [...OWNERS, 'cust_erin'] as const;

interface Owned {
  kind: EntityKind | 'Customer';
  id: string;
  owner: string;
}

/** The read paths that reach an object of each kind. */
const ENTITIES = 'query($r: [_Any!]!) { _entities(representations: $r) {';
/** Relay's refetch by global id: one query for every kind. */
const NODE: [string, string, (id: string) => Record<string, unknown>] = [
  'Query.node',
  `query($id: ID!) { node(id: $id) { __typename id
    ... on Account { name balance { current { amount } } }
    ... on Transaction { description amount { amount } account { id } }
    ... on Payment { status reference }
    ... on Consent { consentStatus: status permissions } } }`,
  (id) => ({ id }),
];
const PATHS: Record<Owned['kind'], [string, string, (id: string) => Record<string, unknown>][]> = {
  Account: [
    [
      'Query.account',
      'query($id: ID!) { account(id: $id) { id name balance { current { amount } } } }',
      (id) => ({ id }),
    ],
    [
      'Query.transactions(accountId)',
      'query($id: ID) { transactions(accountId: $id) { edges { node { id } } } }',
      (id) => ({ id }),
    ],
    [
      '_entities Account, nested balance and transactions',
      `${ENTITIES} ... on Account { id name balance { current { amount } } transactions { edges { node { id } } } } } }`,
      (id) => ({ r: [{ __typename: 'Account', id }] }),
    ],
    NODE,
  ],
  Transaction: [
    [
      '_entities Transaction, nested account',
      `${ENTITIES} ... on Transaction { id description amount { amount } account { id name } } } }`,
      (id) => ({ r: [{ __typename: 'Transaction', id }] }),
    ],
    NODE,
  ],
  Consent: [
    [
      '_entities Consent',
      `${ENTITIES} ... on Consent { id status permissions } } }`,
      (id) => ({ r: [{ __typename: 'Consent', id }] }),
    ],
    NODE,
  ],
  Payment: [
    [
      'Query.payment',
      'query($id: ID!) { payment(id: $id) { id status amount { amount } } }',
      (id) => ({ id }),
    ],
    [
      '_entities Payment',
      `${ENTITIES} ... on Payment { id status reference } } }`,
      (id) => ({ r: [{ __typename: 'Payment', id }] }),
    ],
    NODE,
  ],
  Customer: [
    [
      'Customer.accounts and Customer.payments through _entities',
      `${ENTITIES} ... on Customer { id accounts { edges { node { id name } } } } } }`,
      (id) => ({ r: [{ __typename: 'Customer', id }] }),
    ],
    [
      'Customer.payments',
      `${ENTITIES} ... on Customer { payments { edges { node { id } } } } } }`,
      (id) => ({ r: [{ __typename: 'Customer', id }] }),
    ],
  ],
};

/** Writes that name an object by id: another subject's object must be untouched and answer like a missing one. */
const WRITES: Partial<Record<Owned['kind'], [string, string][]>> = {
  Consent: [
    [
      'revokeConsent',
      'mutation($id: ID!, $k: String!) { revokeConsent(id: $id, idempotencyKey: $k) { consent { id status } userErrors { code message } } }',
    ],
  ],
  Payment: [
    [
      'cancelPayment',
      'mutation($id: ID!, $k: String!) { cancelPayment(id: $id, idempotencyKey: $k) { payment { id status } userErrors { code message } } }',
    ],
    [
      'refundPayment',
      'mutation($id: ID!, $k: String!) { refundPayment(id: $id, idempotencyKey: $k) { payment { id status } userErrors { code message } } }',
    ],
    [
      'confirmPayment',
      'mutation($id: ID!, $k: String!) { confirmPayment(id: $id, idempotencyKey: $k) { payment { id status } userErrors { code message } } }',
    ],
  ],
};

let app: TestApp;
const objects: Owned[] = [];

async function ask(
  subject: string,
  query: string,
  variables: Record<string, unknown>,
): Promise<GraphQLAnswer> {
  return app.graphql(query, variables, { token: await app.token(subject, CUSTOMER_SCOPES) });
}

/** What is compared: everything but the correlation id, with the asked-for id replaced. */
function normalised(answer: GraphQLAnswer, id: string): unknown {
  const text = JSON.stringify({ status: answer.status, body: answer.body }).split(id).join('<id>');
  return JSON.parse(text.replace(/"correlationId":"[^"]*"/g, '"correlationId":"-"'));
}

/** An id of the same kind and provider that no one owns. */
function missing(object: Owned): string {
  if (object.kind === 'Customer') return 'cust_nobody';
  const decoded = decodeId(object.id, object.kind)!;
  const partnerId = object.kind === 'Consent' ? randomUUID() : `no-such-${object.kind.toLowerCase()}`;
  return encodeId(object.kind, decoded.provider, partnerId);
}

beforeAll(async () => {
  app = await startTestApp();
  for (const owner of OWNERS) {
    objects.push({ kind: 'Customer', id: owner, owner });
    const { body } = await ask(
      owner,
      '{ accounts(first: 100) { edges { node { id transactions(first: 1) { edges { node { id } } } } } } consents { id } }',
      {},
    );
    expect(body.errors).toBeUndefined();
    const data = body.data as {
      accounts: { edges: { node: { id: string; transactions: { edges: { node: { id: string } }[] } } }[] };
      consents: { id: string }[];
    };
    for (const { node } of data.accounts.edges) {
      objects.push({ kind: 'Account', id: node.id, owner });
      for (const edge of node.transactions.edges)
        objects.push({ kind: 'Transaction', id: edge.node.id, owner });
    }
    for (const consent of data.consents) objects.push({ kind: 'Consent', id: consent.id, owner });
    const payment = await paymentOf(owner, data.accounts.edges[0]!.node.id);
    if (payment) objects.push({ kind: 'Payment', id: payment, owner });
  }
});
afterAll(() => app?.close());

/** A payment of the owner, when payments are available in this build; null otherwise. */
async function paymentOf(owner: string, debtorAccountId: string): Promise<string | null> {
  const { body } = await ask(
    owner,
    `mutation($input: InitiatePaymentInput!, $k: String!) { initiatePayment(input: $input, idempotencyKey: $k) { payment { id } } }`,
    {
      input: {
        debtorAccountId,
        amount: { amount: '1.00', currency: 'GBP' },
        creditor: { name: 'Ownership Test', sortCode: '040004', accountNumber: '12345678' },
        reference: 'ownership matrix',
      },
      k: `ownership-${owner}-${randomUUID()}`,
    },
  );
  return (body.data?.initiatePayment as { payment?: { id: string } } | undefined)?.payment?.id ?? null;
}

describe('the ownership matrix', () => {
  it('has objects of every kind for every owner (payments once they are available)', () => {
    for (const owner of OWNERS) {
      const kinds = new Set(objects.filter((object) => object.owner === owner).map((object) => object.kind));
      for (const kind of ['Customer', 'Account', 'Transaction', 'Consent'] as const)
        expect(kinds).toContain(kind);
    }
  });

  it('reads: every other principal gets exactly what a missing object gets, on every path', async () => {
    let compared = 0;
    const missingAnswers = new Map<string, unknown>();
    for (const object of objects) {
      for (const [path, query, variables] of PATHS[object.kind]) {
        const own = await ask(object.owner, query, variables(object.id));
        expect(own.body.errors, `${object.owner} reads own ${object.kind} via ${path}`).toBeUndefined();
        for (const reader of PRINCIPALS.filter((principal) => principal !== object.owner)) {
          const other = missing(object);
          const key = `${reader}|${path}|${other}`;
          if (!missingAnswers.has(key))
            missingAnswers.set(key, normalised(await ask(reader, query, variables(other)), other));
          const answer = await ask(reader, query, variables(object.id));
          expect(
            normalised(answer, object.id),
            `${reader} reads ${object.owner}'s ${object.kind} via ${path}`,
          ).toEqual(missingAnswers.get(key));
          expect(JSON.stringify(answer.body.data ?? null), `${reader} via ${path}`).not.toContain(object.id);
          compared += 1;
        }
      }
    }
    expect(compared).toBeGreaterThan(60);
  });

  it("lists: no principal's list ever holds another's object", async () => {
    const lists = [
      '{ accounts(first: 100) { edges { node { id } } } }',
      '{ transactions(first: 100) { edges { node { id } } } }',
      '{ consents { id } }',
      '{ payments(first: 100) { edges { node { id } } } }',
    ];
    for (const reader of PRINCIPALS) {
      for (const list of lists) {
        const { body } = await ask(reader, list, {});
        const text = JSON.stringify(body.data ?? {});
        for (const object of objects.filter(
          (candidate) => candidate.owner !== reader && candidate.kind !== 'Customer',
        )) {
          expect(text, `${reader}: ${list} holds ${object.owner}'s ${object.kind}`).not.toContain(object.id);
        }
      }
    }
  });

  it('writes: another subject cannot act on an object, and the answer is that of a missing one', async () => {
    const movements = () =>
      Object.values(app.sandboxes).reduce(
        (total, sandbox) => total + sandbox.handle.ledger().movements.length,
        0,
      );
    const before = movements();
    for (const object of objects) {
      for (const [name, mutation] of WRITES[object.kind] ?? []) {
        for (const reader of PRINCIPALS.filter((principal) => principal !== object.owner)) {
          const other = missing(object);
          const key = `ownership-${randomUUID()}`;
          const expected = normalised(await ask(reader, mutation, { id: other, k: key }), other);
          const answer = await ask(reader, mutation, { id: object.id, k: `ownership-${randomUUID()}` });
          expect(normalised(answer, object.id), `${reader} ${name} ${object.owner}'s ${object.kind}`).toEqual(
            expected,
          );
        }
      }
    }
    expect(movements()).toBe(before);
    for (const owner of OWNERS) {
      const { body } = await ask(owner, '{ consents { id status } }', {});
      const statuses = (body.data?.consents as { id: string; status: string }[]).map(
        (consent) => consent.status,
      );
      expect(statuses.every((status) => status === 'ACTIVE')).toBe(true);
    }
  });
});
