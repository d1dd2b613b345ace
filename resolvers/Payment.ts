import type { Payment as PaymentModel, PaymentStatus } from '../domain/model.js';
import type { RequestContext } from './context.js';
import { InputError, UnauthenticatedError } from '../domain/errors.js';
import { failureOf } from '../services/payments/index.js';
import { paymentPage } from '../services/payments/reads.js';
import type {
  CreditorResolvers,
  PaymentNextActionResolvers,
  PaymentResolvers,
} from './__generated__/types.js';
import { cursorOf, found, pageSize } from './support/connection.js';

function subjectOf(context: RequestContext): string {
  if (!context.principal) throw new UnauthenticatedError();
  return context.principal.subject;
}

/** The request's payment loader, bound to the caller: another subject's payment loads as null. */
export function paymentLoader(context: RequestContext) {
  subjectOf(context);
  return context.loaders.payment;
}

/** The caller's payments as a Relay connection, newest first (Query.payments, Customer.payments). */
export async function paymentsConnection(
  context: RequestContext,
  args: { first?: number | null; after?: string | null; status?: readonly PaymentStatus[] | null },
) {
  const subject = subjectOf(context);
  const limit = pageSize(args.first);
  const afterId = args.after ? cursorTarget(args.after) : null;
  if (args.after && !(afterId && (await context.services.payments.owns(subject, afterId)))) {
    throw new InputError('The cursor is not valid.', 'after');
  }
  const page = await paymentPage(context.services.payments, subject, {
    limit,
    afterId,
    statuses: args.status ?? null,
  });
  const edges = page.nodes.map((node) => ({ cursor: cursorOf(node.id), node }));
  return {
    edges,
    pageInfo: {
      hasNextPage: page.hasNextPage,
      hasPreviousPage: afterId !== null,
      startCursor: edges[0]?.cursor ?? null,
      endCursor: edges.at(-1)?.cursor ?? null,
    },
  };
}

/** The payment id a cursor (support/connection's format) points at, or null when malformed. */
function cursorTarget(cursor: string): string | null {
  const text = Buffer.from(cursor, 'base64url').toString('utf8');
  return text.startsWith('c:') && cursorOf(text.slice(2)) === cursor ? text.slice(2) : null;
}

export const Payment: PaymentResolvers = {
  __resolveReference: (reference, context) => found(paymentLoader(context).load(reference.id), 'Payment'),
  attempts: (payment) => payment.route?.attempts ?? [],
  debtorAccount: (payment, _args, context) =>
    payment.debtorAccountId ? context.loaders.account.load(payment.debtorAccountId) : null,
  disputes: (payment, _args, context) => context.loaders.disputes.load(payment.id),
  failureCode: (payment) => failureOf(payment)?.code ?? null,
  failureReason: (payment) => failureOf(payment)?.message ?? null,
  nextAction: (payment) => {
    if (!payment.nextAction) return null;
    const action = { ...payment.nextAction };
    PAYMENT_OF.set(action, payment);
    return action;
  },
};

/** The payment each next action the graph handed out belongs to (for its client secret). */
const PAYMENT_OF = new WeakMap<object, PaymentModel>();

export const PaymentNextAction: PaymentNextActionResolvers = {
  // Read from the processor when asked, for the payment's owner only (the Payment was checked when it
  // was handed out, and this field needs payments:write).
  clientSecret: (action, _args, context) => {
    const payment = PAYMENT_OF.get(action);
    if (!payment || action.type !== 'THREE_D_SECURE') return null;
    return context.services.payments.clientSecret(context.loaders.call(), payment);
  },
};

/** Account numbers leave the process as their last four digits; IBANs keep the country code too. */
export const Creditor: CreditorResolvers = {
  maskedAccountNumber: (creditor) =>
    creditor.accountNumber ? `••••${creditor.accountNumber.slice(-4)}` : null,
  maskedIban: (creditor) =>
    creditor.iban ? `${creditor.iban.slice(0, 2)}••••${creditor.iban.slice(-4)}` : null,
};
