/**
 * The graph as a normalized-cache client sees it: Apollo Client 4 with `InMemoryCache`, Relay-style
 * pagination and `Node` as a possible type, over `tributary start` run as a user runs it (its own data
 * directory, its sandboxes, tokens from `tributary token`). What the cache holds after each step is what a
 * web or mobile app would render: per-field errors leave the rest of the dashboard, a replayed payment
 * never rewinds a settled one, 3-D Secure finishes through `confirmPayment`, and `node(id)` refetches
 * one's own objects and nobody else's.
 */
import { randomUUID } from 'node:crypto';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import {
  ApolloClient,
  CombinedGraphQLErrors,
  HttpLink,
  InMemoryCache,
  gql,
  type FieldMergeFunction,
  type FieldPolicy,
  type TypedDocumentNode,
} from '@apollo/client';
import { relayStylePagination } from '@apollo/client/utilities';
import type { GraphQLFormattedError } from 'graphql';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { decodeId } from '../../domain/ids.js';
import { CUSTOMER_SCOPES } from '../../server/auth.js';
import { cliEnv, runCli, startTributary, stopAll, type Started } from '../helpers/cli.js';

interface Client {
  apollo: ApolloClient;
  /** The `extensions` of every response, newest last (the idempotency replay marker lives there). */
  extensions: Record<string, unknown>[];
}

/**
 * Apollo's `relayStylePagination` caches a null connection as an empty one, so a refused or failed
 * `transactions` would render as "no transactions". docs/schema.md recommends keeping the null (the error
 * beside it says why); this is that recommendation, as an app would write it.
 */
function keepingNull(policy: FieldPolicy): FieldPolicy {
  const merge = policy.merge as FieldMergeFunction;
  return {
    ...policy,
    merge: (existing, incoming, options) => (incoming === null ? null : merge(existing, incoming, options)),
  };
}

function clientFor(started: Started, token: string): Client {
  const extensions: Record<string, unknown>[] = [];
  const recordingFetch: typeof fetch = async (input, init) => {
    const response = await fetch(input, init);
    const body = (await response.clone().json()) as { extensions?: Record<string, unknown> };
    extensions.push(body.extensions ?? {});
    return response;
  };
  const cache = new InMemoryCache({
    possibleTypes: { Node: ['Account', 'Transaction', 'Payment', 'Consent'] },
    typePolicies: {
      Query: {
        fields: {
          accounts: relayStylePagination(['provider']),
          payments: relayStylePagination(['status']),
        },
      },
      Account: { fields: { transactions: keepingNull(relayStylePagination()) } },
    },
  });
  const apollo = new ApolloClient({
    cache,
    link: new HttpLink({
      uri: `${started.url}/graphql`,
      headers: { authorization: `Bearer ${token}` },
      fetch: recordingFetch,
    }),
  });
  return { apollo, extensions };
}

interface AccountsData {
  accounts: {
    edges: {
      cursor: string;
      node: {
        __typename: 'Account';
        id: string;
        name: string;
        transactions: { edges: { node: { id: string } }[] } | null;
      };
    }[];
    pageInfo: { hasNextPage: boolean; endCursor: string | null };
  } | null;
}

const DASHBOARD: TypedDocumentNode<AccountsData, { first: number; after?: string }> = gql`
  query Dashboard($first: Int!, $after: String) {
    accounts(first: $first, after: $after) {
      edges {
        cursor
        node {
          id
          name
          transactions(first: 2) {
            edges {
              node {
                id
              }
            }
          }
        }
      }
      pageInfo {
        hasNextPage
        endCursor
      }
    }
  }
`;

interface PaymentFields {
  __typename: 'Payment';
  id: string;
  status: string;
  failureCode: string | null;
  nextAction: { type: string; clientSecret: string | null } | null;
}

const PAYMENT_FIELDS = gql`
  fragment PaymentFields on Payment {
    id
    status
    failureCode
    nextAction {
      type
      clientSecret
    }
  }
`;

const INITIATE: TypedDocumentNode<
  { initiatePayment: { payment: PaymentFields | null; userErrors: { code: string }[] } },
  { input: Record<string, unknown>; key: string }
> = gql`
  mutation Initiate($input: InitiatePaymentInput!, $key: String!) {
    initiatePayment(input: $input, idempotencyKey: $key) {
      payment {
        ...PaymentFields
      }
      userErrors {
        code
      }
    }
  }
  ${PAYMENT_FIELDS}
`;

const CONFIRM: TypedDocumentNode<
  { confirmPayment: { payment: PaymentFields | null; userErrors: { code: string }[] } },
  { id: string; key: string }
> = gql`
  mutation Confirm($id: ID!, $key: String!) {
    confirmPayment(id: $id, idempotencyKey: $key) {
      payment {
        ...PaymentFields
      }
      userErrors {
        code
      }
    }
  }
  ${PAYMENT_FIELDS}
`;

