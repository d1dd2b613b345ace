/**
 * How the registry builds the Open Banking provider from configuration, and what a sandbox link
 * grants in canonical permission names. The client certificate (mutual TLS) comes from the endpoint:
 * the OPENBANKING_TLS_* files in production, the local CA set the sandbox was started with otherwise.
 * Against the sandbox, payments are approved by its stand-in for the customer; against a bank, they
 * wait for the customer at the bank (REQUIRES_ACTION).
 */
import type { ProviderDeps, ProviderSettings } from '../registry.js';
import type { Provider } from '../../domain/providers.js';
import { createOpenBankingProvider, DEFAULT_PERMISSIONS } from './provider.js';
import { loadClientTls } from './tls.js';

/** Open Banking permissions -> the canonical permissions a consent record holds. */
const CANONICAL_PERMISSIONS = {
  ReadAccountsDetail: 'accounts:read',
  ReadBalances: 'balances:read',
  ReadTransactionsDetail: 'transactions:read',
} as const;

export function openBankingFromSettings(settings: ProviderSettings, deps: ProviderDeps): Provider {
  const { endpoint, http, policy } = settings;
  const provider = createOpenBankingProvider(
    {
      baseUrl: endpoint.baseUrl,
      clientId: endpoint.clientId ?? '',
      clientSecret: endpoint.clientSecret,
      connections: http.maxConnections,
      maxResponseBytes: http.maxResponseBytes,
      policy,
      ...(endpoint.tls ? { tls: loadClientTls(endpoint.tls) } : {}),
      paymentAuthorisation: settings.sandbox ? 'sandbox' : 'redirect',
      returnUrl: settings.returnUrl ?? null,
      timeouts: {
        connectMs: http.connectTimeoutMs,
        headersMs: http.readTimeoutMs,
        bodyMs: http.readTimeoutMs,
        totalMs: http.readTimeoutMs,
      },
      paymentTimeouts: {
        connectMs: http.connectTimeoutMs,
        headersMs: http.paymentTimeoutMs,
        bodyMs: http.paymentTimeoutMs,
        totalMs: http.paymentTimeoutMs,
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
