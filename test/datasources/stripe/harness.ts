/**
 * The Stripe provider against a fresh Stripe sandbox, for the provider suites: hooks that start and
 * reset the sandbox, credentials linking cust_alice and cust_bob to their seeded Stripe customers,
 * and small helpers.
 */
import { pino } from 'pino';
import { afterAll, beforeAll, beforeEach } from 'vitest';
import type { ProviderName } from '../../../domain/model.js';
import { money } from '../../../domain/money.js';
import { createStripeProvider, type StripeProvider } from '../../../datasources/stripe/provider.js';
import type {
  CallContext,
  CreatePaymentRequest,
  CredentialStore,
  PartnerCredential,
} from '../../../domain/providers.js';
import type { SandboxHandle } from '../../../sandboxes/kit/sandbox.js';
import {
  SEEDED_CUSTOMERS,
  startStripeSandbox,
  STRIPE_SANDBOX_SECRET_KEY,
  type SeenRequest,
} from '../../../sandboxes/stripe/index.js';
import { noRefreshing } from '../../helpers/credentials.js';

export const logger = pino({ level: 'silent' });
let keySeq = 0;

/** Credentials as the consents store would hand them over after connectSandboxCustomer. */
const links = new Map<string, string>(Object.entries(SEEDED_CUSTOMERS));
export const credentials: CredentialStore = {
  async get(subject: string, partner: ProviderName): Promise<PartnerCredential | null> {
    const ref = links.get(subject);
    return ref
      ? { subject, provider: partner, externalRef: ref, accessToken: '', refreshToken: null, expiresAt: null }
      : null;
  },
  async update() {},
  refreshing: noRefreshing,
};

export const ctx = (subject: string, correlationId = `corr-${subject}-${++keySeq}`): CallContext => ({
  subject,
  correlationId,
  logger,
});
export const key = () => `test-key-${Date.now()}-${++keySeq}`;

export function cardPayment(overrides: Partial<CreatePaymentRequest> = {}): CreatePaymentRequest {
  return {
    amount: money(2599, 'GBP'),
    reference: 'Order 77',
    debtorPartnerAccountId: null,
    paymentMethodId: 'pm_card_visa',
    creditor: { name: 'Tributary Shop', sortCode: null, accountNumber: null, iban: null },
    partnerIdempotencyKey: key(),
    ...overrides,
  };
}

export async function failure(promise: Promise<unknown>): Promise<unknown> {
  try {
    await promise;
  } catch (error) {
    return error;
  }
  throw new Error('expected a failure');
}

export interface Harness {
  readonly sandbox: SandboxHandle;
  readonly provider: StripeProvider;
  /** Money movements of a kind the sandbox really made. */
  movements(kind: string): { id: string; idempotencyKey?: string }[];
  /** What clients sent, as the sandbox saw it. */
  seen(): Promise<SeenRequest[]>;
}

/** Registers the suite's hooks; the harness's fields are set once beforeAll has run. */
export function useStripeHarness(): Harness {
  let sandbox: SandboxHandle | undefined;
  let provider: StripeProvider | undefined;
  const ready = <T>(value: T | undefined): T => {
    if (value === undefined) throw new Error('the Stripe harness is used before beforeAll ran');
    return value;
  };
  const harness: Harness = {
    get sandbox() {
      return ready(sandbox);
    },
    get provider() {
      return ready(provider);
    },
    movements: (kind) => harness.sandbox.ledger().movements.filter((movement) => movement.kind === kind),
    async seen() {
      const res = await fetch(`${harness.sandbox.url}/__sandbox/stripe/requests`);
      return ((await res.json()) as { requests: SeenRequest[] }).requests;
    },
  };
  beforeAll(async () => {
    sandbox = await startStripeSandbox();
    provider = createStripeProvider(
      {
        baseUrl: sandbox.url,
        secretKey: STRIPE_SANDBOX_SECRET_KEY,
        returnUrl: 'https://app.example/payments/return',
        timeoutMs: 1_000,
      },
      { credentials, logger },
    );
  });
  afterAll(async () => {
    await provider?.close();
    await sandbox?.close();
  });
  beforeEach(async () => {
    await fetch(`${harness.sandbox.url}/__sandbox/reset`, { method: 'POST' });
  });
  return harness;
}
