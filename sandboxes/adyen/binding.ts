/**
 * How development starts the Adyen sandbox: the test API key (as the client secret), and the webhook
 * endpoint registered with its hex HMAC key (the first configured secret, else the sandbox's own).
 */
import type { SandboxBinding } from '../kit/binding.js';
import { ADYEN_SANDBOX_API_KEY, startAdyenSandbox, type AdyenSandboxOptions } from './server.js';
import { ADYEN_SANDBOX_HMAC_KEY } from './webhooks.js';

export const sandbox: SandboxBinding = {
  async start({ host, port, options }) {
    const handle = await startAdyenSandbox({ ...(options as AdyenSandboxOptions | undefined), host, port });
    return {
      handle,
      clientId: null,
      clientSecret: ADYEN_SANDBOX_API_KEY,
      hooks: {},
      webhookRoute: '/__sandbox/adyen/webhooks',
      webhookRegistration: (url, secrets) => ({ url, hmacKey: secrets[0] ?? ADYEN_SANDBOX_HMAC_KEY }),
    };
  },
  hooksFor: () => ({}),
};
