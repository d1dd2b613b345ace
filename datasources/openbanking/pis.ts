/**
 * Open Banking domestic payments as a PaymentsProvider: a payment consent naming the debtor account,
 * the customer's approval at the bank, then the payment under the consent's token.
 *
 * - Approval. When something stands in for the customer (`approveConsent`: the sandbox's hook), the
 *   consent is approved at once and the payment submitted; a "no" is the DECLINED refusal. Otherwise
 *   (a real bank) createPayment stops at the consent and answers REQUIRES_ACTION with nextAction
 *   REDIRECT_TO_BANK and the bank's authorisation URL; its partner id is "consent:<ConsentId>"
 *   (completing it after the customer returns is not built yet).
 * - Exactly once. POST /domestic-payments carries request.partnerIdempotencyKey as x-idempotency-key,
 *   the consent a key derived from it. The bodies are built only from the request and the key, so a
 *   retry sends the same bodies and the bank answers with what it created the first time.
 * - Ownership. The consent's Risk.MerchantCustomerIdentification holds a hash of the subject
 *   (subjectBinding); a payment is the caller's only when its consent carries the caller's hash
 *   (pis-reads.ts). Anyone else's payment is reported absent, never forbidden.
 * - Every answer is compared with what was asked (amount, currency, debtor, creditor, identifications);
 *   a difference is PARTNER_CONTRACT_VIOLATION.
 */
import { eachLimited } from '../../domain/concurrency.js';
import { NotFoundError, NotSupportedError } from '../../domain/errors.js';
import type { Payment } from '../../domain/model.js';
import type { CallContext, CreatePaymentRequest, PaymentsProvider } from '../../domain/providers.js';
import type { ConsentDecision } from '../module.js';
import type { PisClient } from './pis-client.js';
import {
  accountId,
  buildInitiation,
  CONSENT_PREFIX,
  debtorIssues,
  initiationIssues,
  mapConsentPayment,
  mapPayment,
  riskFor,
  type PaymentFacts,
} from './pis-mapper.js';
import {
  PaymentRefusedError,
  refusalOfReason,
  type BankCancelOutcome,
  type BankPaymentOutcome,
} from './pis-outcomes.js';
import { mapped, PaymentReads, violation } from './pis-reads.js';
import {
  authorisationUrl,
  checkPartnerKey,
  checkRequest,
  consentKey,
  DECLINED_AT_BANK,
  NOT_CANCELLABLE,
  PAYABLE_SCHEMES,
  refused,
} from './pis-request.js';
import type { WireAccount } from './types.js';

/** The customer's answer to a consent, as the bank's journey gives it (or a stand-in for it). */
export type ConsentApproval = (consentId: string, customerId: string) => Promise<ConsentDecision>;

/** How customers approve payments, and who we are to the bank. */
export interface OpenBankingPaymentsOptions {
  clientId: string;
  /**
   * A stand-in for the customer's approval at the bank (the sandbox's), answering for the subject at
   * once. Absent: payments wait for the customer at the bank (REQUIRES_ACTION with the bank's URL).
   */
  approveConsent?: ConsentApproval | null;
  /** Where customers approve at the bank (when nothing stands in for them). */
  authorisationEndpoint: string;
  /** Where the bank sends the customer back after approving. */
  returnUrl: string | null;
}

/** The subject's AIS account a payment leaves from; null (or NotFoundError) when they do not hold it. */
export type DebtorLookup = (ctx: CallContext, partnerAccountId: string) => Promise<WireAccount | null>;

const READ_CONCURRENCY = 4;

/** Open Banking's PaymentsProvider, plus the typed createBankPayment and cancelBankPayment. */
export class OpenBankingPayments implements PaymentsProvider {
  readonly name = 'openbanking' as const;
  private readonly reads: PaymentReads;

  constructor(
    private readonly client: PisClient,
    private readonly debtorAccount: DebtorLookup,
    private readonly options: OpenBankingPaymentsOptions,
  ) {
    this.reads = new PaymentReads(client, options.clientId, (consentId) =>
      options.approveConsent ? null : this.urlFor(consentId),
    );
  }

  /** A bank payment; a rejection by the bank is the FAILED payment, a refusal before one is thrown. */
  async createPayment(ctx: CallContext, request: CreatePaymentRequest): Promise<Payment> {
    const outcome = await this.createBankPayment(ctx, request);
    if (outcome.ok) return outcome.payment;
    if (outcome.payment) return outcome.payment;
    throw new PaymentRefusedError(outcome.refusal);
  }

