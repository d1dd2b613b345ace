/** A partner webhook event once verified: what the inbox stores and the worker acts on. */

/** The resource an event is about; the worker fetches its current state from the partner. */
export interface WebhookResource {
  /** `dispute`: a chargeback or inquiry, pulled from the partner and linked to its payment. */
  kind: 'payment' | 'item' | 'dispute';
  /** The partner's own id of the resource. */
  partnerId: string;
}

/** A partner event after verification, in canonical form. Thin: it never carries a status to trust. */
export interface CanonicalWebhookEvent {
  partnerEventId: string;
  /** The partner's event type, e.g. `payment_intent.succeeded`. */
  type: string;
  /** Null for event types Tributary does not act on (stored and marked ignored). */
  resource: WebhookResource | null;
  /** When the partner says the event happened, if it says. */
  occurredAt: Date | null;
}