const PAYMENT: TypedDocumentNode<{ payment: PaymentFields | null }, { id: string }> = gql`
  query Payment($id: ID!) {
    payment(id: $id) {
      ...PaymentFields
    }
  }
  ${PAYMENT_FIELDS}
`;

const NODE: TypedDocumentNode<
  { node: { __typename: string; id: string; name?: string; description?: string; status?: string } | null },
  { id: string }
> = gql`
  query Node($id: ID!) {
    node(id: $id) {
      id
      ... on Account {
        name
      }
      ... on Transaction {
        description
      }
      ... on Payment {
        status
      }
    }
  }
`;

let started: Started;
let dataDir: string;
let alice: Client;

async function tokenFor(subject: string, scopes: readonly string[]): Promise<string> {
  const result = await runCli(['token', '--subject', subject, '--scopes', scopes.join(' ')], cliEnv(dataDir));
  expect(result.code, result.stderr).toBe(0);
  return result.stdout.trim();
}

/** The payment as this client's cache holds it now. */
function cachedPayment(client: Client, id: string): PaymentFields | null {
  return client.apollo.cache.readFragment<PaymentFields>({
    id: client.apollo.cache.identify({ __typename: 'Payment', id }),
    fragment: PAYMENT_FIELDS,
  });
}

function errorsOf(error: unknown): readonly GraphQLFormattedError[] {
  expect(CombinedGraphQLErrors.is(error), String(error)).toBe(true);
  return (error as CombinedGraphQLErrors).errors;
}

const cardPayment = (paymentMethodId: string, reference: string) => ({
  paymentMethodId,
  amount: { amount: '18.50', currency: 'GBP' },
  reference,
});

async function sandboxControl(path: string, body?: unknown): Promise<void> {
  const response = await fetch(`${started.sandboxes.stripe}${path}`, {
    method: 'POST',
    redirect: 'manual',
    ...(body === undefined
      ? {}
      : { headers: { 'content-type': 'application/json' }, body: JSON.stringify(body) }),
  });
  expect(response.status, `${path}: ${await response.text()}`).toBeLessThan(400);
}

