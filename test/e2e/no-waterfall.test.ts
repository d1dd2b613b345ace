/**
 * No waterfall, over real HTTP: once a subject's accounts have been listed, a live dashboard asks each
 * partner for balances and transactions while the account listing itself is still unanswered (the
 * sandboxes hold the listings back), and still makes one call per partner and resource kind with the
 * same answer. What the sandboxes saw, in order, is the evidence (their ledger's events); nothing is
 * timed: a listing is held until the reads expected with it have arrived. Reads the operation does not
 * select, or the token may not make, are not started.
 */
import { afterAll, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import type { FaultRule } from '../../sandboxes/kit/faults.js';
import { startTestApp, type TestApp } from '../helpers/app.js';

const LIVE = { 'cache-control': 'no-cache' };

const ROUTES = {
  openbanking: {
    accounts: 'GET /open-banking/v3.1/aisp/accounts',
    balances: 'GET /open-banking/v3.1/aisp/balances',
    transactions: 'GET /open-banking/v3.1/aisp/transactions',
  },
  plaid: {
    accounts: 'POST /accounts/get',
    balances: 'POST /accounts/balance/get',
    transactions: 'POST /transactions/sync',
  },
} as const;
type Partner = keyof typeof ROUTES;
const PARTNERS = Object.keys(ROUTES) as Partner[];

const DASHBOARD = /* GraphQL */ `
  query Dashboard($filter: TransactionFilter, $noBalance: Boolean = false) {
    accounts {
      edges {
        node {
          ...Parts
        }
      }
    }
  }
  fragment Parts on Account {
    id
    name
    balance @skip(if: $noBalance) {
      current {
        amount
        currency
      }
    }
    ... on Account {
      transactions(first: 5, filter: $filter) {
        edges {
          node {
            id
            amount {
              amount
            }
            bookedAt
          }
        }
      }
    }
  }
`;

let app: TestApp;
beforeAll(async () => {
  // A held listing must end by the hold's longest wait, never by the partner read's timeout or deadline:
  // a listing given up on would be answered after the reads of its fallback and hide a waterfall.
  app = await startTestApp({ env: { PARTNER_READ_TIMEOUT_MS: '60000', PARTNER_READ_DEADLINE_MS: '60000' } });
  // The first listing tells the server which accounts cust_alice holds; nothing is started before it.
  const first = await app.graphql(DASHBOARD, {}, { headers: LIVE });
  expect(first.body.errors).toBeUndefined();
});
afterAll(() => app?.close());

beforeEach(() => {
  for (const partner of PARTNERS) {
    app.sandboxes[partner]!.handle.setFaults([]);
    app.sandboxes[partner]!.handle.resetLedger();
  }
});

const HOLD_MS = 20_000;

/**
 * Holds back each partner's account listing until the partner has been asked for `reads`. Started with
 * the listing, they arrive and release it; started after it (a waterfall), they cannot, and the listing
 * answers after HOLD_MS, before them.
 */
function holdListings(reads: readonly ('balances' | 'transactions')[]): void {
  for (const partner of PARTNERS) {
    const until = reads.map((read) => ROUTES[partner][read]);
    const rule: FaultRule = { match: ROUTES[partner].accounts, kind: 'latency', ms: HOLD_MS, until };
    app.sandboxes[partner]!.handle.setFaults([rule]);
  }
}

const ledger = (partner: Partner) => app.sandboxes[partner]!.handle.ledger();

/** The position of `event` among what the partner saw, oldest first; -1 when it never happened. */
const position = (partner: Partner, event: string) => ledger(partner).events.indexOf(event);

describe('reads started with the account listing', () => {
  it('asks every partner for balances and transactions before its account listing has answered', async () => {
    const { body: reference } = await app.graphql(DASHBOARD, {}, { headers: LIVE });
    for (const partner of PARTNERS) app.sandboxes[partner]!.handle.resetLedger();
    holdListings(['balances', 'transactions']);

    const { body } = await app.graphql(DASHBOARD, {}, { headers: LIVE });
    expect(body.errors).toBeUndefined();
    expect(body.data).toEqual(reference.data);
    for (const partner of PARTNERS) {
      const routes = ROUTES[partner];
      const listed = position(partner, `${routes.accounts} answered`);
      expect({ partner, listed }).not.toEqual({ partner, listed: -1 });
      for (const read of [routes.balances, routes.transactions]) {
        const asked = position(partner, read);
        expect({ partner, read, asked: asked >= 0, beforeListing: asked < listed }).toEqual({
          partner,
          read,
          asked: true,
          beforeListing: true,
        });
      }
      expect(ledger(partner).requests).toEqual({
        [routes.accounts]: 1,
        [routes.balances]: 1,
        [routes.transactions]: 1,
      });
    }
  });

  it('starts transactions in the window the variables give, so the read is not asked twice', async () => {
    holdListings(['transactions']);
    const filter = { from: '2000-01-01T00:00:00Z', to: '2100-01-01T00:00:00Z' };
    const { body } = await app.graphql(DASHBOARD, { filter }, { headers: LIVE });
    expect(body.errors).toBeUndefined();
    for (const partner of PARTNERS) {
      const routes = ROUTES[partner];
      expect(position(partner, routes.transactions)).toBeLessThan(
        position(partner, `${routes.accounts} answered`),
      );
      expect(ledger(partner).requests[routes.transactions]).toBe(1);
    }
  });

  it("starts the transactions of every account with the listing for the caller's transactions", async () => {
    holdListings(['transactions']);
    const { body } = await app.graphql(
      'query($filter: TransactionFilter) { transactions(first: 50, filter: $filter) { edges { node { id } } } }',
      { filter: { from: '2000-01-01T00:00:00Z' } },
      { headers: LIVE },
    );
    expect(body.errors).toBeUndefined();
    expect((body.data?.transactions as { edges: unknown[] }).edges.length).toBeGreaterThan(0);
    for (const partner of PARTNERS) {
      const routes = ROUTES[partner];
      expect(position(partner, routes.transactions)).toBeGreaterThanOrEqual(0);
      expect(position(partner, routes.transactions)).toBeLessThan(
        position(partner, `${routes.accounts} answered`),
      );
      expect(ledger(partner).requests[routes.transactions]).toBe(1);
      expect(ledger(partner).requests[routes.balances]).toBeUndefined();
    }
  });

  it('starts no balance read for a balance the operation skips or the token may not read', async () => {
    const skipped = await app.graphql(DASHBOARD, { noBalance: true }, { headers: LIVE });
    expect(skipped.body.errors).toBeUndefined();
    const token = await app.token('cust_alice', ['accounts:read', 'transactions:read']);
    const unscoped = await app.graphql(DASHBOARD, {}, { token, headers: LIVE });
    // The balance fields are refused (no scope); the rest of the dashboard still arrives.
    expect(unscoped.body.errors?.length).toBeGreaterThan(0);
    expect(unscoped.body.data?.accounts).not.toBeNull();
    for (const partner of PARTNERS) {
      expect(ledger(partner).requests[ROUTES[partner].balances]).toBeUndefined();
      expect(ledger(partner).requests[ROUTES[partner].accounts]).toBe(2);
    }
  });
});
