/**
 * Reading payments for the graph: one DataLoader per request and subject (so `payment(id)`, `_entities`
 * and nested references cost one ledger query per request), and pages of the subject's payments.
 * Payments come from our ledger, which the API, webhooks and reconciliation keep current.
 */
import DataLoader from 'dataloader';
import type { Payment, PaymentStatus } from '../../domain/model.js';
import type { PaymentService } from './index.js';

/** A subject's payments by global id; another subject's or an unknown id loads as null. */
export function createPaymentLoader(
  payments: PaymentService,
  subject: string,
): DataLoader<string, Payment | null> {
  return new DataLoader(async (ids) => {
    const found = await payments.paymentsById(subject, ids);
    return ids.map((id) => found.get(id) ?? null);
  });
}

/** One page of the subject's payments, newest first. */
export interface PaymentPage {
  nodes: Payment[];
  hasNextPage: boolean;
}

/** `limit` payments after `afterId`; the caller has checked that `afterId` is the subject's. */
export async function paymentPage(
  payments: PaymentService,
  subject: string,
  options: { limit: number; afterId: string | null; statuses: readonly PaymentStatus[] | null },
): Promise<PaymentPage> {
  const rows = await payments.list(subject, { ...options, limit: options.limit + 1 });
  return { nodes: rows.slice(0, options.limit), hasNextPage: rows.length > options.limit };
}

const perRequest = new WeakMap<object, DataLoader<string, Payment | null>>();

/**
 * The payment loader of one request (keyed by its context object), until the request's Loaders
 * carry it. Built once per request, so its cache never outlives the request or crosses subjects.
 */
export function requestPaymentLoader(
  request: object,
  payments: PaymentService,
  subject: string,
): DataLoader<string, Payment | null> {
  let loader = perRequest.get(request);
  if (!loader) {
    loader = createPaymentLoader(payments, subject);
    perRequest.set(request, loader);
  }
  return loader;
}
