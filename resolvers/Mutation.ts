import type { CallContext } from '../domain/providers.js';
import type { RequestContext } from './context.js';
import { InputError, UnauthenticatedError } from '../domain/errors.js';
import { isProviderName } from '../domain/model.js';
import { markReplayed } from './support/idempotency.js';
import type { MutationResolvers } from './__generated__/types.js';
import { replayWebhookEventPayload } from './support/webhooks.js';
import { reconcilePayments } from './support/reconciliation.js';
import { localCopiesOf } from '../services/erasure/index.js';

/** The partner-call context of a mutation: credentials from the request's consent snapshot. */
function callOf(context: RequestContext): CallContext {
  if (!context.principal) throw new UnauthenticatedError();
  return context.loaders.call();
}

/** A replayed result is marked so the response carries `extensions.idempotency.replayed`. */
function answer<P>(context: RequestContext, result: { payload: P; replayed: boolean }): P {
  if (result.replayed) markReplayed(context);
  return result.payload;
}

export const Mutation: MutationResolvers = {
  initiatePayment: async (_root, args, context) =>
    answer(
      context,
      await context.services.payments.initiate(callOf(context), args.input, args.idempotencyKey),
    ),
  confirmPayment: async (_root, args, context) =>
    answer(
      context,
      await context.services.payments.confirm(
        callOf(context),
        args.id,
        args.idempotencyKey,
        args.authenticationResult ?? null,
      ),
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
  grantConsent: async (_root, args, context) => {
    const { input } = args;
    const provider = input.provider.toLowerCase();
    if (!isProviderName(provider))
      throw new InputError(`Unknown provider ${input.provider}.`, 'input.provider');
    return answer(
      context,
      await context.services.consents.grant(
        callOf(context),
        {
          provider,
          permissions: input.permissions,
          expiresAt: input.expiresAt ?? null,
          redirectUri: input.redirectUri ?? null,
        },
        args.idempotencyKey,
      ),
    );
  },
  completeConsent: async (_root, args, context) =>
    answer(
      context,
      await context.services.consents.completeFor(
        callOf(context),
        { state: args.input.state, code: args.input.code ?? null, error: args.input.error ?? null },
        args.idempotencyKey,
      ),
    ),
  revokeConsent: async (_root, args, context) =>
    answer(context, await context.services.consents.revoke(callOf(context), args.id, args.idempotencyKey)),
  replayWebhookEvent: (_root, args, context) => replayWebhookEventPayload(context, args.id),
  reconcilePayments: (_root, args, context) => reconcilePayments(context, args),
  eraseCustomer: async (_root, args, context) => {
    if (!context.principal) throw new UnauthenticatedError();
    const report = await context.services.erasure.erase(
      args.subject,
      `operator:${context.principal.subject}`,
      args.reason,
    );
    return { erasure: { ...report, localCopies: localCopiesOf(report) }, userErrors: [] };
  },
};
