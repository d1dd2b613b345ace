/**
 * Development only: tells the local partner sandboxes where to send their webhooks (the subgraph's own
 * `/webhooks/{partner}` URL) and, for partners that sign with a shared secret, which secret to use, as
 * one would register an endpoint in a partner's dashboard. What each sandbox wants is its binding's
 * business (sandboxes/<partner>/binding.ts); a mutual-TLS sandbox is called with its client certificate.
 */
import { readFile } from 'node:fs/promises';
import type { Logger } from 'pino';
import { Agent, request } from 'undici';
import type { PartnerSettings, PartnerTlsFiles } from '../../datasources/module.js';
import type { ProviderName } from '../../domain/model.js';
import type { RunningSandboxes } from '../../sandboxes/index.js';

async function dispatcherFor(tls: PartnerTlsFiles | undefined): Promise<Agent> {
  if (!tls) return new Agent();
  const [cert, key, ca] = await Promise.all([
    readFile(tls.certFile),
    readFile(tls.keyFile),
    tls.caFile ? readFile(tls.caFile) : Promise.resolve(undefined),
  ]);
  return new Agent({ connect: { cert, key, ...(ca ? { ca } : {}) } });
}

/**
 * The webhook secrets of the partners whose sandbox stands in for them: those the configuration leaves
 * unset (a configured partner is the real one, and its sandbox is not this subgraph's partner).
 */
export function sandboxWebhookSecrets(
  partners: Readonly<Record<ProviderName, PartnerSettings>>,
): Record<ProviderName, readonly string[]> {
  return Object.fromEntries(
    Object.entries(partners).flatMap(([name, settings]) =>
      settings.endpoint ? [] : [[name, settings.webhookSecrets]],
    ),
  );
}

/** Registers `subgraphUrl/webhooks/<partner>` with the running sandbox of every partner in `secrets`. */
export async function registerSandboxWebhooks(
  sandboxes: RunningSandboxes,
  secrets: Readonly<Record<ProviderName, readonly string[]>>,
  subgraphUrl: string,
  logger: Logger,
): Promise<void> {
  for (const [partner, sandbox] of Object.entries(sandboxes)) {
    const partnerSecrets = secrets[partner];
    if (!sandbox || !partnerSecrets) continue;
    const url = `${subgraphUrl.replace(/\/$/, '')}/webhooks/${partner}`;
    const body = sandbox.webhookRegistration(url, partnerSecrets);
    if (!body) {
      logger.warn({ partner }, 'No webhook secret configured: the sandbox is not told to send webhooks.');
      continue;
    }
    let dispatcher: Agent | null = null;
    try {
      dispatcher = await dispatcherFor(sandbox.tls);
      const response = await request(new URL(sandbox.webhookRoute, sandbox.handle.url), {
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
