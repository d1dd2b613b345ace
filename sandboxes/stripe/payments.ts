/**
 * PaymentIntent endpoints: create (optionally confirming), retrieve, confirm, cancel, list.
 * Every PaymentIntent created is recorded in the ledger, declined ones included: Stripe creates the
 * object before the card is charged.
 */
import type { Router } from '../kit/sandbox.js';
import { route, type ApiContext } from './api.js';
import { invalidRequest, resourceMissing } from './errors.js';
import {
  allowOnly,
  metadataParam,
  optionalBoolean,
  optionalInteger,
  optionalString,
  requiredString,
  stringArray,
  type FormParams,
} from './form.js';
import { attachPaymentMethod, cancelIntent, confirmIntent } from './intents.js';
import { expansions, page, serveIntent } from './lists.js';
import { intentObject } from './objects.js';
import type { SbIntent, StripeState } from './state.js';

const CREATE_PARAMS = [
  'amount',
  'currency',
  'customer',
  'payment_method',
  'payment_method_types',
  'confirm',
  'metadata',
  'description',
  'capture_method',
  'confirmation_method',
  'return_url',
  'expand',
  'receipt_email',
  'statement_descriptor',
];
const CONFIRM_PARAMS = ['payment_method', 'return_url', 'expand'];
const CANCEL_REASONS = ['duplicate', 'fraudulent', 'requested_by_customer', 'abandoned'];
const CAPTURE_METHODS = ['automatic', 'automatic_async', 'manual'] as const;

/** Currencies Stripe takes as zero-decimal, and the smallest charge in the rest (USD 0.50 rule). */
const ZERO_DECIMAL = new Set([
  'bif',
  'clp',
  'djf',
  'gnf',
  'jpy',
  'kmf',
  'krw',
  'mga',
  'pyg',
  'rwf',
  'ugx',
  'vnd',
  'vuv',
  'xaf',
  'xof',
  'xpf',
]);

/** Registers the /v1/payment_intents routes. */
export function registerPaymentIntentRoutes(router: Router, ctx: ApiContext): void {
  const { state } = ctx;
  route(router, ctx, 'POST', '/v1/payment_intents', ({ params, origin, idempotencyKey }) => {
    allowOnly(params, CREATE_PARAMS);
    const expand = expansions(params, ['latest_charge']);
    const intent = newIntent(state, params);
    // Persist first: a declined confirmation still leaves the PaymentIntent behind.
    state.intents.set(intent.id, intent);
    state.track(intent.id);
    state.ledger.recordMovement({
      id: intent.id,
      kind: 'payment-intent',
      amount: String(intent.amount),
      currency: intent.currency.toUpperCase(),
      ...(idempotencyKey ? { idempotencyKey } : {}),
      ...(intent.description ? { reference: intent.description } : {}),
      at: new Date(state.now()).toISOString(),
    });
    if (optionalBoolean(params, 'confirm'))
      confirmIntent(state, intent, origin, optionalString(params, 'return_url'));
    return serveIntent(state, intent, expand.has('latest_charge'));
  });

  route(router, ctx, 'GET', '/v1/payment_intents', ({ params }) => {
    allowOnly(params, ['customer', 'created', 'limit', 'starting_after', 'ending_before', 'expand']);
    const expand = expansions(params, ['data.latest_charge']);
    const customer = optionalString(params, 'customer');
    const created = createdFilter(params);
    const items = [...state.intents.values()].filter(
      (intent) => (!customer || intent.customer === customer) && created(intent.created),
    );
    return page(state, params, '/v1/payment_intents', 'payment_intent', items, (intent) =>
      serveIntent(state, intent, expand.has('data.latest_charge')),
    );
  });

  route(router, ctx, 'GET', '/v1/payment_intents/{id}', ({ params, req }) => {
    allowOnly(params, ['expand', 'client_secret']);
    const expand = expansions(params, ['latest_charge']);
    return serveIntent(state, findIntent(state, req.params.id ?? ''), expand.has('latest_charge'));
  });

  route(router, ctx, 'POST', '/v1/payment_intents/{id}/confirm', ({ params, req, origin }) => {
    allowOnly(params, CONFIRM_PARAMS);
    const expand = expansions(params, ['latest_charge']);
    const intent = findIntent(state, req.params.id ?? '');
    const token = optionalString(params, 'payment_method');
    if (token) attachPaymentMethod(state, intent, token);
    confirmIntent(state, intent, origin, optionalString(params, 'return_url'));
    return serveIntent(state, intent, expand.has('latest_charge'));
  });

  route(router, ctx, 'POST', '/v1/payment_intents/{id}/cancel', ({ params, req }) => {
    allowOnly(params, ['cancellation_reason', 'expand']);
    const expand = expansions(params, ['latest_charge']);
    const intent = findIntent(state, req.params.id ?? '');
    const reason = optionalString(params, 'cancellation_reason') ?? null;
    if (reason !== null && !CANCEL_REASONS.includes(reason)) {
      throw invalidRequest(
        `Invalid cancellation_reason: must be one of ${CANCEL_REASONS.join(', ')}`,
        'cancellation_reason',
      );
    }
    cancelIntent(state, intent, reason);
    return serveIntent(state, intent, expand.has('latest_charge'));
  });
}

