/**
 * The queries the benchmark sends, and helpers to build targets, compare answers and count partner calls.
 */
import type { Child } from './children.js';
import type { Target } from './measure.js';

/** The mobile dashboard: accounts with balances and the last ten transactions. */
export const DASHBOARD = /* GraphQL */ `
  query Dashboard {
    accounts {
      edges {
        node {
          id
          provider
          name
          type
          currency
          maskedNumber
          freshness {
            source
            provider
          }
          balance {
            current {
              amount
              currency
            }
            available {
              amount
              currency
            }
            freshness {
              source
            }
          }
          transactions(first: 10) {
            edges {
              node {
                id
                amount {
                  amount
                  currency
                }
                status
                description
                merchantName
                bookedAt
              }
            }
          }
        }
      }
    }
  }
`;

/** The same dashboard for the Open Banking accounts only (the partner taken down in scenario d). */
export const BANK_DASHBOARD = DASHBOARD.replace('accounts {', 'accounts(provider: OPENBANKING) {');

export const ENTITIES = /* GraphQL */ `
  query Entities($representations: [_Any!]!) {
    _entities(representations: $representations) {
      ... on Account {
        id
        name
        type
        currency
        balance {
          current {
            amount
            currency
          }
        }
      }
    }
  }
`;

export const IDS = '{ accounts(first: 100) { edges { node { id } } } }';
export const HEALTH = '{ partnerHealth { provider breakerState } }';

export function body(query: string, variables?: Record<string, unknown>): string {
  return JSON.stringify(variables ? { query, variables } : { query });
}

/** Per-route partner calls per operation between two ledger readings. */
export function perOperation(
  before: Record<string, number>,
  after: Record<string, number>,
  operations: number,
): Record<string, number> {
  const out: Record<string, number> = {};
  for (const [route, count] of Object.entries(after)) {
    const delta = count - (before[route] ?? 0);
    if (delta > 0) out[route] = Number((delta / operations).toFixed(2));
  }
  return out;
}

/** Data with time stamps removed, for comparing answers taken at different moments. */
export function timeless(value: unknown): unknown {
  if (Array.isArray(value)) return value.map(timeless);
  if (value && typeof value === 'object') {
    return Object.fromEntries(
      Object.entries(value)
        .filter(([key]) => key !== 'asOf')
        .map(([key, inner]) => [key, timeless(inner)]),
    );
  }
  return value;
}

/** A card payment through the Stripe sandbox; every request of the payments scenario has its own key. */
export const INITIATE_PAYMENT = /* GraphQL */ `
  mutation Pay($input: InitiatePaymentInput!, $key: String!) {
    initiatePayment(input: $input, idempotencyKey: $key) {
      payment {
        id
        status
        amount {
          amount
          currency
        }
      }
      userErrors {
        code
      }
    }
  }
`;

/** The body of one card payment under `key`. */
export function paymentBody(key: string): string {
  return body(INITIATE_PAYMENT, {
    input: {
      paymentMethodId: 'pm_card_visa',
      amount: { amount: '12.34', currency: 'GBP' },
      reference: 'Benchmark',
    },
    key,
  });
}

/**
 * Targets on one running Tributary: `target` POSTs a query as a subject (the server's token for it),
 * `live` is the same request asking for live partner data (`Cache-Control: no-cache`).
 */
export function targetsOn(server: Child<{ url: string; tokens: Record<string, string> }>) {
  const url = `${server.ready.url}/graphql`;
  const target = (
    name: string,
    query: string,
    subject: string,
    variables?: Record<string, unknown>,
  ): Target => ({
    name,
    url,
    pid: server.pid,
    body: body(query, variables),
    headers: { authorization: `Bearer ${server.ready.tokens[subject]!}` },
  });
  const live = (of: Target, name: string): Target => ({
    ...of,
    name,
    headers: { ...of.headers, 'cache-control': 'no-cache' },
  });
  return { target, live };
}
