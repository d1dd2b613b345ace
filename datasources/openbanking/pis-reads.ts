/**
 * Reading Open Banking payments for one subject: a payment (or a consent still waiting for the
 * customer) is the caller's only when its consent's Risk.MerchantCustomerIdentification is the
 * caller's subject binding; anything else is NotFoundError, exactly like an unknown id. Each answer
 * is compared with its consent (what we asked for). Consent facts never change, so they are kept in
 * a bounded map and a poll costs one call per payment after the first.
 */
import { NotFoundError, PartnerError } from '../../domain/errors.js';
import type { Payment } from '../../domain/model.js';
import type { CallContext } from '../../domain/providers.js';
import { contractViolation } from '../contract.js';
import { MappingError } from './mapper.js';
import type { PisClient } from './pis-client.js';
import {
  CONSENT_PREFIX,
  debtorIssues,
  initiationIssues,
  mapConsentPayment,
  mapPayment,
  subjectBinding,
} from './pis-mapper.js';
import { failureReasonOf } from './pis-outcomes.js';
import type { WireInitiation } from './pis-types.js';

/** What a consent tells about its payment: whose it is, what was asked, from which account. */
export interface ConsentFacts {
  binding: string | null;
  initiation: WireInitiation;
  debtorAccountId: string | null;
}

const PAYMENT_ID = /^[A-Za-z0-9._~:-]{1,40}$/;
const CONSENT_ID = /^[A-Za-z0-9._~:-]{1,128}$/;
const FACTS_CACHE = 10_000;

/** Owned reads of payments and payment consents. */
export class PaymentReads {
  private readonly facts = new Map<string, ConsentFacts>();

  constructor(
    private readonly client: PisClient,
    private readonly clientId: string,
    /** The authorisation URL of a consent waiting for the customer; null outside redirect mode. */
    private readonly authorisationUrl: (consentId: string) => string | null,
  ) {}

  /** The caller's payment; NotFoundError for an unknown id or another subject's payment. */
  async owned(ctx: CallContext, id: string): Promise<Payment> {
    const binding = subjectBinding(this.clientId, ctx.subject);
    if (id.startsWith(CONSENT_PREFIX))
      return this.ownedConsent(ctx, id.slice(CONSENT_PREFIX.length), binding);
    if (!PAYMENT_ID.test(id)) throw new NotFoundError('Payment');
    const endpoint = 'GET /domestic-payments/{DomesticPaymentId}';
    const wire = await this.client.getPayment(ctx, id);
    const facts = await this.consentFacts(ctx, wire.ConsentId);
    if (!this.mine(ctx, id, facts, binding)) throw new NotFoundError('Payment');
    const issues = [
      ...initiationIssues(facts.initiation, wire.Initiation),
      ...debtorIssues(facts.initiation, wire),
    ];
    if (wire.DomesticPaymentId !== id) issues.push(`Data.DomesticPaymentId: not ${id}`);
    if (issues.length > 0) throw violation(ctx, endpoint, issues);
    const reason = wire.Status === 'Rejected' ? await this.rejectionReason(ctx, id) : null;
    const paymentFacts = {
      ownerId: ctx.subject,
      debtorAccountId: facts.debtorAccountId,
      failureReason: reason,
    };
    return mapped(ctx, endpoint, () => mapPayment(wire, paymentFacts));
  }

  /** Keeps what a consent says (the first debtor account id learnt wins over none). */
  remember(consentId: string, facts: ConsentFacts): ConsentFacts {
    const known = this.facts.get(consentId);
    if (known && (known.debtorAccountId !== null || facts.debtorAccountId === null)) return known;
    this.facts.delete(consentId);
    if (this.facts.size >= FACTS_CACHE) this.facts.delete(this.facts.keys().next().value!);
    this.facts.set(consentId, facts);
    return facts;
  }

  /** Why the bank rejected a payment, from payment-details (optional for banks: DECLINED without it). */
  async rejectionReason(ctx: CallContext, paymentId: string): Promise<string> {
    try {
      const details = await this.client.getPaymentDetails(ctx, paymentId);
      const detail = details.PaymentStatus?.find((entry) => entry.StatusDetail)?.StatusDetail;
      return failureReasonOf(detail?.StatusReasonDescription);
    } catch (error) {
      const unsupported = error instanceof PartnerError && [404, 405, 501].includes(error.status ?? 0);
      if (unsupported || error instanceof NotFoundError) return 'DECLINED';
      throw error;
    }
  }

  private async ownedConsent(ctx: CallContext, consentId: string, binding: string): Promise<Payment> {
    if (!CONSENT_ID.test(consentId)) throw new NotFoundError('Payment');
    const consent = await this.client.getConsent(ctx, consentId);
    const facts = this.remember(consentId, {
      binding: consent.Risk.MerchantCustomerIdentification ?? null,
      initiation: consent.Initiation,
      debtorAccountId: null,
    });
    if (!this.mine(ctx, `${CONSENT_PREFIX}${consentId}`, facts, binding)) throw new NotFoundError('Payment');
    const issues = initiationIssues(facts.initiation, consent.Initiation);
    const endpoint = 'GET /domestic-payment-consents/{ConsentId}';
    if (issues.length > 0) throw violation(ctx, endpoint, issues);
    const paymentFacts = {
      ownerId: ctx.subject,
      debtorAccountId: facts.debtorAccountId,
      failureReason: null,
    };
    const authorisationUrl = this.authorisationUrl(consentId);
    return mapped(ctx, endpoint, () => mapConsentPayment(consent, paymentFacts, { authorisationUrl }));
  }

  private mine(ctx: CallContext, id: string, facts: ConsentFacts, binding: string): boolean {
    if (facts.binding === binding) return true;
    // Logged without either subject: the partner id and correlation id are enough to investigate.
    ctx.logger.warn(
      { partner: 'openbanking', partnerId: id, correlationId: ctx.correlationId },
      "Open Banking payment is not the caller's; treated as absent.",
    );
    return false;
  }

  private async consentFacts(ctx: CallContext, consentId: string): Promise<ConsentFacts> {
    const known = this.facts.get(consentId);
    if (known) return known;
    const consent = await this.client.getConsent(ctx, consentId).catch((error: unknown) => {
      // A payment whose consent the bank does not know is not one we can vouch for.
      if (!(error instanceof NotFoundError)) throw error;
      const endpoint = 'GET /domestic-payment-consents/{ConsentId}';
      throw violation(ctx, endpoint, ['Data.ConsentId: unknown to the bank']);
    });
    return this.remember(consentId, {
      binding: consent.Risk.MerchantCustomerIdentification ?? null,
      initiation: consent.Initiation,
      debtorAccountId: null,
    });
  }
}

/** Runs a mapping; a MappingError is the partner breaking its contract. */
export function mapped(ctx: CallContext, endpoint: string, map: () => Payment): Payment {
  try {
    return map();
  } catch (error) {
    if (error instanceof MappingError) throw violation(ctx, endpoint, error.issues);
    throw error;
  }
}

/** A payment answer that is not the one asked for: logged as an error, since money is in doubt. */
export function violation(ctx: CallContext, endpoint: string, issues: readonly string[]) {
  return contractViolation({ partner: 'openbanking', endpoint, issues, call: ctx, level: 'error' });
}
