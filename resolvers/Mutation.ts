import type { CallContext } from '../domain/providers.js';
import type { RequestContext } from './context.js';
import { NotImplementedError, UnauthenticatedError } from '../domain/errors.js';
import { markReplayed } from './support/idempotency.js';
import type { PaymentResult } from '../services/payments/index.js';
import type { MutationResolvers } from './__generated__/types.js';
import { replayWebhookEventPayload } from './support/webhooks.js';

const notYet = (what: string) => () => {
  throw new NotImplementedError(what);
};

/** The partner-call context of a mutation: credentials from the request's consent snapshot. */
function callOf(context: RequestContext): CallContext {
  if (!context.principal) throw new UnauthenticatedError();
  return context.loaders.call();
}

/** A replayed result is marked so the response carries `extensions.idempotency.replayed`. */
function answer(context: RequestContext, result: PaymentResult) {
  if (result.replayed) markReplayed(context);
  return result.payload;
}

export const Mutation: MutationResolvers = {
  initiatePayment: async (_root, args, context) =>
    answer(
      context,
      await context.services.payments.initiate(callOf(context), args.input, args.idempotencyKey),
    ),
  cancelPayment: async (_root, args, context) =>
    answer(context, await context.services.payments.cancel(callOf(context), args.id, args.idempotencyKey)),
  refundPayment: async (_root, args, context) =>
    answer(
      context,
      await context.services.payments.refund(
        callOf(context),
        args.id,
        args.amount ?? null,
        args.idempotencyKey,
      ),
    ),
  grantConsent: notYet('Granting consents through the graph'),
  revokeConsent: notYet('Revoking consents through the graph'),
  replayWebhookEvent: (_root, args, context) => replayWebhookEventPayload(context, args.id),
};
