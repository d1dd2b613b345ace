/**
 * The canonical model: what every partner is mapped into, and what resolvers return.
 *
 * Partner wire shapes never leave their folder; these types are the only shapes the rest of the
 * process sees. Money is always integer minor units plus an ISO 4217 code (see money.ts).
 */
import type { Money } from './money.js';

export type { Money } from './money.js';

/**
 * A partner's name: lower case letters and digits (`openbanking`). The partners themselves are the
 * module list's business (datasources/modules.ts); the domain knows only the shape of a name.
 */
export type ProviderName = string;

/** Whether `value` has the shape of a provider name (not whether such a partner exists). */
export function isProviderName(value: string): value is ProviderName {
  return /^[a-z][a-z0-9]{0,31}$/.test(value);
}

/** Where a served value came from: the partner just now, or the last good copy. */
export interface Freshness {
  source: 'LIVE' | 'CACHED';
  asOf: Date;
  provider: ProviderName;
}

export type AccountType = 'CURRENT' | 'SAVINGS' | 'CREDIT_CARD' | 'LOAN' | 'OTHER';

export interface Account {
  /** Opaque global id (ids.ts), carries the provider. */
  id: string;
  provider: ProviderName;
  /** The partner's own id for the account. */
  partnerId: string;
  /** The subject (customer) who owns this account. */
  ownerId: string;
  name: string;
  type: AccountType;
  currency: string;
  /** Last four characters of the account number or PAN, never more. */
  maskedNumber: string | null;
  freshness: Freshness;
}

export interface Balance {
  accountId: string;
  current: Money;
  available: Money | null;
  asOf: Date;
  freshness: Freshness;
}

export type TransactionStatus = 'PENDING' | 'BOOKED' | 'REVERSED';

export interface Transaction {
  id: string;
  provider: ProviderName;
  partnerId: string;
  ownerId: string;
  accountId: string;
  /** Negative = money out of the account. */
  amount: Money;
  status: TransactionStatus;
  description: string;
  merchantName: string | null;
  bookedAt: Date;
  valueDate: Date | null;
  category: string | null;
  /** When the partner produced this copy of the transaction, and whether it was read live. */
  freshness: Freshness;
}

export type PaymentStatus =
  | 'PENDING'
  | 'REQUIRES_ACTION'
  | 'PROCESSING'
  | 'AUTHORISED'
  | 'SETTLED'
  | 'FAILED'
  | 'CANCELLED'
  | 'REFUNDED'
  | 'PARTIALLY_REFUNDED';

export interface Creditor {
  name: string;
  sortCode: string | null;
  /** Masked to the last four digits before it leaves the process. */
  accountNumber: string | null;
  iban: string | null;
}

export interface PaymentEvent {
  status: PaymentStatus;
  at: Date;
  source: 'API' | 'WEBHOOK' | 'RECONCILIATION' | 'OPERATOR';
  detail: string | null;
}

export interface Refund {
  id: string;
  amount: Money;
  status: 'PENDING' | 'SUCCEEDED' | 'FAILED' | 'CANCELLED';
  createdAt: Date;
}

/**
 * What the customer must do for a payment to go on: REDIRECT_TO_BANK (open `url`) or THREE_D_SECURE
 * (the processor's client SDK completes it with the payment's client secret, or `url` on the web).
 */
export interface PaymentNextAction {
  type: 'REDIRECT_TO_BANK' | 'THREE_D_SECURE';
  url: string | null;
}

export interface Payment {
  id: string;
  provider: ProviderName;
  partnerId: string;
  ownerId: string;
  status: PaymentStatus;
  amount: Money;
  debtorAccountId: string | null;
  creditor: Creditor | null;
  reference: string;
  createdAt: Date;
  updatedAt: Date;
  /** A PaymentFailureCode (DECLINED, INSUFFICIENT_FUNDS, ...) when FAILED; the graph adds the words. */
  failureReason: string | null;
  nextAction: PaymentNextAction | null;
  events: PaymentEvent[];
  refunds: Refund[];
  /** How a card payment was routed: the rule, the processors it allowed and every attempt; null otherwise. */
  route?: PaymentRoute | null;
}

