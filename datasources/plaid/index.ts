/**
 * The Plaid partner module: an account aggregator (accounts, balances, transactions) through the
 * official SDK. It keeps the transactions of each Item locally (`/transactions/sync` with a persisted
 * cursor, tables of its own in `migrations/`), and verifies webhooks with Plaid's ES256 JWT, fetching
 * the public key by `kid` from Plaid itself.
 */
import type { Provider } from '../../domain/providers.js';
import { partnerEnvSection } from '../env.js';
import type { PartnerModule, ProviderDeps, ProviderSettings, VerifierSettings } from '../module.js';
import { PlaidClient } from './client.js';
import { createPlaidProvider } from './provider.js';
import { PlaidSyncRepository } from './store.js';
import { plaidWebhookVerifier, type PlaidKeyFetcher } from './webhook.js';

function createProvider(settings: ProviderSettings, deps: ProviderDeps): Provider {
  const { endpoint, calls } = settings;
  return createPlaidProvider(
    {
      baseUrl: endpoint.baseUrl,
      clientId: endpoint.clientId ?? '',
      secret: endpoint.clientSecret,
      connections: calls.maxConnections,
      maxResponseBytes: calls.maxResponseBytes,
      policy: settings.policy,
      timeouts: {
        connectMs: calls.connectTimeoutMs,
        headersMs: calls.timeoutMs.read,
        bodyMs: calls.timeoutMs.read,
        totalMs: calls.timeoutMs.read,
      },
    },
    { credentials: deps.credentials, sync: new PlaidSyncRepository(deps.db), logger: deps.logger },
  );
}

/**
 * The verifier, with a small client of its own for `/webhook_verification_key/get`. Without an
 * endpoint no key can be fetched, so every delivery is refused (unknown_key).
 */
function createVerifier({ endpoint, logger }: VerifierSettings) {
  if (!endpoint) return plaidWebhookVerifier({ fetchKey: async () => null, clockToleranceSeconds: 30 });
  const client = new PlaidClient({
    baseUrl: endpoint.baseUrl,
    clientId: endpoint.clientId ?? '',
    secret: endpoint.clientSecret,
    connections: 2,
  });
  const fetchKey: PlaidKeyFetcher = async (kid) => {
    try {
      return await client.getWebhookVerificationKey({ correlationId: `plaid-key-${kid}`, logger }, kid);
    } catch (error) {
      // Plaid answers 400 for a kid it does not know: a forgery, not an outage.
      if ((error as { status?: number }).status === 400) return null;
      throw error;
    }
  };
  return { ...plaidWebhookVerifier({ fetchKey, clockToleranceSeconds: 30 }), close: () => client.close() };
}

export const plaid: PartnerModule = {
  name: 'plaid',
  title: 'Plaid',
  capabilities: ['accounts'],
  env: partnerEnvSection({
    name: 'plaid',
    clientId: 'CLIENT_ID',
    secret: 'SECRET',
    webhooks: { scheme: 'key-pair' },
  }),
  createProvider,
  webhooks: { usesSharedSecrets: false, createVerifier },
  migrations: 'datasources/plaid/migrations',
};
