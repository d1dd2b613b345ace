/**
 * The Payment Initiation side of the sandbox bank: domestic payment consents, domestic payments,
 * the x-idempotency-key records, the money each debtor account has left, and settlement over the
 * sandbox clock. Every accepted payment is recorded in the ledger, so tests can count real payments.
 *
 * Funds: an account can pay out its seeded available balance (InterimAvailable, else the next best
 * balance type) minus the payments it has already made here; a payment above that is created with
 * status Rejected (ISO 20022 reason AM04) and moves no money.
 */
import { randomUUID } from 'node:crypto';
import type { Ledger } from '../kit/sandbox.js';
import type { Bank, BankAccount } from './seed.js';
import {
  scaled,
  type DomesticPaymentStatus,
  type PaymentConsentStatus,
  type WireDomesticConsent,
  type WireInitiation,
  type WireRisk,
} from './pis-wire.js';
import { obDateTime } from './wire.js';

/** The x-idempotency-key window of the spec: 24 hours. */
export const IDEMPOTENCY_WINDOW_MS = 24 * 3_600_000;

/** A domestic payment consent as the bank keeps it. */
export interface PaymentConsent {
  ConsentId: string;
  clientId: string;
  Status: PaymentConsentStatus;
  CreationDateTime: string;
  StatusUpdateDateTime: string;
  Data: WireDomesticConsent['Data'];
  Risk: WireRisk;
  /** Set when the customer approves: who, and the account the money leaves from. */
  psuId: string | null;
  debtorAccountId: string | null;
}

/** Why a payment was rejected: an ISO 20022 status reason code and its description. */
export interface Rejection {
  code: string;
  description: string;
}

/** A domestic payment as the bank keeps it. */
export interface DomesticPayment {
  DomesticPaymentId: string;
  ConsentId: string;
  clientId: string;
  Status: DomesticPaymentStatus;
  createdAt: number;
  statusAt: number;
  Initiation: WireInitiation;
  debtorAccountId: string;
  /** When AcceptedSettlementInProcess becomes AcceptedSettlementCompleted; null: only the control route moves it. */
  settlesAt: number | null;
  rejection: Rejection | null;
}

/** What a status listener hears; the event notifications (webhooks.ts) are one such listener. */
export interface PaymentStatusEvent {
  DomesticPaymentId: string;
  ConsentId: string;
  clientId: string;
  Status: DomesticPaymentStatus;
  at: string;
}

interface KeyRecord {
  fingerprint: string;
  resourceId: string;
  at: number;
}

/** The outcome of looking up an x-idempotency-key. */
export type KeyLookup = { kind: 'new' } | { kind: 'replay'; resourceId: string } | { kind: 'conflict' };

/** Balance types in the order the bank trusts them as "money available to pay out". */
const AVAILABLE_ORDER = [
  'InterimAvailable',
  'ClosingAvailable',
  'Expected',
  'InterimBooked',
  'ClosingBooked',
];

/** What the payment side reads of the sandbox's shared state (state.ts's `SandboxState`). */
export interface PisBase {
  readonly bank: Bank;
  now(): number;
}

/** Payment consents, payments and idempotency records of one sandbox. */
export class PisState {
  readonly consents = new Map<string, PaymentConsent>();
  readonly payments = new Map<string, DomesticPayment>();
  private readonly keys = new Map<string, KeyRecord>();
  /** Paid out per account, in 10^-5 units. */
  private readonly spent = new Map<string, bigint>();

  constructor(
    readonly base: PisBase,
    private readonly ledger: Ledger,
    private readonly options: {
      settlementMs: number | null;
      onStatus?: ((event: PaymentStatusEvent) => void) | undefined;
    },
  ) {}

  now(): number {
    return this.base.now();
  }

  /** Same key and body within 24 h: the resource it created; another body: a conflict. */
  lookupKey(clientId: string, resource: string, key: string, fingerprint: string): KeyLookup {
    const record = this.keys.get(`${clientId}\n${resource}\n${key}`);
    if (!record || record.at + IDEMPOTENCY_WINDOW_MS <= this.now()) return { kind: 'new' };
    return record.fingerprint === fingerprint
      ? { kind: 'replay', resourceId: record.resourceId }
      : { kind: 'conflict' };
  }

  rememberKey(
    clientId: string,
    resource: string,
    key: string,
    fingerprint: string,
    resourceId: string,
  ): void {
    this.keys.set(`${clientId}\n${resource}\n${key}`, { fingerprint, resourceId, at: this.now() });
  }

  newConsent(clientId: string, body: WireDomesticConsent): PaymentConsent {
    const now = obDateTime(new Date(this.now()));
    const consent: PaymentConsent = {
      ConsentId: `pdc-${randomUUID()}`,
      clientId,
      Status: 'AwaitingAuthorisation',
      CreationDateTime: now,
      StatusUpdateDateTime: now,
      Data: body.Data,
      Risk: body.Risk,
      psuId: null,
      debtorAccountId: null,
    };
    this.consents.set(consent.ConsentId, consent);
    return consent;
  }

  setConsentStatus(consent: PaymentConsent, status: PaymentConsentStatus): void {
    consent.Status = status;
    consent.StatusUpdateDateTime = obDateTime(new Date(this.now()));
  }

