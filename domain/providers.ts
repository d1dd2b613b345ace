/**
 * Provider contracts, split by capability. A partner implements the capabilities it has; an
 * operation a partner cannot do throws NotSupportedError and never returns empty data.
 *
 * Every method receives a CallContext: the subject the call is made for, so a provider can only ever
 * see one customer's data per call, and the correlation id passed on to the partner.
 */
import type { Logger } from 'pino';
import type { Account, Balance, Dispute, Payment, ProviderName, Transaction } from './model.js';
import type { Money } from './money.js';

export interface CallContext {
  /** The customer the call is made for (JWT `sub`). */
  subject: string;
  /** Passed to partners (x-fapi-interaction-id, x-request-id) and into every log line. */
  correlationId: string;
  logger: Logger;
  signal?: AbortSignal;
  /**
   * The request's own view of the credential store (a ConsentSnapshot's: one read per provider per
   * request). Providers read and save credentials through `credentialsFor(ctx, fallback)`: this store
   * when the call carries one, the process-wide store otherwise (payments, webhooks, seeding).
   */
  credentials?: CredentialStore;
  /**
   * The oldest cached partner data this call accepts instead of asking the partner, in seconds; 0:
   * live data only. Absent: the configured maximum age of each resource kind.
   */
  maxAgeSeconds?: number;
}

/**
 * The credential store a provider call reads a subject's credential from and saves refreshed tokens
 * through: the call's own (`ctx.credentials`), else `fallback`, the process-wide store the provider
 * was built with.
 */
export function credentialsFor(
  ctx: Pick<CallContext, 'credentials'>,
  fallback: CredentialStore,
): CredentialStore {
  return ctx.credentials ?? fallback;
}

/** A subject's credentials at a partner, decrypted for the duration of a call. */
export interface PartnerCredential {
  subject: string;
  provider: ProviderName;
  /** The partner's handle for the link: Open Banking consent id, Plaid item id. */
  externalRef: string;
  accessToken: string;
  refreshToken: string | null;
  expiresAt: Date | null;
}

/** Where providers find a subject's partner credentials (backed by the encrypted consents store). */
export interface CredentialStore {
  /** The subject's active credential with the partner, or null when there is none. */
  get(subject: string, provider: ProviderName): Promise<PartnerCredential | null>;
  /** Saves refreshed tokens for an existing link. */
  update(credential: PartnerCredential): Promise<void>;
  /**
   * Runs `fn` holding the refresh lock of one link (subject, provider and the partner's handle), one
   * holder at a time across every process sharing the store, and hands it the link's credential as
   * stored now, read under the lock (null when the link is no longer active). The credential `fn`
   * returns is saved under the same lock, unless it is the very object handed in, and is returned.
   * A partner that rotates refresh tokens is refreshed through here: a caller that waited sees the
   * tokens another one (another replica) has just rotated, and uses them instead of refreshing again.
   * `fn` must not use the store itself: the lock is not re-entrant.
   */
  refreshing(
    subject: string,
    provider: ProviderName,
    externalRef: string,
    fn: (current: PartnerCredential | null) => Promise<PartnerCredential>,
  ): Promise<PartnerCredential>;
}

export interface TransactionQuery {
  /** Inclusive lower bound on booking time. */
  from?: Date;
  /** Inclusive upper bound on booking time. */
  to?: Date;
}

/** Accounts, balances and transactions of one subject. */
export interface AccountsProvider {
  readonly name: ProviderName;
  /** Every account the subject holds at the partner, in one bulk call where the partner has one. */
  listAccounts(ctx: CallContext): Promise<Account[]>;
  /**
   * Balances of the given accounts (partner ids), in one bulk call where the partner has one.
   * Accounts the subject does not hold are absent from the result.
   */
  getBalances(ctx: CallContext, partnerAccountIds: readonly string[]): Promise<Map<string, Balance>>;
  /**
   * Transactions of the given accounts (partner ids), newest first, in as few calls as the partner
   * allows. Accounts the subject does not hold contribute nothing.
   */
  listTransactions(
    ctx: CallContext,
    partnerAccountIds: readonly string[],
    query: TransactionQuery,
  ): Promise<Transaction[]>;
  /**
   * The partner ids of the subject's accounts as last listed, without asking the partner; null when
   * nothing is held. A hint only, never served as data: reads of balances and transactions start
   * with it while the listing itself is still on its way (no waterfall), and their answers are used
   * only for accounts the fresh listing confirms.
   */
  knownAccountIds?(ctx: CallContext): readonly string[] | null;
}

