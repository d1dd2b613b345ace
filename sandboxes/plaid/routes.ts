/**
 * The Plaid API subset Tributary uses. Every endpoint is a POST with a JSON object body carrying
 * `client_id`/`secret` (or the PLAID-CLIENT-ID/PLAID-SECRET headers), answers with a `request_id`,
 * rejects fields it does not know (Plaid's UNKNOWN_FIELDS) and fails with Plaid's error object.
 *
 * The link flow is Plaid's real sandbox one: /sandbox/public_token/create stands in for Link, and
 * `options.override_username` names the seeded customer who "logs in" (`cust_alice`, `cust_bob`, ...;
 * Plaid's default `user_good` is cust_alice). The public token is then exchanged for an access token.
 * The Link flow proper (/link/token/create, then the customer in Link) is link.ts.
 */
import { json, readJson, type Handler, type Router, type SandboxRequest } from '../kit/sandbox.js';
import { INSTITUTIONS } from './seed-data.js';
import type { Book, CallRecord, Item, PlaidSandboxState } from './state.js';
import { syncPage } from './transactions.js';
import { errorObject, fail, newRequestId, PlaidFailure, PLAID_VERSION, isoDateTime } from './wire.js';

export type Body = Record<string, unknown>;

/** The products an Item can be created with. */
export const PRODUCTS = [
  'assets',
  'auth',
  'balance',
  'identity',
  'investments',
  'liabilities',
  'transactions',
];

/** Wraps a handler with Plaid's request checks and records the call for GET /__sandbox/plaid/calls. */
export function endpoint(
  state: PlaidSandboxState,
  fields: readonly string[],
  fn: (body: Body, call: CallRecord) => Body,
): Handler {
  return (req) => {
    const call: CallRecord = {
      route: req.route ?? req.path,
      correlationId: req.header('x-request-id') ?? null,
      credentials: 'body',
    };
    try {
      const body = checkRequest(state, req, fields, call);
      const answer = fn(body, call);
      state.record(call);
      return json(200, { ...answer, request_id: newRequestId() });
    } catch (error) {
      if (error instanceof PlaidFailure) {
        call.errorCode = (error.reply.json as { error_code?: string }).error_code;
        state.record(call);
      }
      throw error;
    }
  };
}

function checkRequest(
  state: PlaidSandboxState,
  req: SandboxRequest,
  fields: readonly string[],
  call: CallRecord,
): Body {
  const version = req.header('plaid-version');
  if (version !== undefined && version !== PLAID_VERSION) {
    fail('INVALID_REQUEST', 'INVALID_HEADERS', `this sandbox only speaks Plaid-Version ${PLAID_VERSION}`);
  }
  if (!/^application\/json\b/i.test(req.header('content-type') ?? '')) {
    fail('INVALID_REQUEST', 'INVALID_HEADERS', 'Content-Type must be application/json');
  }
  const parsed = readJson(req);
  if (typeof parsed !== 'object' || parsed === null || Array.isArray(parsed)) {
    fail('INVALID_REQUEST', 'INVALID_BODY', 'body could not be parsed as a JSON object');
  }
  const body = parsed as Body;
  const inBody = body.client_id !== undefined || body.secret !== undefined;
  call.credentials = inBody ? 'body' : 'headers';
  const clientId = inBody ? body.client_id : req.header('plaid-client-id');
  const secret = inBody ? body.secret : req.header('plaid-secret');
  const missing = [clientId === undefined && 'client_id', secret === undefined && 'secret'].filter(Boolean);
  if (missing.length > 0) {
    fail(
      'INVALID_REQUEST',
      'MISSING_FIELDS',
      `the following required fields are missing: ${missing.join(', ')}`,
    );
  }
  if (typeof clientId !== 'string' || typeof secret !== 'string' || !state.checkClient(clientId, secret)) {
    fail('INVALID_INPUT', 'INVALID_API_KEYS', 'invalid client_id or secret provided');
  }
  const unknown = Object.keys(body).filter(
    (key) => key !== 'client_id' && key !== 'secret' && !fields.includes(key),
  );
  if (unknown.length > 0) {
    fail(
      'INVALID_REQUEST',
      'UNKNOWN_FIELDS',
      `the following fields are not recognized by this endpoint: ${unknown.join(', ')}`,
    );
  }
  return body;
}

function optionalObject(body: Body, key: string): Body {
  const value = body[key];
  if (value === undefined) return {};
  if (typeof value !== 'object' || value === null || Array.isArray(value)) {
    fail('INVALID_REQUEST', 'INVALID_FIELD', `${key} must be an object`);
  }
  return value as Body;
}

function accountFilter(book: Book, options: Body): string[] | null {
  const ids = options.account_ids;
  if (ids === undefined) return null;
  if (!Array.isArray(ids) || ids.some((id) => typeof id !== 'string')) {
    fail('INVALID_REQUEST', 'INVALID_FIELD', 'options.account_ids must be an array of strings');
  }
  const known = new Set(book.accounts.map((account) => account.account_id));
  if ((ids as string[]).some((id) => !known.has(id))) {
    fail('INVALID_INPUT', 'INVALID_ACCOUNT_ID', 'one or more of the account IDs is invalid');
  }
  return ids as string[];
}

