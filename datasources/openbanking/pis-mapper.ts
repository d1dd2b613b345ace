/**
 * Payment Initiation wire <-> canonical: the Initiation we send (built deterministically from the
 * payment request and its partner idempotency key, so a retry sends the very same body), total status
 * mappings, wire payment -> canonical Payment, and the comparisons of every answer with what we asked
 * for. An answer about another amount, currency, debtor or creditor is a contract violation.
 */
import { createHash } from 'node:crypto';
import type { Creditor, Payment, PaymentEvent, PaymentStatus } from '../../domain/model.js';
import { encodeId } from '../../domain/ids.js';
import { formatDecimal, MoneyError, parseDecimal, type Money } from '../../domain/money.js';
import { MappingError } from './mapper.js';
import type {
  DomesticPaymentStatus,
  PaymentConsentStatus,
  WireConsent,
  WireInitiation,
  WirePayment,
  WireRisk,
} from './pis-types.js';

const PROVIDER = 'openbanking';
/** Partner ids of payments still waiting for the customer at the bank (redirect mode) carry this prefix. */
export const CONSENT_PREFIX = 'consent:';

/**
 * OB domestic payment status -> canonical. Pending and the Accepted...InProcess / WithoutPosting
 * states are PROCESSING: submitted, nothing left for the customer to do, money not yet at its
 * destination. Settlement completed on either side is SETTLED; Rejected is FAILED.
 */
export const PAYMENT_STATUS = {
  Pending: 'PROCESSING',
  AcceptedSettlementInProcess: 'PROCESSING',
  AcceptedWithoutPosting: 'PROCESSING',
  AcceptedSettlementCompleted: 'SETTLED',
  AcceptedCreditSettlementCompleted: 'SETTLED',
  Rejected: 'FAILED',
} as const satisfies Record<DomesticPaymentStatus, PaymentStatus>;

/**
 * OB payment consent status -> canonical, for a payment not submitted yet. Awaiting or given, the
 * customer's approval is what the payment waits for; Consumed means a payment was submitted.
 */
export const CONSENT_STATUS = {
  AwaitingAuthorisation: 'REQUIRES_ACTION',
  Authorised: 'REQUIRES_ACTION',
  Consumed: 'PROCESSING',
  Rejected: 'FAILED',
} as const satisfies Record<PaymentConsentStatus, PaymentStatus>;

/** The account a payment leaves from, as the bank identifies it (from the AIS account). */
export interface DebtorIdentification {
  SchemeName: string;
  Identification: string;
}

/** What a payment request becomes on the wire. */
export interface InitiationInput {
  amount: Money;
  reference: string;
  debtor: DebtorIdentification;
  creditor: { name: string; sortCode: string | null; accountNumber: string | null; iban: string | null };
  partnerIdempotencyKey: string;
}

/** OBWriteDomestic2DataInitiation, the same bytes for the same partner key. */
export function buildInitiation(input: InitiationInput): WireInitiation {
  const digest = createHash('sha256')
    .update(`tributary.ob.instruction.v1\n${input.partnerIdempotencyKey}`)
    .digest('hex');
  const { creditor } = input;
  const creditorAccount = creditor.iban
    ? { SchemeName: 'UK.OBIE.IBAN', Identification: creditor.iban, Name: creditor.name }
    : {
        SchemeName: 'UK.OBIE.SortCodeAccountNumber',
        Identification: `${creditor.sortCode ?? ''}${creditor.accountNumber ?? ''}`,
        Name: creditor.name,
      };
  return {
    InstructionIdentification: digest.slice(0, 35),
    EndToEndIdentification: digest.slice(35, 64),
    InstructedAmount: { Amount: formatDecimal(input.amount), Currency: input.amount.currency },
    DebtorAccount: { SchemeName: input.debtor.SchemeName, Identification: input.debtor.Identification },
    CreditorAccount: creditorAccount,
    RemittanceInformation: { Reference: input.reference },
  };
}

/**
 * Who initiated a payment, as the bank stores it: Risk.MerchantCustomerIdentification ("the PSU's
 * identifier with the merchant") holds a hash of our client id and the subject, never the subject.
 */
export function subjectBinding(clientId: string, subject: string): string {
  const digest = createHash('sha256')
    .update(`tributary.ob.subject.v1\n${clientId}\n${subject}`)
    .digest('base64url');
  return `trb1.${digest.slice(0, 43)}`;
}

/** OBRisk1 of a payment initiated for `subject`. */
export function riskFor(clientId: string, subject: string): WireRisk {
  return {
    PaymentContextCode: 'PartyToParty',
    MerchantCustomerIdentification: subjectBinding(clientId, subject),
  };
}

/** Every difference between the Initiation we sent and the one the bank answers with. */
export function initiationIssues(
  sent: WireInitiation,
  got: WireInitiation,
  path = 'Data.Initiation',
): string[] {
  const issues: string[] = [];
  const differ = (field: string, a: string | undefined, b: string | undefined) => {
    if (a !== b) issues.push(`${path}.${field}: ${b ?? '(absent)'}, asked for ${a ?? '(absent)'}`);
  };
  if (!sameAmount(sent.InstructedAmount.Amount, got.InstructedAmount.Amount)) {
    issues.push(
      `${path}.InstructedAmount.Amount: ${got.InstructedAmount.Amount}, asked for ${sent.InstructedAmount.Amount}`,
    );
  }
  differ('InstructedAmount.Currency', sent.InstructedAmount.Currency, got.InstructedAmount.Currency);
  differ('DebtorAccount.SchemeName', sent.DebtorAccount?.SchemeName, got.DebtorAccount?.SchemeName);
  differ(
    'DebtorAccount.Identification',
    sent.DebtorAccount?.Identification,
    got.DebtorAccount?.Identification,
  );
  differ('CreditorAccount.SchemeName', sent.CreditorAccount.SchemeName, got.CreditorAccount.SchemeName);
  differ(
    'CreditorAccount.Identification',
    sent.CreditorAccount.Identification,
    got.CreditorAccount.Identification,
  );
  differ('CreditorAccount.Name', sent.CreditorAccount.Name, got.CreditorAccount.Name);
  differ('InstructionIdentification', sent.InstructionIdentification, got.InstructionIdentification);
  differ('EndToEndIdentification', sent.EndToEndIdentification, got.EndToEndIdentification);
  differ(
    'RemittanceInformation.Reference',
    sent.RemittanceInformation?.Reference,
    got.RemittanceInformation?.Reference,
  );
  return issues;
}

