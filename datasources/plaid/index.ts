/** How the registry builds the Plaid provider from configuration. */
import { PlaidSyncRepository } from '../../store/plaid-sync.js';
import type { ProviderDeps, ProviderSettings } from '../registry.js';
import type { Provider } from '../../domain/providers.js';
import { createPlaidProvider } from './provider.js';

export function plaidFromSettings(settings: ProviderSettings, deps: ProviderDeps): Provider {
  const { endpoint, http } = settings;
  return createPlaidProvider(
    {
      baseUrl: endpoint.baseUrl,
      clientId: endpoint.clientId ?? '',
      secret: endpoint.clientSecret,
      connections: http.maxConnections,
      maxResponseBytes: http.maxResponseBytes,
      ...(settings.policy ? { policy: settings.policy } : {}),
      timeouts: {
        connectMs: http.connectTimeoutMs,
        headersMs: http.readTimeoutMs,
        bodyMs: http.readTimeoutMs,
        totalMs: http.readTimeoutMs,
      },
    },
    { credentials: deps.credentials, sync: new PlaidSyncRepository(deps.db), logger: deps.logger },
  );
}