  /** Whether an authorisation code for this consent may still be exchanged for a payments token. */
  consentUsable(consentId: string): boolean {
    const status = this.consents.get(consentId)?.Status;
    return status === 'Authorised' || status === 'Consumed';
  }

  /** The account of `psuId` the consent's DebtorAccount names, or their first account in its currency. */
  debtorFor(consent: PaymentConsent, psuId: string): BankAccount | null {
    const ids = this.base.bank.byPsu.get(psuId) ?? [];
    const accounts = ids.flatMap((id) => this.base.bank.accounts.get(id) ?? []);
    const wanted = consent.Data.Initiation.DebtorAccount;
    if (!wanted) {
      const currency = consent.Data.Initiation.InstructedAmount.Currency;
      return (
        accounts.find((a) => a.account.Currency === currency && a.account.AccountSubType !== 'CreditCard') ??
        null
      );
    }
    return (
      accounts.find((a) =>
        (a.account.Account ?? []).some(
          (id) =>
            id.SchemeName === wanted.SchemeName &&
            id.Identification.toUpperCase() === wanted.Identification.toUpperCase(),
        ),
      ) ?? null
    );
  }

  /** Executes a payment from an authorised consent: accepted (money moves) or rejected. */
  execute(consent: PaymentConsent, idempotencyKey: string): DomesticPayment {
    const account = this.base.bank.accounts.get(consent.debtorAccountId ?? '');
    if (!account) throw new Error(`consent ${consent.ConsentId} has no debtor account`);
    const initiation = consent.Data.Initiation;
    const { Amount, Currency } = initiation.InstructedAmount;
    const rejection = this.rejectionFor(account, Amount, Currency);
    const now = this.now();
    const payment: DomesticPayment = {
      DomesticPaymentId: `dp-${randomUUID()}`,
      ConsentId: consent.ConsentId,
      clientId: consent.clientId,
      Status: rejection ? 'Rejected' : 'AcceptedSettlementInProcess',
      createdAt: now,
      statusAt: now,
      Initiation: initiation,
      debtorAccountId: account.account.AccountId,
      settlesAt: rejection || this.options.settlementMs === null ? null : now + this.options.settlementMs,
      rejection,
    };
    this.payments.set(payment.DomesticPaymentId, payment);
    this.setConsentStatus(consent, 'Consumed');
    if (!rejection) {
      this.spent.set(payment.debtorAccountId, this.spentFrom(payment.debtorAccountId) + scaled(Amount));
      this.ledger.recordMovement({
        id: payment.DomesticPaymentId,
        kind: 'domestic-payment',
        amount: Amount,
        currency: Currency,
        idempotencyKey,
        ...(initiation.RemittanceInformation?.Reference
          ? { reference: initiation.RemittanceInformation.Reference }
          : {}),
        at: obDateTime(new Date(now)),
      });
    }
    this.notify(payment);
    return payment;
  }

  /** The payment with settlement applied up to the sandbox's now. */
  current(payment: DomesticPayment): DomesticPayment {
    if (
      payment.Status === 'AcceptedSettlementInProcess' &&
      payment.settlesAt !== null &&
      payment.settlesAt <= this.now()
    ) {
      payment.Status = 'AcceptedSettlementCompleted';
      payment.statusAt = payment.settlesAt;
      this.notify(payment);
    }
    return payment;
  }

  /** The control route: moves a payment to any status, and stops the clock moving it further. */
  force(payment: DomesticPayment, status: DomesticPaymentStatus): DomesticPayment {
    this.current(payment);
    if (status === 'Rejected' && payment.Status !== 'Rejected') {
      // Money a rejected payment reserved is available again; the ledger keeps what happened.
      const amount = scaled(payment.Initiation.InstructedAmount.Amount);
      this.spent.set(payment.debtorAccountId, this.spentFrom(payment.debtorAccountId) - amount);
      payment.rejection ??= { code: 'NARR', description: 'Rejected by the sandbox control route.' };
    }
    payment.Status = status;
    payment.statusAt = this.now();
    payment.settlesAt = null;
    this.notify(payment);
    return payment;
  }

  /** Available money of an account: its seeded available balance minus what it paid here. */
  available(account: BankAccount): bigint {
    const balance = AVAILABLE_ORDER.flatMap((type) => account.balances.filter((b) => b.Type === type))[0];
    if (!balance) return 0n;
    const seeded = scaled(balance.Amount.Amount) * (balance.CreditDebitIndicator === 'Debit' ? -1n : 1n);
    return seeded - this.spentFrom(account.account.AccountId);
  }

  private rejectionFor(account: BankAccount, amount: string, currency: string): Rejection | null {
    if (account.account.Currency !== currency) {
      return { code: 'AM03', description: `The debtor account does not hold ${currency}.` };
    }
    if (scaled(amount) > this.available(account)) {
      return { code: 'AM04', description: 'Insufficient funds on the debtor account.' };
    }
    return null;
  }

  private spentFrom(accountId: string): bigint {
    return this.spent.get(accountId) ?? 0n;
  }

  private notify(payment: DomesticPayment): void {
    this.options.onStatus?.({
      DomesticPaymentId: payment.DomesticPaymentId,
      ConsentId: payment.ConsentId,
      clientId: payment.clientId,
      Status: payment.Status,
      at: obDateTime(new Date(payment.statusAt)),
    });
  }
}
