/**
 * How development starts the Adyen sandbox: the test API key (as the client secret), its merchant
 * account (as the client id, where the module's ADYEN_MERCHANT_ACCOUNT arrives), and the webhook
 * endpoint registered with its hex HMAC key (the first configured secret, else the sandbox's own).
 */
import type { SandboxBinding } from '../kit/binding.js';
import {
  ADYEN_SANDBOX_API_KEY,
  ADYEN_SANDBOX_MERCHANT_ACCOUNT,
  startAdyenSandbox,
  type AdyenSandboxOptions,
} from './server.js';
import { ADYEN_SANDBOX_HMAC_KEY } from './webhooks.js';

export const sandbox: SandboxBinding = {
  async start({ host, port, options }) {
    const handle = await startAdyenSandbox({ ...(options as AdyenSandboxOptions | undefined), host, port });
    return {
      handle,
      // Adyen's module reads the merchant account where other partners keep a client id.
      clientId: ADYEN_SANDBOX_MERCHANT_ACCOUNT,
      clientSecret: ADYEN_SANDBOX_API_KEY,
      hooks: {},
      webhookRoute: '/__sandbox/adyen/webhooks',
      webhookRegistration: (url, secrets) => ({ url, hmacKey: secrets[0] ?? ADYEN_SANDBOX_HMAC_KEY }),
    };
  },
  hooksFor: () => ({}),
};
