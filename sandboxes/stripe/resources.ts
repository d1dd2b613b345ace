/**
 * Customers (create, retrieve, search by metadata), refunds (create, retrieve, list), disputes
 * (retrieve, list) and payment methods (retrieve: a test token or one a PaymentIntent cloned from it). Refunds check what is left to refund on the charge, as Stripe does.
 */
import type { Router } from '../kit/sandbox.js';
import { paymentMethodObject, testCard } from './cards.js';
import { route, type ApiContext } from './api.js';
import { invalidRequest, resourceMissing, unexpectedState } from './errors.js';
import { allowOnly, metadataParam, optionalInteger, optionalString, type FormParams } from './form.js';
import { page } from './lists.js';
import { customerObject } from './objects.js';
import { refundObject } from './reversals.js';
import type { SbCharge, SbRefund, StripeState } from './state.js';

const REFUND_REASONS = ['duplicate', 'fraudulent', 'requested_by_customer'];
const LIST_PARAMS = ['limit', 'starting_after', 'ending_before', 'expand'];

/** Registers the customer, refund and dispute routes. */
export function registerResourceRoutes(router: Router, ctx: ApiContext): void {
  const { state } = ctx;
  route(router, ctx, 'POST', '/v1/customers', ({ params }) => {
    allowOnly(params, ['email', 'name', 'description', 'metadata', 'expand']);
    const customer = customerObject({
      id: state.newId('cus').slice(0, 18),
      created: state.nowSeconds(),
      email: optionalString(params, 'email') ?? null,
      name: optionalString(params, 'name') ?? null,
      description: optionalString(params, 'description') ?? null,
      metadata: metadataParam(params) ?? {},
    });
    state.customers.set(customer.id, customer);
    state.track(customer.id);
    return customer;
  });

  // Registered before /v1/customers/{id} so "search" is not taken for an id.
  route(router, ctx, 'GET', '/v1/customers/search', ({ params }) => {
    allowOnly(params, ['query', 'limit', 'page', 'expand']);
    const [key, value] = metadataQuery(optionalString(params, 'query') ?? '');
    const limit = optionalInteger(params, 'limit') ?? 10;
    const found = [...state.customers.values()]
      .filter((customer) => customer.metadata[key] === value)
      .sort(state.compare);
    return {
      object: 'search_result',
      data: found.slice(0, limit),
      has_more: found.length > limit,
      next_page: null,
      url: '/v1/customers/search',
    };
  });

  route(router, ctx, 'GET', '/v1/customers/{id}', ({ req }) => {
    const id = req.params.id ?? '';
    const customer = state.customers.get(id);
    if (!customer) throw resourceMissing('customer', id, 'id');
    return customer;
  });

  route(router, ctx, 'GET', '/v1/payment_methods/{id}', ({ params, req }) => {
    allowOnly(params, ['expand']);
    const id = req.params.id ?? '';
    const card = state.paymentMethods.get(id) ?? testCard(id);
    if (!card) throw resourceMissing('PaymentMethod', id, 'payment_method');
    return paymentMethodObject(id, card, null, state.nowSeconds());
  });

  route(router, ctx, 'POST', '/v1/refunds', ({ params, idempotencyKey }) => {
    allowOnly(params, ['payment_intent', 'charge', 'amount', 'reason', 'metadata', 'expand']);
    const refund = createRefund(state, params);
    state.ledger.recordMovement({
      id: refund.id,
      kind: 'refund',
      amount: String(refund.amount),
      currency: refund.currency.toUpperCase(),
      ...(idempotencyKey ? { idempotencyKey } : {}),
      ...(refund.payment_intent ? { reference: refund.payment_intent } : {}),
      at: new Date(state.now()).toISOString(),
    });
    return refund;
  });

  route(router, ctx, 'GET', '/v1/refunds', ({ params }) => {
    allowOnly(params, [...LIST_PARAMS, 'payment_intent', 'charge']);
    const intent = optionalString(params, 'payment_intent');
    const charge = optionalString(params, 'charge');
    const items = [...state.refunds.values()].filter(
      (refund) => (!intent || refund.payment_intent === intent) && (!charge || refund.charge === charge),
    );
    return page(state, params, '/v1/refunds', 'refund', items);
  });

  route(router, ctx, 'GET', '/v1/refunds/{id}', ({ req }) => {
    const id = req.params.id ?? '';
    const refund = state.refunds.get(id);
    if (!refund) throw resourceMissing('refund', id, 'refund');
    return refund;
  });

  route(router, ctx, 'GET', '/v1/disputes', ({ params }) => {
    allowOnly(params, [...LIST_PARAMS, 'payment_intent', 'charge']);
    const intent = optionalString(params, 'payment_intent');
    const charge = optionalString(params, 'charge');
    const items = [...state.disputes.values()].filter(
      (dispute) => (!intent || dispute.payment_intent === intent) && (!charge || dispute.charge === charge),
    );
    return page(state, params, '/v1/disputes', 'dispute', items);
  });

  route(router, ctx, 'GET', '/v1/disputes/{id}', ({ req }) => {
    const id = req.params.id ?? '';
    const dispute = state.disputes.get(id);
    if (!dispute) throw resourceMissing('dispute', id, 'dispute');
    return dispute;
  });
}

