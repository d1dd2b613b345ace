/** How development starts the Plaid sandbox. Plaid signs webhooks with its own key pair: no secret. */
import type { SandboxBinding } from '../kit/binding.js';
import {
  PLAID_SANDBOX_CLIENT_ID,
  PLAID_SANDBOX_SECRET,
  startPlaidSandbox,
  type PlaidSandboxOptions,
} from './server.js';

export const sandbox: SandboxBinding = {
  async start({ host, port, options }) {
    const handle = await startPlaidSandbox({ ...(options as PlaidSandboxOptions | undefined), host, port });
    return {
      handle,
      clientId: PLAID_SANDBOX_CLIENT_ID,
      clientSecret: PLAID_SANDBOX_SECRET,
      hooks: {},
      webhookRoute: '/__sandbox/plaid/webhook_endpoints',
      webhookRegistration: (url) => ({ url }),
    };
  },
  hooksFor: () => ({}),
};