beforeAll(async () => {
  dataDir = await mkdtemp(join(tmpdir(), 'tributary-apollo-'));
  started = await startTributary(dataDir);
  expect(started.sandboxes.stripe).toMatch(/^https?:\/\//);
  alice = clientFor(started, started.token);
}, 200_000);

afterAll(async () => {
  await stopAll();
  if (dataDir) await rm(dataDir, { recursive: true, force: true });
}, 30_000);

describe('Apollo Client over tributary start', { timeout: 120_000 }, () => {
  it('keeps the accounts of an accounts:read dashboard and puts one FORBIDDEN at each transactions path', async () => {
    const reader = clientFor(started, await tokenFor('cust_alice', ['accounts:read']));
    const result = await reader.apollo.query({
      query: DASHBOARD,
      variables: { first: 10 },
      errorPolicy: 'all',
    });

    const edges = result.data?.accounts?.edges ?? [];
    expect(edges.length).toBeGreaterThan(1);
    expect(edges.every(({ node }) => node.name.length > 0 && node.transactions === null)).toBe(true);
    const errors = errorsOf(result.error);
    expect(errors.map((error) => error.path)).toEqual(
      edges.map((_, index) => ['accounts', 'edges', index, 'node', 'transactions']),
    );
    expect(new Set(errors.map((error) => error.extensions?.code))).toEqual(new Set(['FORBIDDEN']));

    // What the app renders from its cache: every account, normalized by id.
    for (const { node } of edges) {
      const cached = reader.apollo.cache.readFragment<{ name: string }>({
        id: reader.apollo.cache.identify(node),
        fragment: gql`
          fragment AccountName on Account {
            name
          }
        `,
      });
      expect(cached).toEqual({ __typename: 'Account', name: node.name });
    }
  });

  it('pages the accounts with Relay-style pagination into one cached list', async () => {
    const first = await alice.apollo.query({ query: DASHBOARD, variables: { first: 1 } });
    expect(first.error).toBeUndefined();
    const page = first.data!.accounts!;
    expect(page.pageInfo.hasNextPage).toBe(true);

    const observable = alice.apollo.watchQuery({ query: DASHBOARD, variables: { first: 1 } });
    await observable.fetchMore({ variables: { first: 1, after: page.pageInfo.endCursor! } });
    const merged = alice.apollo.readQuery({ query: DASHBOARD, variables: { first: 1 } });
    const ids = merged!.accounts!.edges.map(({ node }) => node.id);
    expect(ids).toHaveLength(2);
    expect(new Set(ids).size).toBe(2);
    expect(ids[0]).toBe(page.edges[0]!.node.id);
  });

  it('leaves the cached payment SETTLED when a retry replays the first answer after settlement', async () => {
    const key = `apollo-replay-${randomUUID()}`;
    const input = cardPayment('pm_sandbox_processing', 'apollo replay');
    const initiated = await alice.apollo.mutate({ mutation: INITIATE, variables: { input, key } });
    const payment = initiated.data!.initiatePayment.payment!;
    expect(payment.status).toBe('PROCESSING');
    const intent = decodeId(payment.id, 'Payment')!.partnerId;

    // The card network settles it; Tributary hears by webhook, the app by refetching.
    await sandboxControl(`/__sandbox/stripe/payment_intents/${intent}/status`, { status: 'succeeded' });
    const deadline = Date.now() + 60_000;
    let status = payment.status;
    while (status !== 'SETTLED' && Date.now() < deadline) {
      await new Promise((resolve) => setTimeout(resolve, 200));
      const read = await alice.apollo.query({
        query: PAYMENT,
        variables: { id: payment.id },
        fetchPolicy: 'network-only',
      });
      status = read.data!.payment!.status;
    }
    expect(cachedPayment(alice, payment.id)?.status).toBe('SETTLED');

    // The app retries (it never saw the first answer, say): same key, same input.
    const replay = await alice.apollo.mutate({ mutation: INITIATE, variables: { input, key } });
    expect(alice.extensions.at(-1)?.idempotency).toMatchObject({ replayed: true });
    expect(replay.data!.initiatePayment.payment).toMatchObject({ id: payment.id, status: 'SETTLED' });
    expect(cachedPayment(alice, payment.id)).toMatchObject({ status: 'SETTLED', nextAction: null });
  });

  it('finishes 3-D Secure with the challenge card: client secret, challenge passed, confirmPayment', async () => {
    const initiated = await alice.apollo.mutate({
      mutation: INITIATE,
      variables: {
        input: cardPayment('pm_card_authenticationRequired', 'apollo 3ds'),
        key: `apollo-3ds-${randomUUID()}`,
      },
    });
    const payment = initiated.data!.initiatePayment.payment!;
    expect(payment.status).toBe('REQUIRES_ACTION');
    const intent = decodeId(payment.id, 'Payment')!.partnerId;
    expect(payment.nextAction).toMatchObject({ type: 'THREE_D_SECURE' });
    expect(payment.nextAction!.clientSecret).toMatch(new RegExp(`^${intent}_secret_`));
    expect(cachedPayment(alice, payment.id)?.status).toBe('REQUIRES_ACTION');

    // What the app's Stripe SDK does with the client secret: the customer passes the challenge.
    await sandboxControl(`/__sandbox/stripe/authenticate/${intent}?result=approve`);

    const confirmed = await alice.apollo.mutate({
      mutation: CONFIRM,
      variables: { id: payment.id, key: `apollo-confirm-${randomUUID()}` },
    });
    expect(confirmed.data!.confirmPayment).toMatchObject({
      payment: { id: payment.id, status: 'SETTLED', failureCode: null, nextAction: null },
      userErrors: [],
    });
    expect(cachedPayment(alice, payment.id)).toMatchObject({ status: 'SETTLED', nextAction: null });
  });

  it('refetches her account, transaction and payment by node(id), and refuses them to another customer', async () => {
    const dashboard = await alice.apollo.query({ query: DASHBOARD, variables: { first: 10 } });
    const account = dashboard.data!.accounts!.edges.find(({ node }) => node.transactions?.edges.length)!.node;
    const transactionId = account.transactions!.edges[0]!.node.id;
    const paid = await alice.apollo.mutate({
      mutation: INITIATE,
      variables: { input: cardPayment('pm_card_visa', 'apollo node'), key: `apollo-node-${randomUUID()}` },
    });
    const paymentId = paid.data!.initiatePayment.payment!.id;

    const expected = [
      [account.id, 'Account'],
      [transactionId, 'Transaction'],
      [paymentId, 'Payment'],
    ] as const;
    for (const [id, typename] of expected) {
      const read = await alice.apollo.query({ query: NODE, variables: { id }, fetchPolicy: 'network-only' });
      expect(read.error).toBeUndefined();
      expect(read.data!.node).toMatchObject({ __typename: typename, id });
      // The same object the lists cached: node(id) refetches it rather than making a second copy.
      expect(alice.apollo.cache.identify(read.data!.node!)).toBe(`${typename}:${id}`);
    }

    const bob = clientFor(started, await tokenFor('cust_bob', CUSTOMER_SCOPES));
    for (const [id, typename] of expected) {
      const refused = await bob.apollo.query({ query: NODE, variables: { id }, errorPolicy: 'all' });
      expect(refused.data?.node ?? null).toBeNull();
      expect(errorsOf(refused.error).map((error) => [error.path, error.extensions?.code])).toEqual([
        [['node'], 'NOT_FOUND'],
      ]);
      expect(Object.keys(bob.apollo.cache.extract() as Record<string, unknown>)).not.toContain(
        `${typename}:${id}`,
      );
    }
  });
});
