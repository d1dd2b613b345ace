import { NotImplementedError } from '../server/errors.js';
import type { MutationResolvers } from './__generated__/types.js';

const notYet = (what: string) => () => {
  throw new NotImplementedError(what);
};

export const Mutation: MutationResolvers = {
  initiatePayment: notYet('Payment initiation'),
  cancelPayment: notYet('Payment cancellation'),
  refundPayment: notYet('Refunds'),
  grantConsent: notYet('Granting consents through the graph'),
  revokeConsent: notYet('Revoking consents through the graph'),
  replayWebhookEvent: notYet('Webhook replay'),
};
