/**
 * Card payments at Stripe as a PaymentsProvider. A subject's payments are the PaymentIntents of the
 * Stripe customer linked to them (the credential's externalRef) that also carry their subject in
 * metadata; both must match before anything about a payment is read further, changed or returned,
 * so one subject can never see or move another's payment (it looks absent, as if unknown).
 */
import type { Dispute, Payment } from '../../domain/model.js';
import type { Money } from '../../domain/money.js';
import { eachLimited } from '../../domain/concurrency.js';
import {
  credentialsFor,
  type CallContext,
  type CardFacts,
  type CreatePaymentRequest,
  type CredentialStore,
  type ListedPayment,
  type PaymentsProvider,
} from '../../domain/providers.js';
import { ConsentRequiredError, InputError, NotFoundError, NotSupportedError } from '../../domain/errors.js';
import type { StripeCall, StripeClient } from './client.js';
import { contractViolation } from '../contract.js';
import { decode, StripeDeclineError, type PaymentDeclined } from './errors.js';
import {
  amountOf,
  cardSchemeOf,
  chargeOf,
  CREDITOR_KEY,
  mapDispute,
  mapPayment,
  ownerOf,
  SUBJECT_KEY,
  type PaymentBundle,
} from './mapper.js';
import { idOf, paymentIntentSchema, type WirePaymentIntent } from './types.js';
import { mismatches, stripeAmount } from './checks.js';

/** What creating a card payment ended in: a payment, or a payment the card issuer declined. */
export type CardPaymentOutcome =
  { ok: true; payment: Payment } | { ok: false; payment: Payment; declined: PaymentDeclined };

/** One page of a subject's Stripe payments; `endCursor` feeds `startingAfter`. */
export interface StripePaymentPage {
  payments: Payment[];
  hasMore: boolean;
  endCursor: string | null;
}

const PAYMENT_ID = /^pi_[A-Za-z0-9]{1,250}$/;
const DISPUTE_ID = /^dp_[A-Za-z0-9]{1,250}$/;
const PAYMENT_METHOD_ID = /^pm_[A-Za-z0-9_]{1,250}$/;
const CANCELABLE = new Set([
  'requires_payment_method',
  'requires_capture',
  'requires_confirmation',
  'requires_action',
  'processing',
]);
const READ_CONCURRENCY = 4;

/** The PaymentsProvider of Stripe, plus createCardPayment and listPayments. */
export class StripePayments implements PaymentsProvider {
  readonly name = 'stripe' as const;

  constructor(
    private readonly client: StripeClient,
    private readonly credentials: CredentialStore,
    private readonly returnUrl: string | null,
  ) {}

  /** Card payments only; a decline is returned as the FAILED payment (see createCardPayment). */
  async createPayment(ctx: CallContext, request: CreatePaymentRequest): Promise<Payment> {
    return (await this.createCardPayment(ctx, request)).payment;
  }

  /** Creates and confirms a PaymentIntent; a decline is an outcome, not an error. */
  async createCardPayment(ctx: CallContext, request: CreatePaymentRequest): Promise<CardPaymentOutcome> {
    if (!request.paymentMethodId) {
      if (request.debtorPartnerAccountId)
        throw new NotSupportedError('stripe', 'bank payments from a connected account');
      throw new InputError('A card payment needs a payment method.', 'paymentMethodId');
    }
    const creditor = request.creditor;
    if (creditor && (creditor.sortCode || creditor.accountNumber || creditor.iban)) {
      throw new NotSupportedError('stripe', 'paying a creditor bank account');
    }
    const customer = await this.customerFor(ctx, 'payments:write');
    const { amount, currency } = stripeAmount(request.amount);
    const call = this.call(ctx);
    const metadata: Record<string, string> = { [SUBJECT_KEY]: ctx.subject };
    if (creditor?.name) metadata[CREDITOR_KEY] = creditor.name;
    const params = {
      amount,
      currency,
      customer,
      payment_method: request.paymentMethodId,
      payment_method_types: ['card'],
      confirm: true,
      // After 3-D Secure in the app's SDK, the payment waits for confirmPayment (server-side confirmation).
      confirmation_method: 'manual' as const,
      ...(this.returnUrl ? { return_url: this.returnUrl } : {}),
      description: request.reference,
      metadata,
      expand: ['latest_charge'],
    };
    const endpoint = 'POST /v1/payment_intents';
    let intent: WirePaymentIntent;
    let declined: PaymentDeclined | null = null;
    try {
      intent = await this.client.createPaymentIntent(call, params, request.partnerIdempotencyKey);
    } catch (error) {
      if (!(error instanceof StripeDeclineError)) throw error;
      intent = decode(paymentIntentSchema, error.paymentIntent, { ...call, endpoint });
      declined = error.declined;
    }
    // Stripe answering for another amount, currency, customer or subject is not a success.
    const issues = mismatches(intent, { amount, currency, customer, subject: ctx.subject });
    if (issues.length > 0) throw violation(call, endpoint, issues);
    const payment = mapPayment({ intent, refunds: [], disputes: [] }, { ...call, endpoint });
    return declined ? { ok: false, payment, declined } : { ok: true, payment };
  }