/** Stripe's `created` list filter: an exact Unix time, or a hash of `gt`, `gte`, `lt`, `lte`. */
function createdFilter(params: FormParams): (created: number) => boolean {
  const value = params.created;
  if (value === undefined) return () => true;
  const integer = (raw: unknown, name: string): number => {
    if (typeof raw !== 'string' || !/^\d+$/.test(raw))
      throw invalidRequest(`Invalid integer: ${String(raw)}`, name);
    return Number(raw);
  };
  if (typeof value === 'string') {
    const exact = integer(value, 'created');
    return (created) => created === exact;
  }
  if (Array.isArray(value)) throw invalidRequest('Invalid hash', 'created');
  const bounds: [string, (created: number, bound: number) => boolean][] = [
    ['gt', (c, b) => c > b],
    ['gte', (c, b) => c >= b],
    ['lt', (c, b) => c < b],
    ['lte', (c, b) => c <= b],
  ];
  for (const key of Object.keys(value)) {
    if (!bounds.some(([name]) => name === key))
      throw invalidRequest(`Received unknown parameter: created[${key}]`, 'created', 'parameter_unknown');
  }
  const checks = bounds
    .filter(([name]) => value[name] !== undefined)
    .map(([name, test]) => ({ bound: integer(value[name], `created[${name}]`), test }));
  return (created) => checks.every(({ bound, test }) => test(created, bound));
}

/** The PaymentIntent, or Stripe's 404 naming the `intent` parameter. */
export function findIntent(state: StripeState, id: string): SbIntent {
  const intent = state.intents.get(id);
  if (!intent) throw resourceMissing('payment_intent', id, 'intent');
  return intent;
}

/** `confirmation_method`: automatic (the default) or manual (the server confirms after 3-D Secure). */
function confirmationMethodOf(params: FormParams): 'automatic' | 'manual' {
  const method = optionalString(params, 'confirmation_method') ?? 'automatic';
  if (method !== 'automatic' && method !== 'manual') {
    throw invalidRequest(`Invalid confirmation_method: ${method}`, 'confirmation_method');
  }
  return method;
}

function newIntent(state: StripeState, params: FormParams): SbIntent {
  const amount = optionalInteger(params, 'amount');
  if (amount === undefined)
    throw invalidRequest('Missing required param: amount.', 'amount', 'parameter_missing');
  const currency = requiredString(params, 'currency').toLowerCase();
  if (!/^[a-z]{3}$/.test(currency)) throw invalidRequest(`Invalid currency: ${currency}.`, 'currency');
  checkAmount(amount, currency);
  const customer = optionalString(params, 'customer') ?? null;
  if (customer && !state.customers.has(customer)) throw resourceMissing('customer', customer, 'customer');
  const types = stringArray(params, 'payment_method_types');
  if (types.some((type) => type !== 'card')) {
    throw invalidRequest(
      'The payment method type provided is not supported by this sandbox.',
      'payment_method_types',
    );
  }
  const capture = optionalString(params, 'capture_method') ?? 'automatic';
  if (!(CAPTURE_METHODS as readonly string[]).includes(capture)) {
    throw invalidRequest(`Invalid capture_method: ${capture}`, 'capture_method');
  }
  const intent = intentObject({
    id: state.newId('pi'),
    created: state.nowSeconds(),
    amount,
    currency,
    customer,
    description: optionalString(params, 'description') ?? null,
    metadata: metadataParam(params) ?? {},
    captureMethod: capture as SbIntent['capture_method'],
    confirmationMethod: confirmationMethodOf(params),
    paymentMethod: null,
  });
  intent.receipt_email = optionalString(params, 'receipt_email') ?? null;
  intent.statement_descriptor = optionalString(params, 'statement_descriptor') ?? null;
  const token = optionalString(params, 'payment_method');
  if (token) attachPaymentMethod(state, intent, token);
  return intent;
}

/** Three-decimal currencies: Stripe takes amounts in thousandths but only whole hundredths (last digit 0). */
const THREE_DECIMAL = new Set(['bhd', 'jod', 'kwd', 'omr', 'tnd']);

/**
 * Stripe's amount rules: positive, at least 50 minor units for two-decimal currencies, ISK whole
 * krónur, and three-decimal currencies in multiples of ten.
 */
function checkAmount(amount: number, currency: string): void {
  const minimum = ZERO_DECIMAL.has(currency) ? 1 : 50;
  if (amount < minimum) {
    throw invalidRequest(`Amount must be at least ${minimum} ${currency}`, 'amount', 'amount_too_small');
  }
  if (amount > 99_999_999) {
    throw invalidRequest('Amount must be no more than 99,999,999', 'amount', 'amount_too_large');
  }
  if (currency === 'isk' && amount % 100 !== 0) {
    throw invalidRequest(
      'Invalid amount. Currency ISK has become effectively zero-decimal and charged amounts must be evenly divisible by 100.',
      'amount',
      'invalid_charge_amount_no_decimal_compatible',
    );
  }
  if (THREE_DECIMAL.has(currency) && amount % 10 !== 0) {
    throw invalidRequest(
      `Invalid amount. Charges in ${currency.toUpperCase()} must have 0 as their last digit: the amount is in thousandths but is charged in hundredths.`,
      'amount',
    );
  }
}
