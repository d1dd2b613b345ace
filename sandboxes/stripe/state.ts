/**
 * The Stripe sandbox's account: customers, PaymentIntents, charges, refunds and disputes as Stripe
 * wire objects (served as they are stored), the payment methods behind them, and the sandbox clock.
 * Seeded objects have fixed ids; objects created at run time get random Stripe-like ids.
 */
import { randomBytes } from 'node:crypto';
import type { Ledger } from '../kit/sandbox.js';
import type { CardBehaviour } from './cards.js';

/** PaymentIntent statuses (API reference). */
export type IntentStatus =
  | 'requires_payment_method'
  | 'requires_confirmation'
  | 'requires_action'
  | 'processing'
  | 'requires_capture'
  | 'succeeded'
  | 'canceled';

/** Dispute statuses (API reference). */
export type DisputeStatus =
  | 'warning_needs_response'
  | 'warning_under_review'
  | 'warning_closed'
  | 'needs_response'
  | 'under_review'
  | 'won'
  | 'lost'
  | 'prevented';

/** Refund statuses (API reference). */
export type RefundStatus = 'pending' | 'requires_action' | 'succeeded' | 'failed' | 'canceled';

type Metadata = Record<string, string>;

/** A wire object: the fields handlers change are typed, the rest is served as built. */
export interface SbCustomer extends Record<string, unknown> {
  id: string;
  object: 'customer';
  created: number;
  metadata: Metadata;
}

/** A PaymentIntent as stored and served. */
export interface SbIntent extends Record<string, unknown> {
  id: string;
  object: 'payment_intent';
  amount: number;
  amount_received: number;
  amount_capturable: number;
  currency: string;
  customer: string | null;
  created: number;
  status: IntentStatus;
  canceled_at: number | null;
  cancellation_reason: string | null;
  capture_method: 'automatic' | 'automatic_async' | 'manual';
  description: string | null;
  last_payment_error: Record<string, unknown> | null;
  latest_charge: string | null;
  metadata: Metadata;
  next_action: Record<string, unknown> | null;
  payment_method: string | null;
}

/** A charge as stored and served. */
export interface SbCharge extends Record<string, unknown> {
  id: string;
  object: 'charge';
  amount: number;
  amount_captured: number;
  amount_refunded: number;
  currency: string;
  created: number;
  captured: boolean;
  disputed: boolean;
  paid: boolean;
  refunded: boolean;
  status: 'succeeded' | 'pending' | 'failed';
  payment_intent: string | null;
  refunds: { object: 'list'; data: SbRefund[]; has_more: boolean; url: string };
}

/** A refund as stored and served. */
export interface SbRefund extends Record<string, unknown> {
  id: string;
  object: 'refund';
  amount: number;
  charge: string | null;
  created: number;
  currency: string;
  payment_intent: string | null;
  status: RefundStatus;
}

/** A dispute as stored and served. */
export interface SbDispute extends Record<string, unknown> {
  id: string;
  object: 'dispute';
  amount: number;
  charge: string;
  created: number;
  currency: string;
  is_charge_refundable: boolean;
  payment_intent: string | null;
  status: DisputeStatus;
}

/** One request as the sandbox saw it, for tests that assert what the client sent. */
export interface SeenRequest {
  method: string;
  path: string;
  requestId: string;
  idempotencyKey: string | null;
  correlationId: string | null;
  replayed: boolean;
}

const ALPHABET = 'ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789';
const SEEN_LIMIT = 200;

/** Random Stripe-like identifier body (base62). */
export function randomToken(length: number): string {
  const bytes = randomBytes(length);
  let out = '';
  for (const byte of bytes) out += ALPHABET[byte % ALPHABET.length];
  return out;
}

/** The mutable account behind one sandbox. */
export class StripeState {
  readonly customers = new Map<string, SbCustomer>();
  readonly intents = new Map<string, SbIntent>();
  readonly charges = new Map<string, SbCharge>();
  readonly refunds = new Map<string, SbRefund>();
  readonly disputes = new Map<string, SbDispute>();
  /** Payment method id -> how the card behaves (test tokens create one per use, as Stripe does). */
  readonly paymentMethods = new Map<string, CardBehaviour>();
  readonly seen: SeenRequest[] = [];
  /** Insertion order, so lists of objects created in the same second are still newest first. */
  private readonly order = new Map<string, number>();
  private sequence = 0;
  private offsetMs = 0;
  private idCounter = 0;
  /** While seeding: a fixed time and a counter for ids, so the seed is the same on every start. */
  private seeding: { at: number; next: number } | null = null;

  constructor(
    readonly ledger: Ledger,
    private readonly clock: () => number,
  ) {}

  /** Sandbox time in epoch ms (the real clock plus any advance). */
  now(): number {
    return this.seeding?.at ?? this.clock() + this.offsetMs;
  }

  /** Sandbox time in epoch seconds, the unit of Stripe's `created`. */
  nowSeconds(): number {
    return Math.floor(this.now() / 1000);
  }

  advance(seconds: number): void {
    this.offsetMs += seconds * 1000;
  }

  newId(prefix: string): string {
    if (this.seeding) return `${prefix}_Seed${String(++this.seeding.next).padStart(20, '0')}`;
    return `${prefix}_${randomToken(24)}`;
  }

  /** Runs `build` at a fixed time with deterministic ids (the seed). */
  seedAt(at: Date, build: () => void): void {
    const seeding = { at: at.getTime(), next: this.idCounter };
    this.seeding = seeding;
    try {
      build();
    } finally {
      this.idCounter = seeding.next;
      this.seeding = null;
    }
  }

  /** Registers an object so it sorts after everything registered before it. */
  track(id: string): void {
    this.order.set(id, ++this.sequence);
  }

  /** Newest first: created descending, then insertion order descending. */
  compare = (a: { id: string; created: number }, b: { id: string; created: number }): number =>
    b.created - a.created || (this.order.get(b.id) ?? 0) - (this.order.get(a.id) ?? 0);

  remember(request: SeenRequest): void {
    this.seen.push(request);
    if (this.seen.length > SEEN_LIMIT) this.seen.shift();
  }

  clear(): void {
    for (const map of [this.customers, this.intents, this.charges, this.refunds, this.disputes]) map.clear();
    this.paymentMethods.clear();
    this.order.clear();
    this.seen.length = 0;
    this.sequence = 0;
    this.idCounter = 0;
  }
}
