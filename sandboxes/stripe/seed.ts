/**
 * The deterministic seed: a Stripe customer for each demo subject (cust_alice, cust_bob) tagged with
 * `metadata[tributary_subject]`, and past PaymentIntents of each in different states: succeeded,
 * canceled, fresh, declined, partially and fully refunded, disputed (open and lost), one in JPY.
 * Same ids and timestamps on every start; nothing here is recorded in the ledger.
 */
import { testCard, type CardBehaviour } from './cards.js';
import { applyRefund } from './resources.js';
import { cancelIntent, decline, settle } from './intents.js';
import { customerObject, intentObject } from './objects.js';
import { disputeObject, refundObject } from './reversals.js';
import type { DisputeStatus, SbIntent, StripeState } from './state.js';

/** Same base date as the other sandboxes' seeds, so demo data lines up across partners. */
export const SEED_BASE_DATE = new Date('2025-03-14T12:00:00Z');

/** The seeded Stripe customer of each demo subject. */
export const SEEDED_CUSTOMERS = Object.freeze({
  cust_alice: 'cus_TribAlice00001',
  cust_bob: 'cus_TribBob0000001',
} as const);

type Outcome =
  | { kind: 'fresh' }
  | { kind: 'succeeded'; refunds?: number[]; dispute?: DisputeStatus }
  | { kind: 'canceled' }
  | { kind: 'declined'; card: string };

interface SeedPayment {
  id: string;
  subject: keyof typeof SEEDED_CUSTOMERS;
  daysAgo: number;
  amount: number;
  currency: string;
  description: string;
  outcome: Outcome;
}

/** The seeded PaymentIntents, by id. */
export const SEED_PAYMENTS: readonly SeedPayment[] = [
  {
    id: 'pi_SeedAliceSucceeded0001',
    subject: 'cust_alice',
    daysAgo: 20,
    amount: 2500,
    currency: 'gbp',
    description: 'Order 1001',
    outcome: { kind: 'succeeded' },
  },
  {
    id: 'pi_SeedAliceCanceled00001',
    subject: 'cust_alice',
    daysAgo: 15,
    amount: 1200,
    currency: 'gbp',
    description: 'Order 1002',
    outcome: { kind: 'canceled' },
  },
  {
    id: 'pi_SeedAliceFresh00000001',
    subject: 'cust_alice',
    daysAgo: 2,
    amount: 4999,
    currency: 'gbp',
    description: 'Order 1003',
    outcome: { kind: 'fresh' },
  },
  {
    id: 'pi_SeedAlicePartRefund001',
    subject: 'cust_alice',
    daysAgo: 10,
    amount: 8000,
    currency: 'gbp',
    description: 'Order 1004',
    outcome: { kind: 'succeeded', refunds: [3000] },
  },
  {
    id: 'pi_SeedAliceDisputed00001',
    subject: 'cust_alice',
    daysAgo: 30,
    amount: 15000,
    currency: 'gbp',
    description: 'Order 1005',
    outcome: { kind: 'succeeded', dispute: 'needs_response' },
  },
  {
    id: 'pi_SeedAliceYen000000001',
    subject: 'cust_alice',
    daysAgo: 5,
    amount: 5000,
    currency: 'jpy',
    description: 'Order 1006',
    outcome: { kind: 'succeeded' },
  },
  {
    id: 'pi_SeedBobSucceeded000001',
    subject: 'cust_bob',
    daysAgo: 12,
    amount: 4200,
    currency: 'eur',
    description: 'Order 2001',
    outcome: { kind: 'succeeded' },
  },
  {
    id: 'pi_SeedBobDeclined0000001',
    subject: 'cust_bob',
    daysAgo: 8,
    amount: 990,
    currency: 'eur',
    description: 'Order 2002',
    outcome: { kind: 'declined', card: 'pm_card_chargeDeclinedInsufficientFunds' },
  },
  {
    id: 'pi_SeedBobRefunded0000001',
    subject: 'cust_bob',
    daysAgo: 25,
    amount: 3000,
    currency: 'eur',
    description: 'Order 2003',
    outcome: { kind: 'succeeded', refunds: [1000, 2000] },
  },
  {
    id: 'pi_SeedBobDisputeLost0001',
    subject: 'cust_bob',
    daysAgo: 40,
    amount: 7500,
    currency: 'eur',
    description: 'Order 2004',
    outcome: { kind: 'succeeded', dispute: 'lost' },
  },
];

