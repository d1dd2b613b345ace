/**
 * Development only: tells the local partner sandboxes where to send their webhooks (the subgraph's own
 * `/webhooks/{partner}` URL) and, for partners that sign with a shared secret, which secret to use, as
 * one would register an endpoint in a partner's dashboard. Plaid signs with its own key pair (the
 * subgraph fetches the public key by kid), so its registration carries no secret. The Open Banking
 * sandbox requires mutual TLS, so its registration presents the configured client certificate.
 */
import { readFile } from 'node:fs/promises';
import type { Logger } from 'pino';
import { Agent, request } from 'undici';
import type { ProviderName } from '../../domain/model.js';
import type { PartnerEndpointConfig, WebhookConfig } from '../../server/config.js';

/** The control route of each sandbox that takes a webhook endpoint. */
export const SANDBOX_WEBHOOK_ROUTES: Record<ProviderName, string> = {
  stripe: '/__sandbox/stripe/webhook_endpoints',
  openbanking: '/__sandbox/openbanking/webhook_endpoints',
  plaid: '/__sandbox/plaid/webhook_endpoints',
};

/**
 * The registration body: the URL, plus the signing secret where the partner signs with one. The bank
 * notifies each client about its own payments only, so its registration names our client id.
 */
function registration(
  partner: ProviderName,
  url: string,
  endpoint: PartnerEndpointConfig,
  config: WebhookConfig,
): object | null {
  if (partner === 'plaid') return { url };
  const secret = config.secrets[partner][0];
  if (!secret) return null;
  return partner === 'openbanking' && endpoint.clientId
    ? { url, secret, clientId: endpoint.clientId }
    : { url, secret };
}

async function dispatcherFor(endpoint: PartnerEndpointConfig): Promise<Agent> {
  const tls = endpoint.tls;
  if (!tls) return new Agent();
  const [cert, key, ca] = await Promise.all([
    readFile(tls.certFile),
    readFile(tls.keyFile),
    tls.caFile ? readFile(tls.caFile) : Promise.resolve(undefined),
  ]);
  return new Agent({ connect: { cert, key, ...(ca ? { ca } : {}) } });
}

export async function registerSandboxWebhooks(
  sandboxes: Partial<Record<ProviderName, PartnerEndpointConfig>>,
  subgraphUrl: string,
  config: WebhookConfig,
  logger: Logger,
): Promise<void> {
  for (const [partner, endpoint] of Object.entries(sandboxes) as [ProviderName, PartnerEndpointConfig][]) {
    const url = `${subgraphUrl.replace(/\/$/, '')}/webhooks/${partner}`;
    const body = registration(partner, url, endpoint, config);
    if (!body) {
      logger.warn({ partner }, 'No webhook secret configured: the sandbox is not told to send webhooks.');
      continue;
    }
    let dispatcher: Agent | null = null;
    try {
      dispatcher = await dispatcherFor(endpoint);
      const response = await request(new URL(SANDBOX_WEBHOOK_ROUTES[partner], endpoint.baseUrl), {
        method: 'POST',
        dispatcher,
        headers: { 'content-type': 'application/json' },
        body: JSON.stringify(body),
        headersTimeout: 5_000,
        bodyTimeout: 5_000,
      });
      await response.body.dump();
      if (response.statusCode !== 200) throw new Error(`sandbox answered ${response.statusCode}`);
      logger.info({ partner, url }, 'Sandbox webhooks point at this subgraph.');
    } catch (error) {
      logger.warn({ partner, err: error }, 'Could not register the webhook endpoint with the sandbox.');
    } finally {
      await dispatcher?.close();
    }
  }
}
