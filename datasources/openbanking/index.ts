/**
 * The Open Banking partner module: a UK bank's Read/Write API v3.1 (accounts, balances, transactions,
 * domestic payments), reached with mutual TLS and an OAuth2 client-credentials token.
 *
 * The client certificate comes from the endpoint: the OPENBANKING_TLS_* files in production, the local
 * CA set the sandbox was started with otherwise. Against the sandbox, consents are approved by its
 * stand-in for the customer (SandboxHooks); against a bank, payments wait for the customer at the
 * bank (REQUIRES_ACTION with the authorisation URL).
 *
 * Message signing (jws.ts): payment answers are trusted only with the bank's valid signature, checked
 * against its JWK Set (OPENBANKING_JWKS_URL, its issuer OPENBANKING_JWS_ISSUER); payment requests are
 * signed with OPENBANKING_SIGNING_KEY (kid OPENBANKING_SIGNING_KID, default the key's thumbprint; iss
 * OPENBANKING_SIGNING_ISSUER, default the client id). Against the sandbox, its binding supplies all
 * of them. Production requires the JWK Set and the key with a configured bank.
 */
import { existsSync, readFileSync } from 'node:fs';
import { createPrivateKey } from 'node:crypto';
import type { Provider } from '../../domain/providers.js';
import { partnerEnvSection } from '../env.js';
import { optionalText, optionalUrl } from '../env-fields.js';
import type { PartnerModule, ProviderDeps, ProviderSettings } from '../module.js';
import { canonicalPermissions } from './consents.js';
import { loadSigning } from './jws.js';
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
      signing: loadSigning(endpoint.signing),
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

/** Rules of the message-signing variables (jws.ts). */
function signingProblems(
  env: Readonly<Record<string, string | undefined>>,
  production: boolean,
  has: (suffix: string) => boolean,
): string[] {
  const problems: string[] = [];
  if ((has('SIGNING_KID') || has('SIGNING_ISSUER')) && !has('SIGNING_KEY')) {
    problems.push('OPENBANKING_SIGNING_KID and OPENBANKING_SIGNING_ISSUER need OPENBANKING_SIGNING_KEY');
  }
  const keyFile = env.OPENBANKING_SIGNING_KEY?.trim();
  if (keyFile && existsSync(keyFile)) {
    try {
      const key = createPrivateKey(readFileSync(keyFile, 'utf8'));
      if (key.asymmetricKeyType !== 'rsa' || (key.asymmetricKeyDetails?.modulusLength ?? 0) < 2048)
        throw new Error('not RSA 2048');
    } catch {
      problems.push(
        `OPENBANKING_SIGNING_KEY: ${keyFile} is not a PEM RSA private key of 2048 bits or more (PS256)`,
      );
    }
  }
  if (production && has('BASE_URL')) {
    if (!has('JWKS_URL')) {
      problems.push(
        "OPENBANKING_JWKS_URL: production requires the bank's signing keys (a JWK Set) to verify its payment answers",
      );
    }
    if (!has('SIGNING_KEY')) {
      problems.push(
        'OPENBANKING_SIGNING_KEY: production requires a signing key: the bank refuses unsigned payment requests',
      );
    }
  }
  const jwks = env.OPENBANKING_JWKS_URL?.trim();
  if (production && jwks && URL.canParse(jwks) && !trusted(new URL(jwks))) {
    problems.push('OPENBANKING_JWKS_URL: production requires https (plain http only to a loopback address)');
  }
  return problems;
}

/** https, or plain http to this host (a local proxy, tests). */
function trusted(url: URL): boolean {
  return url.protocol === 'https:' || ['localhost', '127.0.0.1', '[::1]'].includes(url.hostname);
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
    extra: {
      TLS_CERT: optionalText,
      TLS_KEY: optionalText,
      TLS_CA: optionalText,
      JWKS_URL: optionalUrl,
      JWS_ISSUER: optionalText,
      SIGNING_KEY: optionalText,
      SIGNING_KID: optionalText,
      SIGNING_ISSUER: optionalText,
    },
    endpoint(endpoint, parsed) {
      const text = (suffix: string) => parsed[`OPENBANKING_${suffix}`] as string | undefined;
      const [cert, key, ca] = [text('TLS_CERT'), text('TLS_KEY'), text('TLS_CA')];
      const [jwksUrl, signingKey] = [text('JWKS_URL'), text('SIGNING_KEY')];
      return {
        ...endpoint,
        tls: cert && key ? { certFile: cert, keyFile: key, caFile: ca ?? null } : null,
        signing:
          jwksUrl || signingKey
            ? {
                jwksUrl: jwksUrl ?? null,
                issuer: text('JWS_ISSUER') ?? null,
                key: signingKey
                  ? {
                      keyFile: signingKey,
                      kid: text('SIGNING_KID') ?? null,
                      issuer: text('SIGNING_ISSUER') ?? null,
                    }
                  : null,
              }
            : null,
      };
    },
    // Mutual TLS: certificate and key together, files present, required in production.
    problems(env, production, has) {
      const problems: string[] = [];
      if (has('TLS_CERT') !== has('TLS_KEY') || (has('TLS_CA') && !has('TLS_CERT'))) {
        problems.push(
          'OPENBANKING_TLS_CERT and OPENBANKING_TLS_KEY go together, and OPENBANKING_TLS_CA needs them',
        );
      }
      for (const name of [
        'OPENBANKING_TLS_CERT',
        'OPENBANKING_TLS_KEY',
        'OPENBANKING_TLS_CA',
        'OPENBANKING_SIGNING_KEY',
      ]) {
        const file = env[name]?.trim();
        if (file && !existsSync(file)) problems.push(`${name}: no file at ${file}`);
      }
      if (production && has('BASE_URL') && !has('TLS_CERT')) {
        problems.push(
          'OPENBANKING_TLS_CERT / OPENBANKING_TLS_KEY: production requires a client certificate for Open Banking (mutual TLS)',
        );
      }
      problems.push(...signingProblems(env, production, has));
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