  async getPayments(ctx: CallContext, partnerPaymentIds: readonly string[]): Promise<Map<string, Payment>> {
    const customer = await this.customerFor(ctx, 'payments:read');
    const ids = [...new Set(partnerPaymentIds)].filter((id) => PAYMENT_ID.test(id));
    const found = new Map<string, Payment>();
    await eachLimited(ids, READ_CONCURRENCY, async (id) => {
      const intent = await this.ownedIntent(ctx, customer, id).catch((error: unknown) => {
        if (error instanceof NotFoundError) return null;
        throw error;
      });
      if (intent) found.set(id, await this.load(ctx, intent));
    });
    return new Map(ids.filter((id) => found.has(id)).map((id) => [id, found.get(id) as Payment]));
  }

  async cancelPayment(
    ctx: CallContext,
    partnerPaymentId: string,
    partnerIdempotencyKey: string,
  ): Promise<Payment> {
    const customer = await this.customerFor(ctx, 'payments:write');
    const intent = await this.ownedIntent(ctx, customer, partnerPaymentId);
    // Already canceled: a retry after a lost answer, or a second click. Report the payment as it is.
    if (intent.status === 'canceled') return this.load(ctx, intent);
    if (!CANCELABLE.has(intent.status)) throw new InputError('The payment can no longer be cancelled.');
    const canceled = await this.client.cancelPaymentIntent(
      this.call(ctx),
      partnerPaymentId,
      partnerIdempotencyKey,
    );
    const issues = this.sameIntentIssues(ctx, customer, intent, canceled);
    if (canceled.status !== 'canceled') issues.push(`status: ${canceled.status} after cancel`);
    if (issues.length > 0) throw violation(ctx, 'POST /v1/payment_intents/{id}/cancel', issues);
    return this.load(ctx, canceled);
  }

  /**
   * Confirms a PaymentIntent the customer authenticated in the app (requires_confirmation). One still
   * waiting for the customer (requires_action), or already past confirmation, is reported as it is; a
   * charge the issuer declines on confirmation is the FAILED payment, as on creation.
   */
  async confirmPayment(
    ctx: CallContext,
    partnerPaymentId: string,
    partnerIdempotencyKey: string,
  ): Promise<Payment> {
    const customer = await this.customerFor(ctx, 'payments:write');
    const intent = await this.ownedIntent(ctx, customer, partnerPaymentId);
    if (intent.status !== 'requires_confirmation') return this.load(ctx, intent);
    const endpoint = 'POST /v1/payment_intents/{id}/confirm';
    const call = this.call(ctx);
    let confirmed: WirePaymentIntent;
    try {
      confirmed = await this.client.confirmPaymentIntent(call, partnerPaymentId, partnerIdempotencyKey);
    } catch (error) {
      if (!(error instanceof StripeDeclineError)) throw error;
      confirmed = decode(paymentIntentSchema, error.paymentIntent, { ...call, endpoint });
    }
    const issues = this.sameIntentIssues(ctx, customer, intent, confirmed);
    if (issues.length > 0) throw violation(call, endpoint, issues);
    return this.load(ctx, confirmed);
  }

  /** The PaymentIntent's client secret while the customer must act on it; null otherwise. */
  async clientSecretOf(ctx: CallContext, partnerPaymentId: string): Promise<string | null> {
    const customer = await this.customerFor(ctx, 'payments:write');
    const intent = await this.ownedIntent(ctx, customer, partnerPaymentId);
    return intent.status === 'requires_action' ? (intent.client_secret ?? null) : null;
  }