const DAY = 86_400_000;
const HOUR = 3_600_000;

/** Fills an empty state with the seed. */
export function seed(state: StripeState): void {
  state.seedAt(new Date(SEED_BASE_DATE.getTime() - 60 * DAY), () => {
    for (const [subject, id] of Object.entries(SEEDED_CUSTOMERS)) {
      const name = subject.replace('cust_', '');
      const customer = customerObject({
        id,
        created: state.nowSeconds(),
        email: `${name}@example.com`,
        name: `${name[0]?.toUpperCase() ?? ''}${name.slice(1)} Example`,
        description: null,
        metadata: { tributary_subject: subject },
      });
      state.customers.set(id, customer);
      state.track(id);
    }
  });
  for (const payment of [...SEED_PAYMENTS].sort((a, b) => b.daysAgo - a.daysAgo)) seedPayment(state, payment);
}

function seedPayment(state: StripeState, seedPayment: SeedPayment): void {
  const created = new Date(SEED_BASE_DATE.getTime() - seedPayment.daysAgo * DAY);
  let intent: SbIntent | undefined;
  state.seedAt(created, () => {
    const card = requireCard(
      seedPayment.outcome.kind === 'declined' ? seedPayment.outcome.card : 'pm_card_visa',
    );
    intent = intentObject({
      id: seedPayment.id,
      created: state.nowSeconds(),
      amount: seedPayment.amount,
      currency: seedPayment.currency,
      customer: SEEDED_CUSTOMERS[seedPayment.subject],
      description: seedPayment.description,
      metadata: { tributary_subject: seedPayment.subject },
      captureMethod: 'automatic',
      paymentMethod: null,
    });
    state.intents.set(intent.id, intent);
    state.track(intent.id);
    if (seedPayment.outcome.kind === 'fresh') return;
    const pm = state.newId('pm');
    state.paymentMethods.set(pm, card);
    intent.payment_method = pm;
    if (seedPayment.outcome.kind === 'declined') decline(state, intent, card);
    else if (seedPayment.outcome.kind === 'canceled') intent.status = 'requires_confirmation';
    else settle(state, intent, card);
  });
  if (!intent) return;
  const seeded = intent;
  const outcome = seedPayment.outcome;
  if (outcome.kind === 'canceled') {
    state.seedAt(new Date(created.getTime() + 2 * HOUR), () =>
      cancelIntent(state, seeded, 'requested_by_customer'),
    );
  }
  if (outcome.kind !== 'succeeded') return;
  const charge = seeded.latest_charge ? state.charges.get(seeded.latest_charge) : undefined;
  if (!charge) return;
  outcome.refunds?.forEach((amount, index) => {
    state.seedAt(new Date(created.getTime() + (index + 1) * DAY), () => {
      const refund = refundObject({
        id: state.newId('re'),
        created: state.nowSeconds(),
        amount,
        charge,
        reason: 'requested_by_customer',
        metadata: {},
      });
      applyRefund(state, charge, refund);
    });
  });
  if (outcome.dispute) {
    const status = outcome.dispute;
    state.seedAt(new Date(created.getTime() + 3 * DAY), () => {
      const dispute = disputeObject({
        id: state.newId('dp'),
        created: state.nowSeconds(),
        amount: charge.amount,
        charge,
        reason: 'fraudulent',
        status,
      });
      state.disputes.set(dispute.id, dispute);
      state.track(dispute.id);
      charge.disputed = true;
    });
  }
}

function requireCard(token: string): CardBehaviour {
  const card = testCard(token);
  if (!card) throw new Error(`unknown seed card ${token}`);
  return card;
}
