/**
 * Card payments at Adyen as a PaymentsProvider. Adyen authenticates the platform (API key and merchant
 * account), not the customer, so no consent or customer link is needed: a payment is the subject's when
 * the module recorded it for them (store.ts), and another subject's payment looks absent.
 *
 * Reads never call Adyen (Checkout has no "get payment"): they fold the recorded synchronous answers
 * with the verified notifications (mapper.ts). Writes call Adyen under the partner's Idempotency-Key
 * (our partner key) and record what it answered: /payments, /payments/details, the cancel and refund
 * modifications (whose outcome arrives by notification). There is no platform-wide list of payments in
 * Checkout, so `listPlatformPayments` is absent and reconciliation cannot search Adyen for payments the
 * ledger lacks.
 */
import { createHash } from 'node:crypto';
import type { Dispute, Payment } from '../../domain/model.js';
import type { Money } from '../../domain/money.js';
import type {
  AuthenticationResult,
  CallContext,
  CreatePaymentRequest,
  PaymentsProvider,
} from '../../domain/providers.js';
import { InputError, NotFoundError, NotSupportedError } from '../../domain/errors.js';
import { contractViolation } from '../contract.js';
import { mapDispute } from './disputes.js';
import type { AdyenCall, AdyenClient } from './client.js';
import { mapPayment, toAdyenAmount, type AdyenPaymentRecord } from './mapper.js';
import type { AdyenPaymentStore, StoredAdyenPayment } from './store.js';
import type { WireAmount, WirePaymentResponse } from './types.js';

/** What the module needs to know beyond the client and store. */
export interface AdyenPaymentSettings {
  merchantAccount: string;
  /** Where the issuer's 3-D Secure redirect returns the shopper (Adyen requires one). */
  returnUrl: string;
}

const PSP = /^[A-Za-z0-9]{1,64}$/;
const CANCELLABLE = new Set<Payment['status']>(['PENDING', 'REQUIRES_ACTION', 'PROCESSING', 'AUTHORISED']);

/** The PaymentsProvider of Adyen; confirmPayment carries the shopper's 3-D Secure result. */
export class AdyenPayments implements PaymentsProvider {
  readonly name = 'adyen' as const;
  readonly takesAuthenticationResult = true;

  constructor(
    private readonly client: AdyenClient,
    private readonly store: AdyenPaymentStore,
    private readonly settings: AdyenPaymentSettings,
  ) {}

  /**
   * Creates and authorises a card payment. `paymentMethodId` is a stored payment method id (Adyen's
   * `storedPaymentMethodId`), or the Drop-in's `paymentMethod` object as JSON. A refusal is the FAILED
   * payment with its DeclineCode, not an error; 3-D Secure is REQUIRES_ACTION (see clientSecretOf).
   */
  async createPayment(ctx: CallContext, request: CreatePaymentRequest): Promise<Payment> {
    if (!request.paymentMethodId) {
      if (request.debtorPartnerAccountId) throw new NotSupportedError('adyen', 'bank payments');
      throw new InputError('A card payment needs a payment method.', 'paymentMethodId');
    }
    const creditor = request.creditor;
    if (creditor && (creditor.sortCode || creditor.accountNumber || creditor.iban))
      throw new NotSupportedError('adyen', 'paying a creditor bank account');
    const amount = adyenAmount(request.amount);
    const method = paymentMethodOf(request.paymentMethodId);
    const merchantReference = request.partnerIdempotencyKey;
    const stored = 'storedPaymentMethodId' in method;
    const call = this.call(ctx);
    const answer = await this.client.createPayment(
      call,
      {
        merchantAccount: this.settings.merchantAccount,
        amount,
        reference: merchantReference,
        paymentMethod: method as never,
        returnUrl: this.settings.returnUrl,
        // A sale: captured at authorisation, so Authorised is SETTLED (mapper.ts).
        captureDelayHours: 0,
        channel: 'Web' as never,
        shopperReference: shopperReferenceOf(ctx.subject),
        ...(stored
          ? { shopperInteraction: 'ContAuth' as never, recurringProcessingModel: 'CardOnFile' as never }
          : { shopperInteraction: 'Ecommerce' as never }),
      },
      request.partnerIdempotencyKey,
    );
    const endpoint = 'POST /payments';
    const issues = answerIssues(answer, { merchantReference, amount });
    if (issues.length > 0) throw violation(call, endpoint, issues);
    const existing = (await this.store.payments(ctx.subject, [answer.pspReference])).get(answer.pspReference);
    // A replayed key answers the first response again; what was recorded since (details, refunds) stays.
    const record: AdyenPaymentRecord = existing?.record ?? {
      pspReference: answer.pspReference,
      merchantReference,
      amount,
      reference: request.reference,
      creditorName: creditor?.name ?? null,
      createdAt: new Date().toISOString(),
      updatedAt: new Date().toISOString(),
      ...outcomeOf(answer),
      refunds: [],
      cancelRequestedAt: null,
    };
    return this.save(ctx, record, endpoint);
  }