  /** Refunds in full (amount null) or in part; the answer is the payment with its refunds. */
  async refundPayment(
    ctx: CallContext,
    partnerPaymentId: string,
    amount: Money | null,
    partnerIdempotencyKey: string,
  ): Promise<Payment> {
    const customer = await this.customerFor(ctx, 'payments:write');
    const intent = await this.ownedIntent(ctx, customer, partnerPaymentId);
    let minor: number | undefined;
    if (amount) {
      if (amount.currency.toLowerCase() !== intent.currency) {
        throw new InputError('The refund must be in the currency of the payment.', 'amount');
      }
      minor = stripeAmount(amount).amount;
    }
    const params =
      minor === undefined
        ? { payment_intent: partnerPaymentId }
        : { payment_intent: partnerPaymentId, amount: minor };
    const call = this.call(ctx);
    const refund = await this.client.createRefund(call, params, partnerIdempotencyKey);
    const issues: string[] = [];
    if (idOf(refund.payment_intent) !== partnerPaymentId)
      issues.push(`payment_intent: not ${partnerPaymentId}`);
    if (refund.currency !== intent.currency) issues.push(`currency: not ${intent.currency}`);
    if (minor !== undefined && refund.amount !== minor)
      issues.push(`amount: ${refund.amount}, asked for ${minor}`);
    if (issues.length > 0) throw violation(call, 'POST /v1/refunds', issues);
    return this.load(ctx, await this.ownedIntent(ctx, customer, partnerPaymentId));
  }

  /** A page of the subject's payments, newest first (reconciliation, `payments` query). */
  async listPayments(
    ctx: CallContext,
    query: { limit: number; startingAfter?: string | null },
  ): Promise<StripePaymentPage> {
    if (!Number.isInteger(query.limit) || query.limit < 1 || query.limit > 100) {
      throw new InputError('limit must be between 1 and 100.', 'limit');
    }
    if (query.startingAfter && !PAYMENT_ID.test(query.startingAfter))
      throw new InputError('Unknown cursor.', 'after');
    const customer = await this.customerFor(ctx, 'payments:read');
    const page = await this.client.listPaymentIntents(this.call(ctx), {
      customer,
      limit: query.limit,
      ...(query.startingAfter ? { startingAfter: query.startingAfter } : {}),
    });
    const owned = page.data.filter((intent) => this.owns(ctx, customer, intent));
    const payments: Payment[] = [];
    await eachLimited(owned, READ_CONCURRENCY, async (intent) => {
      payments.push(await this.load(ctx, intent));
    });
    const order = new Map(owned.map((intent, index) => [intent.id, index]));
    payments.sort((a, b) => (order.get(a.partnerId) ?? 0) - (order.get(b.partnerId) ?? 0));
    return { payments, hasMore: page.has_more, endCursor: page.data.at(-1)?.id ?? null };
  }

  /**
   * Every PaymentIntent of the account created since `since`, newest first, page by page through
   * `GET /v1/payment_intents?created[gte]=` (reconciliation's search for payments the ledger lacks).
   */
  async *listPlatformPayments(
    ctx: CallContext,
    query: { since: Date | null; pageSize: number },
  ): AsyncIterable<ListedPayment> {
    const call = this.call(ctx);
    const endpoint = 'GET /v1/payment_intents';
    const createdGte = query.since ? Math.floor(query.since.getTime() / 1000) : undefined;
    let startingAfter: string | undefined;
    for (;;) {
      const page = await this.client.listPaymentIntents(call, {
        limit: query.pageSize,
        ...(startingAfter ? { startingAfter } : {}),
        ...(createdGte !== undefined ? { createdGte } : {}),
      });
      for (const intent of page.data) {
        yield {
          partnerId: intent.id,
          amount: amountOf(intent.amount, intent.currency, { ...call, endpoint }, 'amount'),
          partnerStatus: intent.status,
          createdAt: new Date(intent.created * 1000),
        };
      }
      const last = page.data.at(-1);
      if (!page.has_more || !last) return;
      startingAfter = last.id;
    }
  }

