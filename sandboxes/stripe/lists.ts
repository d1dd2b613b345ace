/**
 * Stripe's list endpoints (https://docs.stripe.com/api/pagination): newest first, `limit` 1..100
 * (default 10), cursors `starting_after` / `ending_before` naming an object id, and the envelope
 * `{ object: "list", data, has_more, url }`. Expansion of `latest_charge` (and `data.latest_charge`).
 */
import { invalidRequest, resourceMissing } from './errors.js';
import { optionalInteger, optionalString, stringArray, type FormParams } from './form.js';
import { listObject } from './objects.js';
import type { SbIntent, StripeState } from './state.js';

/** One page of `items` (already filtered) in Stripe's order and envelope. */
export function page<T extends { id: string; created: number }>(
  state: StripeState,
  params: FormParams,
  url: string,
  kind: string,
  items: T[],
  serve: (item: T) => unknown = (item) => item,
) {
  const limit = optionalInteger(params, 'limit') ?? 10;
  if (limit < 1 || limit > 100) {
    throw invalidRequest(
      'This value must be greater than or equal to 1 and less than or equal to 100.',
      'limit',
    );
  }
  const after = optionalString(params, 'starting_after');
  const before = optionalString(params, 'ending_before');
  if (after && before)
    throw invalidRequest('You may only specify one of these parameters: starting_after, ending_before.');
  const sorted = [...items].sort(state.compare);
  let start = 0;
  let end = sorted.length;
  if (after) {
    const index = sorted.findIndex((item) => item.id === after);
    if (index < 0) throw resourceMissing(kind, after, 'starting_after');
    start = index + 1;
  } else if (before) {
    const index = sorted.findIndex((item) => item.id === before);
    if (index < 0) throw resourceMissing(kind, before, 'ending_before');
    end = index;
    start = Math.max(0, end - limit);
  }
  const data = sorted.slice(start, Math.min(end, start + limit));
  const hasMore = before ? start > 0 : start + limit < end;
  return listObject(url, data.map(serve), hasMore);
}

/** The expansions requested, checked against what the endpoint can expand. */
export function expansions(params: FormParams, allowed: readonly string[]): Set<string> {
  const requested = stringArray(params, 'expand');
  for (const path of requested) {
    if (!allowed.includes(path))
      throw invalidRequest(`This property cannot be expanded (${path}).`, 'expand');
  }
  return new Set(requested);
}

/** A PaymentIntent as served: a copy, with `latest_charge` expanded when asked. */
export function serveIntent(state: StripeState, intent: SbIntent, expandCharge: boolean): unknown {
  const copy: Record<string, unknown> = structuredClone(intent);
  if (expandCharge && intent.latest_charge) {
    copy.latest_charge = structuredClone(state.charges.get(intent.latest_charge) ?? null);
  }
  return copy;
}
