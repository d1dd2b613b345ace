/**
 * The Adyen sandbox's merchant account: the payments it made, their modifications (captures, cancels,
 * refunds) and disputes, and the ledger entry of each payment. Adyen has no "get payment" endpoint, so
 * this state is only seen through the answers, the notifications and the ledger (`payments`).
 */
import { randomBytes } from 'node:crypto';
import { Ledger, type LedgerSnapshot } from '../kit/sandbox.js';
import type { TestCard } from './cards.js';

export interface Amount {
  value: number;
  currency: string;
}

/** Payment result codes the sandbox answers (a subset of PaymentResponse.resultCode). */
export type ResultCode =
  'Authorised' | 'Refused' | 'ChallengeShopper' | 'RedirectShopper' | 'Error' | 'Cancelled';

/**
 * Where a payment is in the sandbox's book. Not an Adyen field: Adyen reports these steps only
 * through notifications, and the ledger shows them so tests can assert what happened.
 */
export type PaymentStatus =
  | 'pending_authentication'
  | 'authorised'
  | 'refused'
  | 'error'
  | 'captured'
  | 'cancelled'
  | 'partially_refunded'
  | 'refunded';

export type ModificationKind = 'capture' | 'cancel' | 'refund';

export interface Modification {
  pspReference: string;
  kind: ModificationKind;
  amount: Amount | null;
  reference: string | null;
  success: boolean;
  reason: string | null;
}

export interface AdyenPayment {
  pspReference: string;
  merchantAccount: string;
  merchantReference: string;
  amount: Amount;
  card: TestCard;
  expiry: string;
  holderName: string | null;
  resultCode: ResultCode;
  status: PaymentStatus;
  refusal: { reason: string; code: string } | null;
  /** Auto capture unless the request or the sandbox asked for manual capture. */
  manualCapture: boolean;
  captured: number;
  refunded: number;
  idempotencyKey: string | null;
  shopperReference: string | null;
  returnUrl: string;
  /** The opaque token of a pending 3-D Secure step, asked back by /payments/details. */
  paymentData: string | null;
  /** What the shopper did on the challenge or redirect page (control route); null until then. */
  authentication: 'passed' | 'failed' | null;
  modifications: Modification[];
  createdAt: string;
}

/** One payment as the ledger lists it (routing tests: at most one success per idempotency key). */
export interface LedgerPayment {
  pspReference: string;
  merchantReference: string;
  idempotencyKey: string | null;
  resultCode: ResultCode;
  status: PaymentStatus;
  amount: Amount;
  captured: number;
  refunded: number;
}

/** The kit's ledger snapshot plus the payments the sandbox made. */
export interface AdyenLedgerSnapshot extends LedgerSnapshot {
  payments: LedgerPayment[];
}

/**
 * The kit's ledger, whose snapshot (handle.ledger(), GET /__sandbox/ledger) also lists the payments made
 * since the last reset, as they are now.
 */
export class AdyenLedger extends Ledger {
  readonly #listed = new Set<string>();

  constructor(private readonly state: AdyenState) {
    super();
  }

  /** Lists a payment (and records its movement, amount in minor units as Adyen writes it). */
  recordPayment(payment: AdyenPayment): void {
    this.#listed.add(payment.pspReference);
    this.recordMovement({
      id: payment.pspReference,
      kind: 'payment',
      amount: String(payment.amount.value),
      currency: payment.amount.currency,
      ...(payment.idempotencyKey ? { idempotencyKey: payment.idempotencyKey } : {}),
      reference: payment.merchantReference,
      at: payment.createdAt,
    });
  }

  override snapshot(): AdyenLedgerSnapshot {
    const payments = [...this.#listed].flatMap((psp) => {
      const payment = this.state.payments.get(psp);
      return payment ? [ledgerPayment(payment)] : [];
    });
    return { ...super.snapshot(), payments };
  }

  override reset(): void {
    super.reset();
    this.#listed.clear();
  }
}

function ledgerPayment(payment: AdyenPayment): LedgerPayment {
  return {
    pspReference: payment.pspReference,
    merchantReference: payment.merchantReference,
    idempotencyKey: payment.idempotencyKey,
    resultCode: payment.resultCode,
    status: payment.status,
    amount: { ...payment.amount },
    captured: payment.captured,
    refunded: payment.refunded,
  };
}

const PSP_ALPHABET = '0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZ';

/** A 16-character PSP reference in Adyen's style (upper-case letters and digits). */
export function newPspReference(): string {
  let out = '';
  for (const byte of randomBytes(16)) out += PSP_ALPHABET[byte % PSP_ALPHABET.length];
  return out;
}

/** The issuer's authorisation code of a payment (six digits, derived from its PSP reference). */
export function authCode(pspReference: string): string {
  return String(100000 + (parseInt(pspReference.slice(-5), 36) % 900000));
}

/** The payments of one sandbox, by PSP reference. */
export class AdyenState {
  readonly payments = new Map<string, AdyenPayment>();
  /** Payments waiting on 3-D Secure, by paymentData token. */
  readonly byPaymentData = new Map<string, string>();

  /** The payment a modification names, or undefined. */
  payment(pspReference: string): AdyenPayment | undefined {
    return this.payments.get(pspReference);
  }

  clear(): void {
    this.payments.clear();
    this.byPaymentData.clear();
  }
}
