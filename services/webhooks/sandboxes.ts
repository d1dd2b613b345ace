/**
 * Development only: tells the local partner sandboxes where to send their webhooks (the subgraph's own
 * `/webhooks/{partner}` URL) and with which secret to sign them, as one would register an endpoint in a
 * partner's dashboard. Partners without a webhook sandbox yet are skipped.
 */
import type { Logger } from 'pino';
import type { ProviderName } from '../../datasources/canonical.js';
import type { PartnerEndpointConfig, WebhookConfig } from '../../server/config.js';

/** Control routes of the sandboxes that send webhooks. */
const REGISTRATION: Partial<Record<ProviderName, string>> = {
  stripe: '/__sandbox/stripe/webhook_endpoints',
};

export async function registerSandboxWebhooks(
  sandboxes: Partial<Record<ProviderName, PartnerEndpointConfig>>,
  subgraphUrl: string,
  config: WebhookConfig,
  logger: Logger,
): Promise<void> {
  for (const [partner, endpoint] of Object.entries(sandboxes) as [ProviderName, PartnerEndpointConfig][]) {
    const path = REGISTRATION[partner];
    const secret = partner === 'stripe' ? config.secrets.stripe[0] : undefined;
    if (!path || !secret) continue;
    const url = `${subgraphUrl.replace(/\/$/, '')}/webhooks/${partner}`;
    try {
      const response = await fetch(`${endpoint.baseUrl.replace(/\/$/, '')}${path}`, {
        method: 'POST',
        headers: { 'content-type': 'application/json' },
        body: JSON.stringify({ url, secret }),
        signal: AbortSignal.timeout(5_000),
      });
      if (!response.ok) throw new Error(`sandbox answered ${response.status}`);
      logger.info({ partner, url }, 'Sandbox webhooks point at this subgraph.');
    } catch (error) {
      logger.warn({ partner, err: error }, 'Could not register the webhook endpoint with the sandbox.');
    }
  }
}
