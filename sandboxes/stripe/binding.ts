/** How development starts the Stripe sandbox: the test secret key, webhooks signed with the endpoint secret. */
import type { SandboxBinding } from '../kit/binding.js';
import { startStripeSandbox, STRIPE_SANDBOX_SECRET_KEY, type StripeSandboxOptions } from './server.js';

export const sandbox: SandboxBinding = {
  async start({ host, port, options }) {
    const handle = await startStripeSandbox({ ...(options as StripeSandboxOptions | undefined), host, port });
    return {
      handle,
      clientId: null,
      clientSecret: STRIPE_SANDBOX_SECRET_KEY,
      hooks: {},
      webhookRoute: '/__sandbox/stripe/webhook_endpoints',
      webhookRegistration: (url, secrets) => (secrets[0] ? { url, secret: secrets[0] } : null),
    };
  },
  hooksFor: () => ({}),
};
