/**
 * How the registry builds the Open Banking provider from configuration, and what a sandbox link
 * grants in canonical permission names.
 */
import type { ProviderDeps, ProviderSettings } from '../registry.js';
import type { Provider } from '../types.js';
import { createOpenBankingProvider, DEFAULT_PERMISSIONS } from './index.js';

/** Open Banking permissions -> the canonical permissions a consent record holds. */
const CANONICAL_PERMISSIONS = {
  ReadAccountsDetail: 'accounts:read',
  ReadBalances: 'balances:read',
  ReadTransactionsDetail: 'transactions:read',
} as const;

export function openBankingFromSettings(settings: ProviderSettings, deps: ProviderDeps): Provider {
  const { endpoint, http } = settings;
  const provider = createOpenBankingProvider(
    {
      baseUrl: endpoint.baseUrl,
      clientId: endpoint.clientId ?? '',
      clientSecret: endpoint.clientSecret,
      connections: http.maxConnections,
      maxResponseBytes: http.maxResponseBytes,
      timeouts: {
        connectMs: http.connectTimeoutMs,
        headersMs: http.readTimeoutMs,
        bodyMs: http.readTimeoutMs,
        totalMs: http.readTimeoutMs,
      },
    },
    deps,
  );
  if (!settings.sandbox) return provider;
  return {
    ...provider,
    async connectSandboxCustomer(customerId) {
      const credential = await provider.connectCustomer(customerId);
      return {
        externalRef: credential.externalRef,
        accessToken: credential.accessToken,
        refreshToken: credential.refreshToken,
        tokenExpiresAt: credential.expiresAt,
        permissions: DEFAULT_PERMISSIONS.flatMap((permission) =>
          permission in CANONICAL_PERMISSIONS
            ? [CANONICAL_PERMISSIONS[permission as keyof typeof CANONICAL_PERMISSIONS]]
            : [],
        ),
        expiresAt: null,
      };
    },
  };
}
