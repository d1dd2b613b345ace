/**
 * The Open Banking partner module: a UK bank's Read/Write API v3.1 (accounts, balances, transactions,
 * domestic payments), reached with mutual TLS and an OAuth2 client-credentials token.
 *
 * The client certificate comes from the endpoint: the OPENBANKING_TLS_* files in production, the local
 * CA set the sandbox was started with otherwise. Against the sandbox, consents are approved by its
 * stand-in for the customer (SandboxHooks); against a bank, payments wait for the customer at the
 * bank (REQUIRES_ACTION with the authorisation URL).
 */
import { existsSync } from 'node:fs';
import type { Provider } from '../../domain/providers.js';
import { partnerEnvSection } from '../env.js';
import { optionalText } from '../env-fields.js';
import type { PartnerModule, ProviderDeps, ProviderSettings } from '../module.js';
import { canonicalPermissions } from './consents.js';
import { createOpenBankingProvider, DEFAULT_PERMISSIONS } from './provider.js';
import { loadClientTls } from './tls.js';
import { OPENBANKING_DEV_WEBHOOK_SECRET, openBankingWebhookVerifier } from './webhook.js';

function createProvider(settings: ProviderSettings, deps: ProviderDeps): Provider {
  const { endpoint, calls } = settings;
  const timeouts = (ms: number) => ({
    connectMs: calls.connectTimeoutMs,
    headersMs: ms,
    bodyMs: ms,
    totalMs: ms,
  });
  const provider = createOpenBankingProvider(
    {
      baseUrl: endpoint.baseUrl,
      clientId: endpoint.clientId ?? '',
      clientSecret: endpoint.clientSecret,
      connections: calls.maxConnections,
      maxResponseBytes: calls.maxResponseBytes,
      policy: settings.policy,
      ...(endpoint.tls ? { tls: loadClientTls(endpoint.tls) } : {}),
      sandbox: settings.sandbox,
      returnUrl: settings.returnUrl,
      timeouts: timeouts(calls.timeoutMs.read),
      paymentTimeouts: timeouts(calls.timeoutMs.write),
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
        permissions: canonicalPermissions(DEFAULT_PERMISSIONS),
        expiresAt: null,
      };
    },
  };
}

export const openBanking: PartnerModule = {
  name: 'openbanking',
  title: 'Open Banking',
  capabilities: ['accounts', 'bank-payments'],
  env: partnerEnvSection({
    name: 'openbanking',
    clientId: 'CLIENT_ID',
    secret: 'CLIENT_SECRET',
    webhooks: { scheme: 'shared-secret', devSecret: OPENBANKING_DEV_WEBHOOK_SECRET },
    extra: { TLS_CERT: optionalText, TLS_KEY: optionalText, TLS_CA: optionalText },
    endpoint(endpoint, parsed) {
      const cert = parsed.OPENBANKING_TLS_CERT as string | undefined;
      const key = parsed.OPENBANKING_TLS_KEY as string | undefined;
      const ca = parsed.OPENBANKING_TLS_CA as string | undefined;
      return { ...endpoint, tls: cert && key ? { certFile: cert, keyFile: key, caFile: ca ?? null } : null };
    },
    // Mutual TLS: certificate and key together, files present, required in production.
    problems(env, production, has) {
      const problems: string[] = [];
      if (has('TLS_CERT') !== has('TLS_KEY') || (has('TLS_CA') && !has('TLS_CERT'))) {
        problems.push(
          'OPENBANKING_TLS_CERT and OPENBANKING_TLS_KEY go together, and OPENBANKING_TLS_CA needs them',
        );
      }
      for (const name of ['OPENBANKING_TLS_CERT', 'OPENBANKING_TLS_KEY', 'OPENBANKING_TLS_CA']) {
        const file = env[name]?.trim();
        if (file && !existsSync(file)) problems.push(`${name}: no file at ${file}`);
      }
      if (production && has('BASE_URL') && !has('TLS_CERT')) {
        problems.push(
          'OPENBANKING_TLS_CERT / OPENBANKING_TLS_KEY: production requires a client certificate for Open Banking (mutual TLS)',
        );
      }
      return problems;
    },
  }),
  createProvider,
  webhooks: {
    usesSharedSecrets: true,
    createVerifier: ({ settings, toleranceSeconds }) =>
      openBankingWebhookVerifier({ secrets: settings.webhookSecrets, toleranceSeconds }),
  },
};
