/**
 * Reading payments for the graph: pages of the subject's payments (the per-request payment loader is
 * one of the request's loaders, resolvers/loaders.ts).
 * Payments come from our ledger, which the API, webhooks and reconciliation keep current.
 */
import type { Payment, PaymentStatus } from '../../domain/model.js';

/** Where pages are read from (PaymentService). */
export interface PaymentLister {
  list(
    subject: string,
    options: { limit: number; afterId?: string | null; statuses?: readonly PaymentStatus[] | null },
  ): Promise<Payment[]>;
}

/** One page of the subject's payments, newest first. */
export interface PaymentPage {
  nodes: Payment[];
  hasNextPage: boolean;
}

/** `limit` payments after `afterId`; the caller has checked that `afterId` is the subject's. */
export async function paymentPage(
  payments: PaymentLister,
  subject: string,
  options: { limit: number; afterId: string | null; statuses: readonly PaymentStatus[] | null },
): Promise<PaymentPage> {
  const rows = await payments.list(subject, { ...options, limit: options.limit + 1 });
  return { nodes: rows.slice(0, options.limit), hasNextPage: rows.length > options.limit };
}