  /**
   * A dispute by id, through the platform's key (`GET /v1/disputes/{id}`): the answer names its
   * PaymentIntent, and the ledger names the customer. Null when Stripe has no such dispute.
   */
  async getDispute(ctx: CallContext, partnerDisputeId: string): Promise<Dispute | null> {
    if (!DISPUTE_ID.test(partnerDisputeId)) return null;
    const call = this.call(ctx);
    const dispute = await this.client.retrieveDispute(call, partnerDisputeId).catch((error: unknown) => {
      if (error instanceof NotFoundError) return null;
      throw error;
    });
    if (!dispute) return null;
    if (dispute.id !== partnerDisputeId)
      throw violation(call, 'GET /v1/disputes/{id}', [`id: not ${partnerDisputeId}`]);
    return mapDispute(dispute, { ...call, endpoint: 'GET /v1/disputes/{id}' }, new Date());
  }

  /**
   * The card's scheme (Stripe's `brand`) and issuing country, for routing; null when the method is not
   * Stripe's (an id of another processor, an unknown id) or not a card. Read with the platform's key:
   * nothing of it is returned to the client, and creating the payment still checks the method.
   */
  async describeCard(ctx: CallContext, paymentMethodId: string): Promise<CardFacts | null> {
    if (!PAYMENT_METHOD_ID.test(paymentMethodId)) return null;
    const method = await this.client
      .retrievePaymentMethod(this.call(ctx), paymentMethodId)
      .catch((error: unknown) => {
        if (error instanceof NotFoundError) return null;
        throw error;
      });
    if (!method?.card) return null;
    return { scheme: cardSchemeOf(method.card.brand), country: method.card.country };
  }

  /** The Stripe customer linked to the subject; no link means no consent to act at Stripe. */
  private async customerFor(ctx: CallContext, permission: string): Promise<string> {
    const credential = await credentialsFor(ctx, this.credentials).get(ctx.subject, 'stripe');
    if (!credential) throw new ConsentRequiredError('stripe', permission);
    return credential.externalRef;
  }

  /** The PaymentIntent when the subject owns it; NotFoundError otherwise (never "forbidden"). */
  private async ownedIntent(ctx: CallContext, customer: string, id: string): Promise<WirePaymentIntent> {
    if (!PAYMENT_ID.test(id)) throw new NotFoundError('Payment');
    const intent = await this.client.retrievePaymentIntent(this.call(ctx), id);
    if (!this.owns(ctx, customer, intent)) throw new NotFoundError('Payment');
    return intent;
  }

  /** How Stripe's answer about a PaymentIntent differs from the intent it was asked about. */
  private sameIntentIssues(
    ctx: CallContext,
    customer: string,
    intent: WirePaymentIntent,
    answer: WirePaymentIntent,
  ): string[] {
    const issues = mismatches(answer, {
      amount: intent.amount,
      currency: intent.currency,
      customer,
      subject: ctx.subject,
    });
    if (answer.id !== intent.id) issues.push(`id: not ${intent.id}`);
    return issues;
  }

  private owns(ctx: CallContext, customer: string, intent: WirePaymentIntent): boolean {
    const owned = idOf(intent.customer) === customer && ownerOf(intent) === ctx.subject;
    if (!owned) {
      // Logged without either subject: the partner id and correlation id are enough to investigate.
      ctx.logger.warn(
        { partner: 'stripe', partnerId: intent.id, correlationId: ctx.correlationId },
        "Stripe payment is not the caller's; treated as absent.",
      );
    }
    return owned;
  }

  /** Fetches what the status depends on beyond the PaymentIntent (refunds, disputes) and maps. */
  private async load(ctx: CallContext, intent: WirePaymentIntent): Promise<Payment> {
    const call = this.call(ctx);
    const charge = chargeOf(intent);
    const settled = intent.status === 'succeeded';
    const [refunds, disputes] = await Promise.all([
      settled && (charge ? charge.amount_refunded > 0 : true) ? this.client.listRefunds(call, intent.id) : [],
      settled && (charge ? charge.disputed : true) ? this.client.listDisputes(call, intent.id) : [],
    ]);
    const bundle: PaymentBundle = { intent, refunds, disputes };
    return mapPayment(bundle, { ...call, endpoint: 'GET /v1/payment_intents/{id}' });
  }

  private call(ctx: CallContext): StripeCall {
    return {
      correlationId: ctx.correlationId,
      logger: ctx.logger,
      ...(ctx.signal ? { signal: ctx.signal } : {}),
    };
  }
}

/** An answer about other money than was asked for: logged as an error, since money is in doubt. */
function violation(call: StripeCall, endpoint: string, issues: string[]) {
  return contractViolation({ partner: 'stripe', endpoint, issues, call, level: 'error' });
}
