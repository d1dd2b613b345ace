/**
 * The payments service against the real Stripe sandbox, in-process: a database from the test backend,
 * the Stripe provider over loopback HTTP, customers linked through the sandbox, and helpers to read
 * what the partner really did (the sandbox ledger) next to what we recorded (our ledger).
 */
import pino from 'pino';
import type { Payment, ProviderName } from '../../../domain/model.js';
import { createStripeProvider, type StripeProvider } from '../../../datasources/stripe/provider.js';
import type {
  CallContext,
  CredentialStore,
  PartnerCredential,
  PaymentsProvider,
} from '../../../domain/providers.js';
import type { MoneyMovement, SandboxHandle } from '../../../sandboxes/kit/sandbox.js';
import { startStripeSandbox, STRIPE_SANDBOX_SECRET_KEY } from '../../../sandboxes/stripe/index.js';
import { PaymentService, type PaymentServiceOptions } from '../../../services/payments/index.js';
import { AuditLog } from '../../../store/audit.js';
import type { Db } from '../../../store/db.js';
import { PaymentRepository } from '../../../store/payments.js';
import { refreshInPlace } from '../../helpers/credentials.js';
import type { TestBackend } from '../../helpers/db.js';

export const SUBJECTS = ['cust_alice', 'cust_bob'] as const;
export const PARTNER_KEY_SECRET = 'test-partner-key-secret';
const logger = pino({ level: 'silent' });

export interface PaymentsHarness {
  db: Db;
  sandbox: SandboxHandle;
  provider: StripeProvider;
  audit: AuditLog;
  /**
   * A fresh service over the same database and partner (a restarted process), or over `on`, another
   * handle on the same database (another replica).
   */
  service(
    options?: Partial<PaymentServiceOptions>,
    wrap?: (payments: PaymentsProvider) => PaymentsProvider,
    on?: Db,
  ): PaymentService;
  call(subject?: string, signal?: AbortSignal): CallContext;
  /** PaymentIntents the sandbox really created under our partner keys. */
  partnerPayments(): MoneyMovement[];
  partnerRefunds(): MoneyMovement[];
  /** Every payment in our ledger at Stripe. */
  ledger(): Promise<{ partnerId: string; amountMinor: bigint; currency: string }[]>;
  close(): Promise<void>;
}

/** In-memory credentials: what the consents store would hold after linking. */
class MemoryCredentials implements CredentialStore {
  readonly links = new Map<string, PartnerCredential>();
  async get(subject: string, provider: ProviderName) {
    return this.links.get(`${subject}|${provider}`) ?? null;
  }
  async update(credential: PartnerCredential) {
    this.links.set(`${credential.subject}|${credential.provider}`, credential);
  }
  refreshing: CredentialStore['refreshing'] = (subject, provider, _externalRef, fn) =>
    refreshInPlace(this, subject, provider, fn);
}

export async function startPaymentsHarness(
  backend: TestBackend,
  defaults: Partial<PaymentServiceOptions> = {},
  providerOptions: { timeoutMs?: number } = {},
): Promise<PaymentsHarness> {
  const db = await backend.open();
  const sandbox = await startStripeSandbox({ empty: true });
  const credentials = new MemoryCredentials();
  const stripeAt = (timeoutMs: number) =>
    createStripeProvider(
      {
        baseUrl: sandbox.url,
        secretKey: STRIPE_SANDBOX_SECRET_KEY,
        returnUrl: 'https://app.example/return',
        timeoutMs,
      },
      { credentials, logger },
    );
  // Linking is setup, not the subject of the tests: it gets a timeout no loaded machine exceeds.
  const linker = stripeAt(30_000);
  for (const subject of SUBJECTS) {
    const link = await linker.connectSandboxCustomer(subject);
    await credentials.update({
      subject,
      provider: 'stripe',
      externalRef: link.externalRef,
      accessToken: link.accessToken,
      refreshToken: null,
      expiresAt: null,
    });
  }
  await linker.close();
  const provider = stripeAt(providerOptions.timeoutMs ?? 10_000);
  const audit = new AuditLog(db);
  const movements = (kind: string) =>
    sandbox
      .ledger()
      .movements.filter((movement) => movement.kind === kind && movement.idempotencyKey?.startsWith('trb1-'));
  return {
    db,
    sandbox,
    provider,
    audit,
    service: (options = {}, wrap = (payments) => payments, on = db) =>
      new PaymentService(
        {
          db: on,
          audit: on === db ? audit : new AuditLog(on),
          logger,
          providers: () => wrap(provider.payments),
        },
        { partnerKeySecret: PARTNER_KEY_SECRET, cardProvider: 'stripe', ...defaults, ...options },
      ),
    call: (subject = 'cust_alice', signal) => ({
      subject,
      correlationId: `test-${Math.random().toString(36).slice(2)}`,
      logger,
      ...(signal ? { signal } : {}),
    }),
    partnerPayments: () => movements('payment-intent'),
    partnerRefunds: () => movements('refund'),
    ledger: async () =>
      (await new PaymentRepository(db).ledger('stripe')).map((entry) => ({
        partnerId: entry.partnerId,
        amountMinor: entry.amountMinor,
        currency: entry.currency,
      })),
    async close() {
      await provider.close();
      await sandbox.close();
      await db.close();
    },
  };
}

/** initiatePayment input for a card payment. */
export function cardPayment(amount = '12.34', paymentMethodId = 'pm_card_visa', currency = 'GBP') {
  return { paymentMethodId, amount: { amount, currency }, reference: 'Order 42' };
}

/** A payload with its Dates and bigints in a comparable, printable form. */
export function comparable(payment: Payment | null): unknown {
  return payment
    ? JSON.parse(
        JSON.stringify(payment, (_key, value: unknown) =>
          typeof value === 'bigint' ? value.toString() : value,
        ),
      )
    : null;
}