export interface CreatePaymentRequest {
  amount: Money;
  reference: string;
  /** Partner id of the debtor account (bank payments). */
  debtorPartnerAccountId: string | null;
  /** Card payment method (card payments). */
  paymentMethodId: string | null;
  creditor: {
    name: string;
    sortCode: string | null;
    accountNumber: string | null;
    iban: string | null;
  } | null;
  /** Derived from the client's idempotency key; the same on every retry of one logical payment. */
  partnerIdempotencyKey: string;
}

/** One payment as a partner's own list shows it (reconciliation looks for ones the ledger lacks). */
export interface ListedPayment {
  partnerId: string;
  amount: Money;
  /** The partner's own status word (it is reported, never applied). */
  partnerStatus: string;
  createdAt: Date;
}

/**
 * What the processor's client SDK returned when the customer finished authentication, name to value
 * (Adyen's `details`: `threeDSResult`, `redirectResult`, ...), validated but otherwise opaque.
 */
export type AuthenticationResult = Readonly<Record<string, string>>;

/** Card schemes as routing names them (Stripe's brand names, which Adyen's brand codes map onto). */
export const CARD_SCHEMES = [
  'visa',
  'mastercard',
  'amex',
  'discover',
  'diners',
  'jcb',
  'unionpay',
  'cartes_bancaires',
  'eftpos_au',
] as const;
export type CardScheme = (typeof CARD_SCHEMES)[number];

/** What a processor knows of a card payment method, for routing; null fields are unknown. */
export interface CardFacts {
  scheme: CardScheme | null;
  /** The issuing country, ISO 3166-1 alpha-2. */
  country: string | null;
}

/** Money movement. Every write carries a partner idempotency key. */
export interface PaymentsProvider {
  readonly name: ProviderName;
  createPayment(ctx: CallContext, request: CreatePaymentRequest): Promise<Payment>;
  /** Payments by partner id; ids the subject does not own are absent. */
  getPayments(ctx: CallContext, partnerPaymentIds: readonly string[]): Promise<Map<string, Payment>>;
  cancelPayment(ctx: CallContext, partnerPaymentId: string, partnerIdempotencyKey: string): Promise<Payment>;
  refundPayment(
    ctx: CallContext,
    partnerPaymentId: string,
    amount: Money | null,
    partnerIdempotencyKey: string,
  ): Promise<Payment>;
  /**
   * Finishes a payment the customer authenticated (3-D Secure): the processor confirms it server-side.
   * `authentication` is what the processor's client SDK returned to the app, for a processor that
   * takes it (`takesAuthenticationResult`); without it, a payment still waiting for the customer is
   * returned as it is. Absent when the partner completes payments without a server-side step (a
   * bank's redirect).
   */
  confirmPayment?(
    ctx: CallContext,
    partnerPaymentId: string,
    partnerIdempotencyKey: string,
    authentication?: AuthenticationResult | null,
  ): Promise<Payment>;
  /**
   * The scheme and issuing country of a card payment method, when the id is this processor's (read for
   * routing, before the payment is created); null when it is not, or not a card.
   */
  describeCard?(ctx: CallContext, paymentMethodId: string): Promise<CardFacts | null>;
  /**
   * True when the shopper's authentication result reaches the processor through Tributary (Adyen's
   * /payments/details); absent when the processor's client SDK completes it itself (Stripe).
   */
  readonly takesAuthenticationResult?: boolean;
  /**
   * The secret the processor's client SDK needs to complete the payment's next action (Stripe's
   * PaymentIntent client secret); null when the payment needs none. Read when asked, never stored.
   */
  clientSecretOf?(ctx: CallContext, partnerPaymentId: string): Promise<string | null>;
  /**
   * Every payment the partner holds for this platform created at or after `since` (all when null),
   * newest first, paging through the partner's list `pageSize` at a time. For reconciliation only:
   * it spans customers, so its answer names no customer. Absent when the partner has no such list.
   */
  listPlatformPayments?(
    ctx: CallContext,
    query: { since: Date | null; pageSize: number },
  ): AsyncIterable<ListedPayment>;
  /**
   * One dispute (chargeback or inquiry) as the partner holds it now, by the partner's dispute id;
   * null when the partner has no such dispute. A platform read, like `listPlatformPayments`: the
   * answer names the disputed payment (`partnerPaymentId`), and the ledger names its owner. Webhooks
   * about disputes pull through it. Absent when the partner has no disputes to read.
   */
  getDispute?(ctx: CallContext, partnerDisputeId: string): Promise<Dispute | null>;
}

/** A customer linked to a partner without a browser; only sandboxes offer this. */
export interface SandboxLink {
  externalRef: string;
  accessToken: string;
  refreshToken: string | null;
  tokenExpiresAt: Date | null;
  /** Canonical permissions granted (`accounts:read`, `balances:read`, ...). */
  permissions: string[];
  /** When the consent itself lapses. */
  expiresAt: Date | null;
}