  async getPayments(ctx: CallContext, partnerPaymentIds: readonly string[]): Promise<Map<string, Payment>> {
    const ids = [...new Set(partnerPaymentIds)].filter((id) => PSP.test(id));
    const found = await this.store.payments(ctx.subject, ids);
    const out = new Map<string, Payment>();
    for (const id of ids) {
      const stored = found.get(id);
      if (stored) out.set(id, this.map(ctx, stored, 'getPayments'));
    }
    return out;
  }

  /**
   * Adyen's /payments/details with the shopper's result (`threeDSResult` from the Drop-in's challenge,
   * `redirectResult` from the issuer's return) under our key; without a result, the payment as recorded
   * (a notification may have moved it on). Only a payment still waiting for the shopper is sent.
   */
  async confirmPayment(
    ctx: CallContext,
    partnerPaymentId: string,
    partnerIdempotencyKey: string,
    authentication?: AuthenticationResult | null,
  ): Promise<Payment> {
    const stored = await this.owned(ctx, partnerPaymentId);
    const current = this.map(ctx, stored, 'confirmPayment');
    if (!authentication || current.status !== 'REQUIRES_ACTION') return current;
    return this.submitDetails(ctx, partnerPaymentId, authentication, partnerIdempotencyKey);
  }

  /** POST /payments/details with the shopper's 3-D Secure result; a refusal is the FAILED payment. */
  async submitDetails(
    ctx: CallContext,
    partnerPaymentId: string,
    details: AuthenticationResult,
    partnerIdempotencyKey: string,
  ): Promise<Payment> {
    const { record } = await this.owned(ctx, partnerPaymentId);
    const paymentData =
      typeof record.action?.paymentData === 'string' ? record.action.paymentData : undefined;
    const call = this.call(ctx);
    const answer = await this.client.submitDetails(
      call,
      { details, ...(paymentData ? { paymentData } : {}) },
      partnerIdempotencyKey,
    );
    const endpoint = 'POST /payments/details';
    const issues = answerIssues(answer, {
      merchantReference: record.merchantReference,
      amount: record.amount,
    });
    if (answer.pspReference !== record.pspReference) issues.push(`pspReference: not ${record.pspReference}`);
    if (issues.length > 0) throw violation(call, endpoint, issues);
    return this.save(ctx, { ...record, ...outcomeOf(answer) }, endpoint);
  }

  /** What the app's Adyen Drop-in needs while the shopper must act: the `action` as Adyen sent it. */
  async clientSecretOf(ctx: CallContext, partnerPaymentId: string): Promise<string | null> {
    const stored = await this.owned(ctx, partnerPaymentId);
    const payment = this.map(ctx, stored, 'clientSecretOf');
    return payment.status === 'REQUIRES_ACTION' ? JSON.stringify(stored.record.action) : null;
  }

  /** Asks Adyen to cancel; the CANCELLATION notification decides (the answer is only `received`). */
  async cancelPayment(
    ctx: CallContext,
    partnerPaymentId: string,
    partnerIdempotencyKey: string,
  ): Promise<Payment> {
    const stored = await this.owned(ctx, partnerPaymentId);
    const current = this.map(ctx, stored, 'cancelPayment');
    if (current.status === 'CANCELLED') return current;
    if (!CANCELLABLE.has(current.status)) throw new InputError('The payment can no longer be cancelled.');
    const call = this.call(ctx);
    const answer = await this.client.cancel(
      call,
      partnerPaymentId,
      { merchantAccount: this.settings.merchantAccount, reference: partnerIdempotencyKey },
      partnerIdempotencyKey,
    );
    const endpoint = 'POST /payments/{paymentPspReference}/cancels';
    if (answer.paymentPspReference !== partnerPaymentId)
      throw violation(call, endpoint, [`paymentPspReference: not ${partnerPaymentId}`]);
    const record = { ...stored.record, cancelRequestedAt: new Date().toISOString() };
    return this.save(ctx, record, endpoint);
  }

  /** Refunds in full (amount null: what is left) or in part; the refund is PENDING until notified. */
  async refundPayment(
    ctx: CallContext,
    partnerPaymentId: string,
    amount: Money | null,
    partnerIdempotencyKey: string,
  ): Promise<Payment> {
    const stored = await this.owned(ctx, partnerPaymentId);
    const { record } = stored;
    const current = this.map(ctx, stored, 'refundPayment');
    if (amount && amount.currency !== record.amount.currency)
      throw new InputError('The refund must be in the currency of the payment.', 'amount');
    const taken = current.refunds
      .filter((refund) => refund.status === 'PENDING' || refund.status === 'SUCCEEDED')
      .reduce((sum, refund) => sum + refund.amount.minor, 0n);
    const asked = amount ?? { minor: BigInt(record.amount.value) - taken, currency: record.amount.currency };
    const wire = adyenAmount(asked);
    const call = this.call(ctx);
    const answer = await this.client.refund(
      call,
      partnerPaymentId,
      { merchantAccount: this.settings.merchantAccount, amount: wire, reference: partnerIdempotencyKey },
      partnerIdempotencyKey,
    );
    const endpoint = 'POST /payments/{paymentPspReference}/refunds';
    const issues: string[] = [];
    if (answer.paymentPspReference !== partnerPaymentId)
      issues.push(`paymentPspReference: not ${partnerPaymentId}`);
    if (answer.amount.value !== wire.value || answer.amount.currency !== wire.currency)
      issues.push(
        `amount: ${answer.amount.value} ${answer.amount.currency}, asked for ${wire.value} ${wire.currency}`,
      );
    if (issues.length > 0) throw violation(call, endpoint, issues);
    // A replayed key answers the same refund again: it is recorded once.
    const refunds = record.refunds.some((refund) => refund.pspReference === answer.pspReference)
      ? record.refunds
      : [
          ...record.refunds,
          { pspReference: answer.pspReference, amount: wire, requestedAt: new Date().toISOString() },
        ];
    return this.save(ctx, { ...record, refunds }, endpoint);
  }

