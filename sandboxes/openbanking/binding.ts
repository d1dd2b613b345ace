/**
 * How development starts the bank sandbox: mutual TLS, message signing (the bank's key set at its
 * JWKS path; Tributary signs with the local set's signing key, which the sandbox trusts), a stand-in
 * for the customer's approval, webhooks.
 */
import { readFileSync } from 'node:fs';
import type { PartnerEndpoint } from '../../datasources/module.js';
import type { SandboxBinding } from '../kit/binding.js';
import { sandboxConsentApprover } from './authorise.js';
import {
  devClientSigningKeys,
  OB_SANDBOX_CLIENT_ID,
  OB_SANDBOX_CLIENT_SECRET,
  startOpenBankingSandbox,
  type OpenBankingSandboxOptions,
} from './server.js';
import { OB_SANDBOX_JWKS_PATH, OB_SANDBOX_ORG_ID } from './signing.js';

export const sandbox: SandboxBinding = {
  async start({ host, port, tls, options }) {
    const handle = await startOpenBankingSandbox({
      tls: { ca: tls.ca, ...tls.server },
      clientSigningKeys: await devClientSigningKeys(tls),
      ...(options as OpenBankingSandboxOptions | undefined),
      host,
      port,
    });
    return {
      handle,
      clientId: OB_SANDBOX_CLIENT_ID,
      clientSecret: OB_SANDBOX_CLIENT_SECRET,
      tls: { certFile: tls.files.clientCert, keyFile: tls.files.clientKey, caFile: tls.files.ca },
      signing: {
        jwksUrl: new URL(OB_SANDBOX_JWKS_PATH, handle.url).toString(),
        issuer: OB_SANDBOX_ORG_ID,
        key: { keyFile: tls.files.signingKey, kid: null, issuer: null },
      },
      hooks: { approveConsent: sandboxConsentApprover(handle.url, { ca: tls.ca, ...tls.client }) },
      webhookRoute: '/__sandbox/openbanking/webhook_endpoints',
      // The bank notifies each client about its own payments only, so the registration names our client.
      webhookRegistration: (url, secrets) =>
        secrets[0] ? { url, secret: secrets[0], clientId: OB_SANDBOX_CLIENT_ID } : null,
    };
  },
  hooksFor: (endpoint: PartnerEndpoint) => ({
    approveConsent: sandboxConsentApprover(
      endpoint.baseUrl,
      endpoint.tls
        ? {
            cert: readFileSync(endpoint.tls.certFile),
            key: readFileSync(endpoint.tls.keyFile),
            ...(endpoint.tls.caFile ? { ca: readFileSync(endpoint.tls.caFile) } : {}),
          }
        : undefined,
    ),
  }),
};