/**
 * The routing decision of a card payment: the rule that matched, its processors in the order they were
 * tried, and each attempt. At most one attempt is CREATED: failover happens only when the processor
 * cannot have moved money (FAILED_OVER), never after an answer that may hide a created payment.
 */
export interface PaymentRoute {
  rule: string;
  candidates: ProviderName[];
  attempts: PaymentAttempt[];
}

export interface PaymentAttempt {
  processor: ProviderName;
  outcome: 'CREATED' | 'DECLINED' | 'FAILED_OVER';
  /** Why the attempt failed over ('breaker open', 'connection refused', 'HTTP 503'); null otherwise. */
  reason: string | null;
  at: Date;
}

/**
 * Why the cardholder disputes a payment: one set for every processor, covering Stripe's dispute
 * reasons and Adyen's chargeback reason families (fraud, authorisation, processing error, consumer
 * dispute). Each partner maps its own values totally in its mapper.
 */
export type DisputeReason =
  | 'FRAUDULENT'
  | 'UNRECOGNIZED'
  | 'DUPLICATE'
  | 'PRODUCT_NOT_RECEIVED'
  | 'PRODUCT_UNACCEPTABLE'
  | 'SUBSCRIPTION_CANCELED'
  | 'CREDIT_NOT_PROCESSED'
  | 'AUTHORISATION'
  | 'PROCESSING_ERROR'
  | 'GENERAL'
  | 'OTHER';

/**
 * Where a dispute is: the merchant must answer (NEEDS_RESPONSE) or has answered (UNDER_REVIEW); the
 * card network decided for the merchant (WON) or the cardholder (LOST, accepting a dispute included);
 * or it ended without a decision (CLOSED: an inquiry closed, a dispute prevented).
 */
export type DisputeStatus = 'NEEDS_RESPONSE' | 'UNDER_REVIEW' | 'WON' | 'LOST' | 'CLOSED';

/** A dispute (chargeback or inquiry) against a card payment, as the partner holds it. */
export interface Dispute {
  /** The partner's own id of the dispute (`dp_...`), like a refund's. */
  id: string;
  provider: ProviderName;
  /** The partner's reference of the dispute (the same as `id` today). */
  partnerId: string;
  /** The partner's id of the disputed payment; it links the dispute to the ledger. Null: none named. */
  partnerPaymentId: string | null;
  /** The disputed amount, positive. */
  amount: Money;
  reason: DisputeReason;
  status: DisputeStatus;
  /** Until when the merchant can submit evidence; null when no response is expected. */
  evidenceDueBy: Date | null;
  openedAt: Date;
  /**
   * When this state was current: the partner's own update time where it reports one, else the time
   * the partner was asked (a Stripe Dispute has no update time). Stores apply a dispute only when this
   * is newer than what they hold, so late or out-of-order reads never move it back.
   */
  updatedAt: Date;
}

/**
 * AWAITING_AUTHORISATION: granted by the app, waiting for the customer at the partner; REJECTED: the
 * customer (or the partner) said no. Only ACTIVE consents reach partners.
 */
export type ConsentStatus = 'AWAITING_AUTHORISATION' | 'ACTIVE' | 'REJECTED' | 'EXPIRED' | 'REVOKED';

export interface Consent {
  id: string;
  subject: string;
  provider: ProviderName;
  permissions: string[];
  status: ConsentStatus;
  /** When the grant started. */
  grantedAt: Date;
  /** When the customer approved at the partner; null until then. */
  authorisedAt: Date | null;
  expiresAt: Date | null;
  revokedAt: Date | null;
}

/** A page of a Relay connection, produced by the data layer before it reaches the graph. */
export interface Page<T> {
  nodes: T[];
  hasNextPage: boolean;
  hasPreviousPage: boolean;
  /** Cursor of each node, same order as nodes. */
  cursors: string[];
}
