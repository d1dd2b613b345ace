/**
 * The Adyen partner module: card payments, cancels and refunds through the official
 * `@adyen/api-library` (CheckoutAPI v71). Adyen authenticates the platform with an API key
 * (`ADYEN_API_KEY`, the secret) for a merchant account (`ADYEN_MERCHANT_ACCOUNT`, in the client id's
 * place); webhooks are HMAC-signed per notification item with the hex keys of `ADYEN_WEBHOOK_SECRETS`
 * and acknowledged `[accepted]`.
 *
 * The read path: Checkout has no "get payment by pspReference" endpoint, so the module keeps its own
 * record of each payment (migrations/100_adyen_payments.sql): Adyen's synchronous answers, written by
 * the provider, and every verified notification item, written by the verifier before the delivery is
 * acknowledged (the HMAC covers the item, so a verified item is Adyen's authoritative word). The
 * provider's getPayments folds both (mapper.ts), so the webhook worker's pull reads what the
 * notification said. Capture: payments are sales captured at authorisation (`captureDelayHours: 0`).
 */
import type { Provider } from '../../domain/providers.js';
import { partnerEnvSection } from '../env.js';
import type { PartnerModule, ProviderDeps, ProviderSettings, VerifierSettings } from '../module.js';
import { createAdyenProvider } from './provider.js';
import { AdyenPaymentStore } from './store.js';
import { ADYEN_ACKNOWLEDGEMENT, ADYEN_DEV_HMAC_KEY, adyenWebhookVerifier, isHmacKey } from './webhook.js';

/**
 * Where the shopper returns from an issuer's 3-D Secure redirect when PAYMENT_RETURN_URL is unset.
 * Adyen requires a return URL on every payment; a native 3-D Secure 2 challenge (the app's Drop-in)
 * never uses it, a redirect does: set PAYMENT_RETURN_URL where cards redirect.
 */
export const ADYEN_FALLBACK_RETURN_URL = 'https://tributary.invalid/payments/return';

function createProvider(settings: ProviderSettings, deps: ProviderDeps): Provider {
  const { endpoint, calls } = settings;
  const merchantAccount = endpoint.clientId;
  if (!merchantAccount) throw new Error('Adyen needs a merchant account (ADYEN_MERCHANT_ACCOUNT).');
  return createAdyenProvider(
    {
      baseUrl: endpoint.baseUrl,
      apiKey: endpoint.clientSecret,
      merchantAccount,
      returnUrl: settings.returnUrl ?? ADYEN_FALLBACK_RETURN_URL,
      timeoutMs: calls.timeoutMs.write,
      connections: calls.maxConnections,
      maxResponseBytes: calls.maxResponseBytes,
      policy: settings.policy,
    },
    new AdyenPaymentStore(deps.db),
  );
}

function createVerifier({ settings, db }: VerifierSettings) {
  return adyenWebhookVerifier({
    keys: settings.webhookSecrets,
    sink: db ? new AdyenPaymentStore(db) : null,
  });
}

export const adyen: PartnerModule = {
  name: 'adyen',
  title: 'Adyen',
  capabilities: ['card-payments'],
  env: partnerEnvSection({
    name: 'adyen',
    clientId: 'MERCHANT_ACCOUNT',
    secret: 'API_KEY',
    webhooks: { scheme: 'shared-secret', devSecret: ADYEN_DEV_HMAC_KEY },
    problems: (env) => {
      const keys = (env.ADYEN_WEBHOOK_SECRETS ?? '').split(',').map((key) => key.trim());
      return keys.some((key) => key !== '' && !isHmacKey(key))
        ? ['ADYEN_WEBHOOK_SECRETS: each HMAC key is hex, at least 32 digits']
        : [];
    },
  }),
  createProvider,
  webhooks: { usesSharedSecrets: true, createVerifier, acknowledgement: ADYEN_ACKNOWLEDGEMENT },
  migrations: 'datasources/adyen/migrations',
};