function itemWire(item: Item, book: Book): Body {
  return {
    item_id: item.itemId,
    institution_id: item.institutionId,
    institution_name: INSTITUTIONS[item.institutionId] ?? null,
    webhook: item.webhook,
    error: book.itemError
      ? errorObject('ITEM_ERROR', book.itemError, 'a user login is required to update this information.')
      : null,
    available_products: PRODUCTS.filter((product) => !item.products.includes(product)),
    billed_products: [...item.products],
    products: [...item.products],
    consented_products: [...item.products],
    consent_expiration_time: null,
    update_type: 'background',
    created_at: isoDateTime(item.createdAt),
  };
}

/** Registers the Plaid endpoints on the router. */
export function registerPlaidRoutes(router: Router, state: PlaidSandboxState): void {
  router.on(
    'POST',
    '/sandbox/public_token/create',
    endpoint(state, ['institution_id', 'initial_products', 'options', 'user_token', 'user_id'], (body) => {
      const institution = body.institution_id;
      if (typeof institution !== 'string') {
        fail(
          'INVALID_REQUEST',
          'MISSING_FIELDS',
          'the following required fields are missing: institution_id',
        );
      }
      if (!INSTITUTIONS[institution])
        fail('INVALID_INPUT', 'INVALID_INSTITUTION', 'invalid institution_id provided');
      const products = body.initial_products;
      if (
        !Array.isArray(products) ||
        products.length === 0 ||
        products.some((p) => !PRODUCTS.includes(p as string))
      ) {
        fail(
          'INVALID_REQUEST',
          'INVALID_FIELD',
          'initial_products must be a non-empty array of supported products',
        );
      }
      const options = optionalObject(body, 'options');
      const username = options.override_username ?? 'user_good';
      const customer = typeof username === 'string' ? state.customerFor(username) : null;
      if (!customer || (options.override_password ?? 'pass_good') !== 'pass_good') {
        fail(
          'ITEM_ERROR',
          'INVALID_CREDENTIALS',
          'the provided credentials were not correct',
          'The provided credentials were not correct. Please try again.',
        );
      }
      const webhook = typeof options.webhook === 'string' ? options.webhook : null;
      return { public_token: state.createPublicToken(customer, institution, products as string[], webhook) };
    }),
  );

  router.on(
    'POST',
    '/item/public_token/exchange',
    endpoint(state, ['public_token'], (body) => {
      if (typeof body.public_token !== 'string') {
        fail('INVALID_REQUEST', 'MISSING_FIELDS', 'the following required fields are missing: public_token');
      }
      const { accessToken, item } = state.exchange(body.public_token);
      return { access_token: accessToken, item_id: item.itemId };
    }),
  );

  const accounts = (balance: boolean) =>
    endpoint(state, ['access_token', 'options'], (body) => {
      const { item, book } = state.itemFor(body.access_token, true);
      const options = optionalObject(body, 'options');
      const only = accountFilter(book, options);
      const list = book.accounts.filter((account) => only === null || only.includes(account.account_id));
      const stamped = list.map((account) => ({
        ...structuredClone(account),
        // Balance is fetched from the institution in real time; /accounts/get serves the cached copy.
        balances: {
          ...account.balances,
          ...(balance ? { last_updated_datetime: isoDateTime(state.now()) } : {}),
        },
      }));
      return { accounts: stamped, item: itemWire(item, book) };
    });
  router.on('POST', '/accounts/get', accounts(false));
  router.on('POST', '/accounts/balance/get', accounts(true));

  router.on(
    'POST',
    '/transactions/sync',
    endpoint(state, ['access_token', 'cursor', 'count', 'options'], (body, call) => {
      const { item, book } = state.itemFor(body.access_token, true);
      const count = body.count ?? 100;
      if (typeof count !== 'number' || !Number.isInteger(count) || count < 1 || count > 500) {
        fail('INVALID_REQUEST', 'INVALID_FIELD', 'count must be an integer between 1 and 500');
      }
      const cursor = body.cursor;
      if (cursor !== undefined && cursor !== null && typeof cursor !== 'string') {
        fail('INVALID_REQUEST', 'INVALID_FIELD', 'cursor must be a string');
      }
      const accountId = optionalObject(body, 'options').account_id;
      if (accountId !== undefined && typeof accountId !== 'string') {
        fail('INVALID_REQUEST', 'INVALID_FIELD', 'options.account_id must be a string');
      }
      call.sync = { cursor: cursor ?? null, count, added: 0, modified: 0, removed: 0, hasMore: false };
      const page = syncPage(book, item, cursor ?? undefined, count, accountId);
      if (!item.products.includes('transactions')) item.products.push('transactions');
      Object.assign(call.sync, {
        added: page.added.length,
        modified: page.modified.length,
        removed: page.removed.length,
        hasMore: page.has_more,
      });
      return { ...page };
    }),
  );

  router.on(
    'POST',
    '/item/get',
    endpoint(state, ['access_token'], (body) => {
      const { item, book } = state.itemFor(body.access_token, false);
      return { item: itemWire(item, book), status: null };
    }),
  );

  router.on(
    'POST',
    '/item/remove',
    endpoint(state, ['access_token', 'reason_code', 'reason_note'], (body) => {
      const { item } = state.itemFor(body.access_token, false);
      state.removeItem(body.access_token as string, item);
      return {};
    }),
  );
}