  /**
   * A dispute as its notifications tell it (Checkout has no dispute read); null when none arrived. A
   * platform read: the dispute names its payment, and the ledger names the owner.
   */
  async getDispute(_ctx: CallContext, partnerDisputeId: string): Promise<Dispute | null> {
    if (!PSP.test(partnerDisputeId)) return null;
    return mapDispute(await this.store.itemsOf(partnerDisputeId), new Date());
  }

  /** Erasure: the module's record of the subject's payments and their notifications. */
  eraseSubject(subject: string): Promise<number> {
    return this.store.eraseSubject(subject);
  }

  /** The subject's payment as recorded; NotFoundError otherwise (never "forbidden"). */
  private async owned(ctx: CallContext, psp: string): Promise<StoredAdyenPayment> {
    if (!PSP.test(psp)) throw new NotFoundError('Payment');
    const stored = (await this.store.payments(ctx.subject, [psp])).get(psp);
    if (!stored) throw new NotFoundError('Payment');
    return stored;
  }

  /** Records the subject's payment and answers it with every notification known so far. */
  private async save(ctx: CallContext, record: AdyenPaymentRecord, endpoint: string): Promise<Payment> {
    if (!(await this.store.save(ctx.subject, { ...record, updatedAt: new Date().toISOString() })))
      throw violation(this.call(ctx), endpoint, ['pspReference: a payment recorded for another subject']);
    return this.map(ctx, await this.owned(ctx, record.pspReference), endpoint);
  }

  private map(ctx: CallContext, stored: StoredAdyenPayment, endpoint: string): Payment {
    return mapPayment(ctx.subject, stored.record, stored.notifications, { ...this.call(ctx), endpoint });
  }

  private call(ctx: CallContext): AdyenCall {
    return {
      correlationId: ctx.correlationId,
      logger: ctx.logger,
      ...(ctx.signal ? { signal: ctx.signal } : {}),
    };
  }
}

/** The outcome fields of a payment answer, as recorded. */
function outcomeOf(answer: WirePaymentResponse) {
  return {
    resultCode: answer.resultCode,
    refusalReason: answer.refusalReason ?? null,
    refusalReasonCode: answer.refusalReasonCode ?? null,
    action: (answer.action as Record<string, unknown> | undefined) ?? null,
    answeredAt: new Date().toISOString(),
  };
}

/** An answer about another payment or other money than asked for is not a success. */
function answerIssues(answer: WirePaymentResponse, asked: { merchantReference: string; amount: WireAmount }) {
  const issues: string[] = [];
  if (answer.merchantReference !== undefined && answer.merchantReference !== asked.merchantReference)
    issues.push('merchantReference: not the reference asked for');
  if (
    answer.amount &&
    (answer.amount.value !== asked.amount.value || answer.amount.currency !== asked.amount.currency)
  )
    issues.push(
      `amount: ${answer.amount.value} ${answer.amount.currency}, asked for ${asked.amount.value} ${asked.amount.currency}`,
    );
  return issues;
}

/** A stored payment method id, or the Drop-in's paymentMethod object as JSON (type scheme only). */
function paymentMethodOf(id: string): Record<string, unknown> {
  if (!id.startsWith('{')) return { type: 'scheme', storedPaymentMethodId: id };
  let method: unknown;
  try {
    method = JSON.parse(id);
  } catch {
    throw new InputError('The payment method is not valid JSON.', 'paymentMethodId');
  }
  if (typeof method !== 'object' || method === null || (method as { type?: unknown }).type !== 'scheme')
    throw new InputError('Only card (scheme) payment methods are supported.', 'paymentMethodId');
  return method as Record<string, unknown>;
}

/** A pseudonymous shopper reference: Adyen never sees the subject itself. */
function shopperReferenceOf(subject: string): string {
  return `tributary-${createHash('sha256').update(subject).digest('hex').slice(0, 32)}`;
}

function adyenAmount(value: Money): WireAmount {
  try {
    return toAdyenAmount(value);
  } catch {
    throw new InputError('Adyen cannot charge this amount.', 'amount');
  }
}

/** An answer about other money or another payment than asked for: logged as an error. */
function violation(call: AdyenCall, endpoint: string, issues: string[]) {
  return contractViolation({ partner: 'adyen', endpoint, issues, call, level: 'error' });
}
