/**
 * Sandbox control routes (JSON, no Stripe auth, never counted or faulted), standing in for what
 * happens outside the API at Stripe: the customer completing 3-D Secure, a slow payment settling,
 * a cardholder opening a chargeback and the card network deciding it, time passing.
 *
 *   GET|POST /__sandbox/stripe/authenticate/{id}?result=approve|fail   3-D Secure page (redirects to return_url)
 *   POST /__sandbox/stripe/payment_intents/{id}/status  { status, decline_code? }
 *   POST /__sandbox/stripe/disputes                    { payment_intent, amount?, reason?, status? }
 *   POST /__sandbox/stripe/disputes/{id}/status        { status }
 *   POST /__sandbox/stripe/clock                       { advanceSeconds }
 *   GET  /__sandbox/stripe/requests                    what clients sent (keys, correlation ids)
 */
import { z } from 'zod';
import { empty, json, readJson, type Reply, type Router, type SandboxRequest } from '../kit/sandbox.js';
import { testCard } from './cards.js';
import { cancelIntent, completeAuthentication, decline, failAuthentication, settle } from './intents.js';
import { openDispute } from './reversals.js';
import type { DisputeStatus, SbIntent, StripeState } from './state.js';

const DISPUTE_STATUSES = [
  'warning_needs_response',
  'warning_under_review',
  'warning_closed',
  'needs_response',
  'under_review',
  'won',
  'lost',
  'prevented',
] as const satisfies readonly DisputeStatus[];

const moveSchema = z.object({
  status: z.enum(['processing', 'succeeded', 'requires_payment_method', 'canceled']),
  decline_code: z.string().min(1).optional(),
});
const openDisputeSchema = z.object({
  payment_intent: z.string().min(1),
  amount: z.number().int().positive().optional(),
  reason: z.string().min(1).default('fraudulent'),
  status: z.enum(DISPUTE_STATUSES).default('needs_response'),
});
const disputeStatusSchema = z.object({ status: z.enum(DISPUTE_STATUSES) });
const clockSchema = z.object({
  advanceSeconds: z
    .number()
    .int()
    .min(0)
    .max(10 * 365 * 86_400),
});

/** Registers the /__sandbox/stripe/* control routes listed above. */
export function registerControlRoutes(router: Router, state: StripeState): void {
  const authenticate = (req: SandboxRequest): Reply => {
    const intent = state.intents.get(req.params.id ?? '');
    if (!intent) return json(404, { error: 'no such payment_intent' });
    if (intent.status !== 'requires_action')
      return json(409, { error: `payment_intent is ${intent.status}` });
    const redirect = intent.next_action?.redirect_to_url as { return_url?: string | null } | undefined;
    const approved = req.query.get('result') !== 'fail';
    if (approved) completeAuthentication(state, intent);
    else failAuthentication(intent);
    const back = redirect?.return_url;
    if (!back) return json(200, intent);
    const target = new URL(back);
    target.searchParams.set('payment_intent', intent.id);
    target.searchParams.set('redirect_status', approved ? 'succeeded' : 'failed');
    return empty(302, { location: target.toString() });
  };
  router.on('GET', '/__sandbox/stripe/authenticate/{id}', authenticate);
  router.on('POST', '/__sandbox/stripe/authenticate/{id}', authenticate);

  router.on('POST', '/__sandbox/stripe/payment_intents/{id}/status', (req) => {
    const intent = state.intents.get(req.params.id ?? '');
    if (!intent) return json(404, { error: 'no such payment_intent' });
    const body = moveSchema.safeParse(readJson(req));
    if (!body.success) return json(400, { error: 'invalid body', issues: body.error.issues });
    move(state, intent, body.data.status, body.data.decline_code);
    return json(200, intent);
  });

  router.on('POST', '/__sandbox/stripe/disputes', (req) => {
    const body = openDisputeSchema.safeParse(readJson(req));
    if (!body.success) return json(400, { error: 'invalid body', issues: body.error.issues });
    const intent = state.intents.get(body.data.payment_intent);
    const charge = intent?.latest_charge ? state.charges.get(intent.latest_charge) : undefined;
    if (!charge || charge.status !== 'succeeded')
      return json(409, { error: 'payment_intent has no successful charge' });
    const dispute = openDispute(state, charge, {
      ...(body.data.amount === undefined ? {} : { amount: body.data.amount }),
      reason: body.data.reason,
      status: body.data.status,
    });
    return json(200, dispute);
  });

  router.on('POST', '/__sandbox/stripe/disputes/{id}/status', (req) => {
    const dispute = state.disputes.get(req.params.id ?? '');
    if (!dispute) return json(404, { error: 'no such dispute' });
    const body = disputeStatusSchema.safeParse(readJson(req));
    if (!body.success) return json(400, { error: 'invalid body', issues: body.error.issues });
    dispute.status = body.data.status;
    return json(200, dispute);
  });

  router.on('POST', '/__sandbox/stripe/clock', (req) => {
    const body = clockSchema.safeParse(readJson(req));
    if (!body.success) return json(400, { error: 'invalid body', issues: body.error.issues });
    state.advance(body.data.advanceSeconds);
    return json(200, { now: new Date(state.now()).toISOString() });
  });

  router.on('GET', '/__sandbox/stripe/requests', () => json(200, { requests: state.seen }));
}

/** Moves a PaymentIntent the way Stripe would after an out-of-band event (for webhook work). */
export function move(
  state: StripeState,
  intent: SbIntent,
  status: z.infer<typeof moveSchema>['status'],
  declineCode?: string,
): void {
  const card =
    (intent.payment_method && state.paymentMethods.get(intent.payment_method)) || testCard('pm_card_visa');
  if (!card) throw new Error('the sandbox has no pm_card_visa');
  switch (status) {
    case 'processing':
      intent.status = 'processing';
      return;
    case 'succeeded':
      settle(state, intent, card);
      return;
    case 'requires_payment_method':
      decline(state, intent, card, declineCode ?? card.declineCode ?? 'generic_decline');
      return;
    case 'canceled':
      cancelIntent(state, intent, null);
      return;
  }
}
