/**
 * The Adyen provider: card payments, cancels and refunds through the official library's CheckoutAPI,
 * with the module's own record of each payment (store.ts) as the read path. Built by the module's
 * `createProvider` (index.ts) from the endpoint, call settings and resilience policy the registry hands it.
 */
import type { Provider } from '../../domain/providers.js';
import type { CallPolicy } from '../http.js';
import { AdyenClient } from './client.js';
import { AdyenPayments } from './payments.js';
import type { AdyenPaymentStore } from './store.js';

export { AdyenPayments } from './payments.js';

/** Configuration of the Adyen provider. */
export interface AdyenOptions {
  /** The Checkout API root (with its version, or an origin: /v71 is added). */
  baseUrl: string;
  apiKey: string;
  merchantAccount: string;
  /** Where the issuer's 3-D Secure redirect returns the shopper. */
  returnUrl: string;
  /** Bound on one call attempt. */
  timeoutMs: number;
  connections: number;
  maxResponseBytes: number;
  policy: CallPolicy;
}

/** The Adyen registry entry. `payments` adds submitDetails to the contract. */
export interface AdyenProvider extends Provider {
  readonly name: 'adyen';
  readonly payments: AdyenPayments;
  eraseSubject(subject: string): Promise<number>;
}

/** Builds the provider; throws when the options cannot work (bad base URL). */
export function createAdyenProvider(options: AdyenOptions, store: AdyenPaymentStore): AdyenProvider {
  const client = new AdyenClient({
    baseUrl: options.baseUrl,
    apiKey: options.apiKey,
    timeoutMs: options.timeoutMs,
    connections: options.connections,
    maxResponseBytes: options.maxResponseBytes,
    policy: options.policy,
  });
  const payments = new AdyenPayments(client, store, {
    merchantAccount: options.merchantAccount,
    returnUrl: options.returnUrl,
  });
  return {
    name: 'adyen',
    payments,
    eraseSubject: (subject) => payments.eraseSubject(subject),
    close: () => client.close(),
  };
}