/** Issues of a payment answer's optional Debtor block against the debtor we named. */
export function debtorIssues(sent: WireInitiation, payment: WirePayment): string[] {
  const named = sent.DebtorAccount?.Identification;
  const reported = payment.Debtor?.Identification;
  if (!named || !reported || named.toUpperCase() === reported.toUpperCase()) return [];
  return ['Data.Debtor.Identification: not the debtor account of the payment'];
}

/** Facts about a payment that its wire form does not carry. */
export interface PaymentFacts {
  ownerId: string;
  /** Global id of the debtor account, when known (we initiated it in this process). */
  debtorAccountId: string | null;
  /** INSUFFICIENT_FUNDS / DECLINED for a rejected payment. */
  failureReason: string | null;
}

/** A submitted domestic payment as a canonical Payment. */
export function mapPayment(wire: WirePayment, facts: PaymentFacts): Payment {
  const status = PAYMENT_STATUS[wire.Status];
  const createdAt = new Date(wire.CreationDateTime);
  const updatedAt = new Date(wire.StatusUpdateDateTime);
  const events: PaymentEvent[] = [];
  if (status !== 'PROCESSING' && updatedAt.getTime() > createdAt.getTime()) {
    events.push({ status: 'PROCESSING', at: createdAt, source: 'API', detail: 'submitted' });
  }
  events.push({ status, at: updatedAt, source: 'API', detail: wire.Status });
  return {
    id: encodeId('Payment', PROVIDER, wire.DomesticPaymentId),
    provider: PROVIDER,
    partnerId: wire.DomesticPaymentId,
    ownerId: facts.ownerId,
    status,
    amount: amountOf(wire.Initiation),
    debtorAccountId: facts.debtorAccountId,
    creditor: creditorOf(wire.Initiation),
    reference: wire.Initiation.RemittanceInformation?.Reference ?? '',
    createdAt,
    updatedAt,
    failureReason: status === 'FAILED' ? (facts.failureReason ?? 'DECLINED') : null,
    nextAction: null,
    events,
    refunds: [],
  };
}

/** A payment still at its consent (redirect mode) as a canonical Payment. */
export function mapConsentPayment(
  consent: WireConsent,
  facts: PaymentFacts,
  options: { cancelled?: boolean; authorisationUrl?: string | null } = {},
): Payment {
  const status: PaymentStatus = options.cancelled ? 'CANCELLED' : CONSENT_STATUS[consent.Status];
  const at = new Date(consent.StatusUpdateDateTime);
  const url = status === 'REQUIRES_ACTION' ? (options.authorisationUrl ?? null) : null;
  return {
    id: encodeId('Payment', PROVIDER, `${CONSENT_PREFIX}${consent.ConsentId}`),
    provider: PROVIDER,
    partnerId: `${CONSENT_PREFIX}${consent.ConsentId}`,
    ownerId: facts.ownerId,
    status,
    amount: amountOf(consent.Initiation),
    debtorAccountId: facts.debtorAccountId,
    creditor: creditorOf(consent.Initiation),
    reference: consent.Initiation.RemittanceInformation?.Reference ?? '',
    createdAt: new Date(consent.CreationDateTime),
    updatedAt: at,
    failureReason: status === 'FAILED' ? 'DECLINED' : null,
    nextAction: url === null ? null : { type: 'REDIRECT_TO_BANK', url },
    events: [{ status, at, source: 'API', detail: consent.Status }],
    refunds: [],
  };
}

/** The debtor account's global id from its partner id. */
export function accountId(partnerAccountId: string): string {
  return encodeId('Account', PROVIDER, partnerAccountId);
}

function amountOf(initiation: WireInitiation): Money {
  const { Amount, Currency } = initiation.InstructedAmount;
  try {
    return parseDecimal(Amount, Currency);
  } catch (error) {
    if (error instanceof MoneyError)
      throw new MappingError([`Data.Initiation.InstructedAmount: ${error.message}`]);
    throw error;
  }
}

function creditorOf(initiation: WireInitiation): Creditor {
  const account = initiation.CreditorAccount;
  if (account.SchemeName === 'UK.OBIE.IBAN') {
    return { name: account.Name, sortCode: null, accountNumber: null, iban: account.Identification };
  }
  const scan = /^(\d{6})(\d{8})$/.exec(account.Identification);
  return { name: account.Name, sortCode: scan?.[1] ?? null, accountNumber: scan?.[2] ?? null, iban: null };
}

/** Two OB amounts are the same number ("10.5" and "10.50"). */
function sameAmount(a: string, b: string): boolean {
  const norm = (value: string) =>
    (value.includes('.') ? value.replace(/0+$/, '').replace(/\.$/, '') : value).replace(/^0+(?=\d)/, '');
  return norm(a) === norm(b);
}
