/** How the registry builds the Stripe provider from configuration. */
import type { ProviderDeps, ProviderSettings } from '../registry.js';
import type { Provider } from '../../domain/providers.js';
import { createStripeProvider } from './provider.js';

/**
 * The Stripe provider for the registry. Stripe authenticates with the secret key alone
 * (`endpoint.clientSecret`); a payment confirmation waits on the card network, so calls get the
 * payment timeout. Without PAYMENT_RETURN_URL, 3-D Secure answers `use_stripe_sdk` (the mobile SDK
 * handles it); with it, a `redirect_to_url` next action.
 */
export function stripeFromSettings(settings: ProviderSettings, deps: ProviderDeps): Provider {
  const { endpoint, http } = settings;
  return createStripeProvider(
    {
      baseUrl: endpoint.baseUrl,
      secretKey: endpoint.clientSecret,
      ...(settings.returnUrl ? { returnUrl: settings.returnUrl } : {}),
      timeoutMs: http.paymentTimeoutMs,
      connections: http.maxConnections,
      maxResponseBytes: http.maxResponseBytes,
      ...(settings.policy ? { policy: settings.policy } : {}),
    },
    { credentials: deps.credentials, logger: deps.logger },
  );
}
