/** How development starts the bank sandbox: mutual TLS, a stand-in for the customer's approval, webhooks. */
import { readFileSync } from 'node:fs';
import type { PartnerEndpoint } from '../../datasources/module.js';
import type { SandboxBinding } from '../kit/binding.js';
import { sandboxConsentApprover } from './authorise.js';
import {
  OB_SANDBOX_CLIENT_ID,
  OB_SANDBOX_CLIENT_SECRET,
  startOpenBankingSandbox,
  type OpenBankingSandboxOptions,
} from './server.js';

export const sandbox: SandboxBinding = {
  async start({ host, port, tls, options }) {
    const handle = await startOpenBankingSandbox({
      tls: { ca: tls.ca, ...tls.server },
      ...(options as OpenBankingSandboxOptions | undefined),
      host,
      port,
    });
    return {
      handle,
      clientId: OB_SANDBOX_CLIENT_ID,
      clientSecret: OB_SANDBOX_CLIENT_SECRET,
      tls: { certFile: tls.files.clientCert, keyFile: tls.files.clientKey, caFile: tls.files.ca },
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