/** Only `metadata['key']:'value'` is supported from Stripe's search query language. */
function metadataQuery(query: string): [string, string] {
  const match = /^metadata\[['"]([^'"]+)['"]\]\s*:\s*['"]([^'"]*)['"]$/.exec(query.trim());
  if (!match?.[1] || match[2] === undefined) {
    throw invalidRequest("This sandbox supports only queries of the form metadata['key']:'value'.", 'query');
  }
  return [match[1], match[2]];
}

/** Refunds a PaymentIntent's (or a charge's) successful charge, in full or in part. */
export function createRefund(state: StripeState, params: FormParams): SbRefund {
  const intentId = optionalString(params, 'payment_intent');
  const chargeId = optionalString(params, 'charge');
  if (!intentId && !chargeId) {
    throw invalidRequest(
      'One of the following params should be provided for this request: payment_intent or charge.',
    );
  }
  const charge = refundableCharge(state, intentId, chargeId);
  const remaining = charge.amount - charge.amount_refunded;
  if (remaining <= 0) {
    throw invalidRequest(
      `Charge ${charge.id} has already been refunded.`,
      undefined,
      'charge_already_refunded',
    );
  }
  const amount = optionalInteger(params, 'amount') ?? remaining;
  if (amount <= 0) throw invalidRequest('Invalid positive integer', 'amount', 'parameter_invalid_integer');
  if (amount > remaining) {
    throw invalidRequest(
      `Refund amount (${amount}) is greater than unrefunded amount on charge (${remaining})`,
      'amount',
      'amount_too_large',
    );
  }
  const reason = optionalString(params, 'reason') ?? null;
  if (reason !== null && !REFUND_REASONS.includes(reason)) {
    throw invalidRequest(`Invalid reason: must be one of ${REFUND_REASONS.join(', ')}`, 'reason');
  }
  const refund = refundObject({
    id: state.newId('re'),
    created: state.nowSeconds(),
    amount,
    charge,
    reason,
    metadata: metadataParam(params) ?? {},
  });
  applyRefund(state, charge, refund);
  return refund;
}

/** Books a refund against its charge (amount_refunded, refunded, the charge's refund list). */
export function applyRefund(state: StripeState, charge: SbCharge, refund: SbRefund): void {
  state.refunds.set(refund.id, refund);
  state.track(refund.id);
  charge.amount_refunded += refund.amount;
  charge.refunded = charge.amount_refunded >= charge.amount;
  charge.refunds.data.unshift(refund);
}

function refundableCharge(
  state: StripeState,
  intentId: string | undefined,
  chargeId: string | undefined,
): SbCharge {
  let charge: SbCharge | undefined;
  if (intentId) {
    const intent = state.intents.get(intentId);
    if (!intent) throw resourceMissing('payment_intent', intentId, 'payment_intent');
    charge = intent.latest_charge ? state.charges.get(intent.latest_charge) : undefined;
    if (intent.status !== 'succeeded' || charge?.status !== 'succeeded') {
      throw unexpectedState(
        'This PaymentIntent does not have a successful charge to refund.',
        'charge_not_refundable',
      );
    }
  } else if (chargeId) {
    charge = state.charges.get(chargeId);
    if (!charge) throw resourceMissing('charge', chargeId, 'charge');
  }
  if (!charge || charge.status !== 'succeeded') {
    throw unexpectedState(
      'This charge does not have a successful payment to refund.',
      'charge_not_refundable',
    );
  }
  const chargeback = [...state.disputes.values()].some(
    (dispute) => dispute.charge === charge.id && !dispute.is_charge_refundable,
  );
  if (chargeback) {
    throw invalidRequest(
      `Charge ${charge.id} has been charged back; you cannot issue a refund.`,
      undefined,
      'charge_disputed',
    );
  }
  return charge;
}
