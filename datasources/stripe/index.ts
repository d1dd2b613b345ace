/**
 * The Stripe partner module: card payments and refunds through the official SDK. Stripe authenticates
 * with the secret key alone (`endpoint.clientSecret`). Without PAYMENT_RETURN_URL, 3-D Secure answers
 * `use_stripe_sdk` (the mobile SDK handles it); with it, a `redirect_to_url` next action. Webhooks are
 * signed `Stripe-Signature: t=...,v1=...` with the endpoint secrets.
 */
import type { Provider } from '../../domain/providers.js';
import { partnerEnvSection } from '../env.js';
import type { PartnerModule, ProviderDeps, ProviderSettings } from '../module.js';
import { createStripeProvider } from './provider.js';
import { STRIPE_DEV_WEBHOOK_SECRET, stripeWebhookVerifier } from './webhook.js';

function createProvider(settings: ProviderSettings, deps: ProviderDeps): Provider {
  const { endpoint, calls } = settings;
  return createStripeProvider(
    {
      baseUrl: endpoint.baseUrl,
      secretKey: endpoint.clientSecret,
      ...(settings.returnUrl ? { returnUrl: settings.returnUrl } : {}),
      timeoutMs: calls.timeoutMs.write,
      readTimeoutMs: calls.timeoutMs.read,
      connections: calls.maxConnections,
      maxResponseBytes: calls.maxResponseBytes,
      policy: settings.policy,
    },
    { credentials: deps.credentials, logger: deps.logger },
  );
}

export const stripe: PartnerModule = {
  name: 'stripe',
  title: 'Stripe',
  capabilities: ['card-payments'],
  env: partnerEnvSection({
    name: 'stripe',
    clientId: null,
    secret: 'SECRET_KEY',
    webhooks: { scheme: 'shared-secret', devSecret: STRIPE_DEV_WEBHOOK_SECRET },
  }),
  createProvider,
  webhooks: {
    usesSharedSecrets: true,
    createVerifier: ({ settings, toleranceSeconds }) =>
      stripeWebhookVerifier({ secrets: settings.webhookSecrets, toleranceSeconds }),
  },
};