  /** Consent, approval, payment; business refusals are outcomes, not errors. */
  async createBankPayment(ctx: CallContext, request: CreatePaymentRequest): Promise<BankPaymentOutcome> {
    const key = checkPartnerKey(request.partnerIdempotencyKey);
    const { debtorPartnerAccountId: debtorId, creditor } = checkRequest(request);
    const debtor = await this.debtorAccount(ctx, debtorId).catch((error: unknown) => {
      if (error instanceof NotFoundError) return null;
      throw error;
    });
    const identification = debtor?.Account?.find((id) => PAYABLE_SCHEMES.has(id.SchemeName));
    if (!debtor || !identification) {
      return refused('INVALID_ACCOUNT', 'No payments can be made from this account.', 'debtorAccountId');
    }
    if (debtor.Currency !== request.amount.currency) {
      return refused(
        'UNSUPPORTED_CURRENCY',
        `The account does not hold ${request.amount.currency}.`,
        'amount',
      );
    }
    const { amount, reference } = request;
    const initiation = buildInitiation({
      amount,
      reference,
      debtor: identification,
      creditor,
      partnerIdempotencyKey: key,
    });
    const risk = riskFor(this.options.clientId, ctx.subject);
    const consent = await this.client.createConsent(
      ctx,
      { Data: { Initiation: initiation }, Risk: risk },
      consentKey(key),
    );
    const issues = initiationIssues(initiation, consent.Initiation);
    if (consent.Risk.MerchantCustomerIdentification !== risk.MerchantCustomerIdentification) {
      issues.push('Risk.MerchantCustomerIdentification: not the one sent');
    }
    if (issues.length > 0) throw violation(ctx, 'POST /domestic-payment-consents', issues);
    const facts: PaymentFacts = {
      ownerId: ctx.subject,
      debtorAccountId: accountId(debtorId),
      failureReason: null,
    };
    const binding = risk.MerchantCustomerIdentification ?? null;
    this.reads.remember(consent.ConsentId, { binding, initiation, debtorAccountId: facts.debtorAccountId });
    if (consent.Status === 'Rejected') return { ok: false, payment: null, refusal: DECLINED_AT_BANK };
    const approve = this.options.approveConsent;
    if (!approve) {
      const url = this.urlFor(consent.ConsentId);
      const payment = mapped(ctx, 'POST /domestic-payment-consents', () =>
        mapConsentPayment(consent, facts, { authorisationUrl: url }),
      );
      return { ok: true, payment };
    }
    const decision = await approve(consent.ConsentId, ctx.subject);
    if (!decision.approved) return { ok: false, payment: null, refusal: DECLINED_AT_BANK };
    const { accessToken } = await this.client.exchangeCode(ctx, decision.code);
    const body = { Data: { ConsentId: consent.ConsentId, Initiation: initiation }, Risk: risk };
    const wire = await this.client.createPayment(ctx, accessToken, body, key);
    const paymentIssues = [
      ...initiationIssues(initiation, wire.Initiation),
      ...debtorIssues(initiation, wire),
    ];
    if (wire.ConsentId !== consent.ConsentId)
      paymentIssues.push('Data.ConsentId: not the consent of the payment');
    if (paymentIssues.length > 0) throw violation(ctx, 'POST /domestic-payments', paymentIssues);
    const rejected = wire.Status === 'Rejected';
    const reason = rejected ? await this.reads.rejectionReason(ctx, wire.DomesticPaymentId) : null;
    const payment = mapped(ctx, 'POST /domestic-payments', () =>
      mapPayment(wire, { ...facts, failureReason: reason }),
    );
    return rejected ? { ok: false, payment, refusal: refusalOfReason(reason) } : { ok: true, payment };
  }

  /** Status polling: the caller's payments among `partnerPaymentIds`; others and unknown ids are absent. */
  async getPayments(ctx: CallContext, partnerPaymentIds: readonly string[]): Promise<Map<string, Payment>> {
    const ids = [...new Set(partnerPaymentIds)];
    const found = new Map<string, Payment>();
    await eachLimited(ids, READ_CONCURRENCY, async (id) => {
      const payment = await this.reads.owned(ctx, id).catch((error: unknown) => {
        if (error instanceof NotFoundError) return null;
        throw error;
      });
      if (payment) found.set(id, payment);
    });
    return new Map(ids.filter((id) => found.has(id)).map((id) => [id, found.get(id)!]));
  }

  /**
   * The consent dropped (CANCELLED), or PaymentRefusedError NOT_CANCELLABLE carrying the payment. The
   * key is not used: nothing is sent to the bank, so a repeat is answered the same way.
   */
  async cancelPayment(ctx: CallContext, partnerPaymentId: string, _partnerKey?: string): Promise<Payment> {
    const outcome = await this.cancelBankPayment(ctx, partnerPaymentId);
    if (outcome.ok) return outcome.payment;
    throw new PaymentRefusedError(outcome.refusal, outcome.payment);
  }

  /**
   * A submitted domestic payment cannot be cancelled (the spec has no cancellation for it):
   * NOT_CANCELLABLE with the payment as it is. A consent the customer has not used yet is dropped:
   * it is never submitted, and the bank lets it lapse (v3.1.11 has no DELETE for payment consents).
   */
  async cancelBankPayment(ctx: CallContext, partnerPaymentId: string): Promise<BankCancelOutcome> {
    const payment = await this.reads.owned(ctx, partnerPaymentId);
    if (!partnerPaymentId.startsWith(CONSENT_PREFIX) || payment.status !== 'REQUIRES_ACTION') {
      return { ok: false, payment, refusal: NOT_CANCELLABLE };
    }
    const at = new Date();
    const event = {
      status: 'CANCELLED' as const,
      at,
      source: 'API' as const,
      detail: 'consent dropped before use',
    };
    const dropped = { ...payment, status: 'CANCELLED' as const, updatedAt: at, nextAction: null };
    return { ok: true, payment: { ...dropped, events: [...payment.events, event] } };
  }

  /** Open Banking domestic payments have no refunds: the creditor sends the money back, if at all. */
  async refundPayment(): Promise<Payment> {
    throw new NotSupportedError('openbanking', 'refunds of domestic payments');
  }

  private urlFor(consentId: string): string {
    const { authorisationEndpoint, clientId, returnUrl } = this.options;
    return authorisationUrl(authorisationEndpoint, clientId, consentId, returnUrl);
  }
}
