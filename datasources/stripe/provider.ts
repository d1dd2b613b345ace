/**
 * The Stripe provider: card payments, refunds and the subject's payment list, through the official
 * SDK. Registry line: `stripe: (config, deps) => createStripeProvider(config.partners.stripe, deps)`.
 */
import { randomUUID } from 'node:crypto';
import type { Logger } from 'pino';
import { InputError } from '../../domain/errors.js';
import type { CallPolicy } from '../http.js';
import type { CredentialStore, Provider, SandboxLink } from '../../domain/providers.js';
import { StripeClient } from './client.js';
import { SUBJECT_KEY } from './mapper.js';
import { StripePayments } from './payments.js';

export type { CardPaymentOutcome, StripePaymentPage } from './payments.js';
export type { DeclineCode, PaymentDeclined } from './errors.js';
export { DECLINE_CODES } from './errors.js';
export { StripePayments } from './payments.js';

/** Configuration of the Stripe provider (server/config.ts builds it). */
export interface StripeOptions {
  /** API origin: https://api.stripe.com, or the local sandbox's URL. */
  baseUrl: string;
  /** Secret key (sk_test_... / sk_live_...). */
  secretKey: string;
  /**
   * Where 3-D Secure sends the customer back after authenticating (PaymentIntent `return_url`):
   * with it, authentication is a `redirect_to_url` next action; without it, Stripe answers
   * `use_stripe_sdk` and the app completes authentication with Stripe.js.
   */
  returnUrl?: string;
  /** Bound on one call, end to end. Default 15 s (a payment confirmation waits on the card network). */
  timeoutMs?: number;
  /** Bound on one read (GET). Default `timeoutMs`. */
  readTimeoutMs?: number;
  /** Connection cap of the keep-alive agent. Default 10. */
  connections?: number;
  /** Response body cap in bytes. Default 5 MiB. */
  maxResponseBytes?: number;
  /** Resilience policy for Stripe (resilience.ts); none: one attempt per call. */
  policy?: CallPolicy;
}

/** What the provider needs from the process. */
export interface StripeProviderDeps {
  credentials: CredentialStore;
  logger: Logger;
}

/** The Stripe registry entry. `payments` adds createCardPayment and listPayments to the contract. */
export interface StripeProvider extends Provider {
  readonly name: 'stripe';
  readonly payments: StripePayments;
  connectSandboxCustomer(customerId: string): Promise<SandboxLink>;
}

const PERMISSIONS = ['payments:read', 'payments:write'];

/** Builds the provider; throws when the options cannot work (bad base URL). */
export function createStripeProvider(options: StripeOptions, deps: StripeProviderDeps): StripeProvider {
  const logger = deps.logger.child({ partner: 'stripe' });
  const client = new StripeClient({
    baseUrl: options.baseUrl,
    secretKey: options.secretKey,
    logger,
    timeoutMs: options.timeoutMs ?? 15_000,
    ...(options.readTimeoutMs ? { readTimeoutMs: options.readTimeoutMs } : {}),
    connections: options.connections ?? 10,
    maxResponseBytes: options.maxResponseBytes ?? 5 * 1024 * 1024,
    ...(options.policy ? { policy: options.policy } : {}),
  });
  const payments = new StripePayments(client, deps.credentials, options.returnUrl ?? null);
  return {
    name: 'stripe',
    payments,
    /**
     * Links a subject to a Stripe customer tagged with it, creating the customer once (the
     * idempotency key is derived from the subject). Stripe authenticates the platform, not the
     * customer, so the link carries no token of its own.
     */
    async connectSandboxCustomer(customerId: string): Promise<SandboxLink> {
      if (!options.secretKey.startsWith('sk_test_')) {
        throw new Error('connectSandboxCustomer needs a Stripe test-mode key.');
      }
      if (!/^[A-Za-z0-9_.:@-]{1,200}$/.test(customerId))
        throw new InputError('Not a customer id.', 'customerId');
      const call = { correlationId: randomUUID(), logger };
      const existing = await client.findCustomerBySubject(call, SUBJECT_KEY, customerId);
      const customer =
        existing ??
        (await client.createCustomer(
          call,
          { description: `Tributary subject ${customerId}`, metadata: { [SUBJECT_KEY]: customerId } },
          `tributary-sandbox-link:${customerId}`,
        ));
      return {
        externalRef: customer.id,
        accessToken: '',
        refreshToken: null,
        tokenExpiresAt: null,
        permissions: [...PERMISSIONS],
        expiresAt: null,
      };
    },
    close: () => client.close(),
  };
}