/** What a grant asks the partner for. */
export interface ConsentRequest {
  /** Canonical permissions (`accounts:read`, `balances:read`, `transactions:read`). */
  permissions: readonly string[];
  /** When the consent should lapse; null: the partner's default. */
  expiresAt: Date | null;
  /** The OAuth `state`: opaque, unguessable, handed back with the customer's answer. */
  state: string;
  /** RFC 7636 S256 challenge of the verifier Tributary keeps until the grant completes. */
  codeChallenge: string;
  /** Where the partner sends the customer back (Tributary's callback, or the app's own redirect). */
  redirectUri: string;
  /** A pseudonymous id of the customer for partners that want one (Plaid's client_user_id). */
  customerRef: string;
}

/** A grant started at the partner: what the customer must be sent to. */
export interface ConsentStarted {
  /** The partner's handle of the pending grant (Open Banking ConsentId, Plaid link token). */
  partnerRef: string;
  /** Where to send the customer's browser (the bank's authorisation page); null when the app opens the partner's own UI. */
  authorisationUrl: string | null;
  /** The token the app opens the partner's UI with (Plaid Link); null otherwise. */
  linkToken: string | null;
  /** Until when the customer can answer. */
  answerBy: Date | null;
  /** The canonical permissions the partner will grant. */
  permissions: string[];
  /** When the consent lapses once authorised, as the partner recorded it. */
  expiresAt: Date | null;
}

/** The customer approved: what completing a grant stores. */
export interface ConsentCompleted {
  /** The link's handle from now on (the same ConsentId; Plaid's item id). */
  partnerRef: string;
  accessToken: string;
  refreshToken: string | null;
  tokenExpiresAt: Date | null;
}

/** A partner's side of the consent lifecycle (DESIGN §12). */
export interface ConsentsProvider {
  readonly name: ProviderName;
  /** Creates the grant at the partner and says where the customer approves it. */
  start(ctx: CallContext, request: ConsentRequest): Promise<ConsentStarted>;
  /**
   * Exchanges the customer's answer (the authorisation code, Plaid's public token) for the link's
   * credentials. InputError when the partner refuses the code (expired, used, not for this grant).
   */
  complete(
    ctx: CallContext,
    pending: { partnerRef: string; codeVerifier: string; redirectUri: string },
    code: string,
  ): Promise<ConsentCompleted>;
  /**
   * Deletes the link at the partner. A link the partner no longer knows counts as deleted; any other
   * failure rejects, and the caller retries later.
   */
  revoke(ctx: CallContext, link: { partnerRef: string; accessToken: string | null }): Promise<void>;
}

/** What a scheduled refresh of local copies did. */
export interface RefreshOutcome {
  refreshed: number;
  /** Copies dropped because their link is gone. */
  forgotten: number;
  failed: number;
}

/** What a registry entry may offer. */
export interface Provider {
  readonly name: ProviderName;
  readonly accounts?: AccountsProvider;
  readonly payments?: PaymentsProvider;
  /** Granting and revoking consents at the partner, for partners customers link to. */
  readonly consents?: ConsentsProvider;
  /**
   * Development only, against the partner's sandbox: runs the partner's consent flow with the sandbox
   * standing in for the customer's approval, and returns the resulting credential.
   */
  connectSandboxCustomer?(customerId: string): Promise<SandboxLink>;
  /**
   * Brings the partner data kept locally for the subject's link `externalRef` (Plaid: the Item's
   * transactions copy) up to date now, when a partner webhook says it changed. False when the subject's
   * active link is not that one. Partners that keep no local copy leave it out.
   */
  refreshLink?(ctx: CallContext, externalRef: string): Promise<boolean>;
  /**
   * Brings every local copy last synchronised before `before` up to date (at most `limit` links a
   * run): the schedule behind the webhooks, for changes whose notification was lost. Copies of links
   * that are gone are dropped. Partners that keep no local copy leave it out.
   */
  refreshStale?(logger: CallContext['logger'], before: Date, limit: number): Promise<RefreshOutcome>;
  /**
   * Erasure: drops everything the partner module keeps locally for the subject (Plaid: the Items'
   * transaction copies and cursors); returns how many links' data went. Partners that keep nothing
   * leave it out.
   */
  eraseSubject?(subject: string): Promise<number>;
  /**
   * Drops what this process holds in memory about the subject, when another replica erased them (its
   * `eraseSubject` already dropped what is stored). Partners that hold nothing leave it out.
   */
  forgetSubject?(subject: string): void;
  /** Releases pools and timers. */
  close(): Promise<void>;
}
