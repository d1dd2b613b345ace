/**
 * Delivers Stripe events to an app's webhook route as Stripe would: the raw JSON body signed with the
 * development endpoint secret (`stripe-signature`, the current time).
 */
import { signStripePayload } from '../../datasources/stripe/webhook.js';
import type { App } from '../../server/app.js';
import { DEV_WEBHOOK_SECRETS } from './webhook-secrets.js';

/** Posts one signed `customer.created` event per id to POST /webhooks/stripe, in order. */
export async function deliverStripeEvents(app: App, ids: readonly string[]): Promise<void> {
  for (const id of ids) {
    const body = JSON.stringify({ id, type: 'customer.created', data: { object: { id: 'cus_1' } } });
    const answer = await app.fastify.inject({
      method: 'POST',
      url: '/webhooks/stripe',
      headers: {
        'content-type': 'application/json',
        'stripe-signature': signStripePayload(
          body,
          [DEV_WEBHOOK_SECRETS.stripe],
          Math.floor(Date.now() / 1000),
        ),
      },
      payload: body,
    });
    if (answer.statusCode !== 200) throw new Error(`the event ${id} was refused: ${answer.body}`);
  }
}
