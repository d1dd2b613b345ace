/**
 * The webhook section of the configuration (DESIGN §11): signing secrets with rotation, source
 * allow-lists, tolerances and the inbox worker, read from the environment config.ts parsed.
 */
import { z } from 'zod';
import type { ProviderName } from '../domain/model.js';
import { cidrList, int, list, optionalUrl } from './config-fields.js';

/** Development webhook secrets: the local sandboxes sign with these; production refuses them. */
export const DEV_WEBHOOK_SECRETS = {
  stripe: 'whsec_dev_tributary_stripe_sandbox',
  openbanking: `whsec_${Buffer.alloc(32, 11).toString('base64')}`,
} as const;

export const WebhookEnvSchema = z.object({
  STRIPE_WEBHOOK_SECRETS: list,
  OPENBANKING_WEBHOOK_SECRETS: list,
  OPENBANKING_WEBHOOK_ALLOW_CIDRS: cidrList,
  PLAID_WEBHOOK_ALLOW_CIDRS: cidrList,
  STRIPE_WEBHOOK_ALLOW_CIDRS: cidrList,
  WEBHOOK_TOLERANCE_SECONDS: int(300, 30, 3_600),
  WEBHOOK_REJECTIONS_PER_MINUTE: int(60, 1, 100_000),
  WEBHOOK_MAX_ATTEMPTS: int(8, 1, 100),
  WEBHOOK_RETRY_BASE_MS: int(1_000, 10, 3_600_000),
  WEBHOOK_RETRY_MAX_MS: int(15 * 60_000, 10, 24 * 3_600_000),
  WEBHOOK_WORKER_POLL_MS: int(500, 10, 60_000),
  WEBHOOK_WORKER_BATCH: int(10, 1, 1_000),
  WEBHOOK_LEASE_MS: int(60_000, 1_000, 3_600_000),
  WEBHOOK_PUBLIC_URL: optionalUrl,
});
type WebhookEnv = z.infer<typeof WebhookEnvSchema>;

/** How webhook deliveries are verified and processed. */
export interface WebhookConfig {
  /** Signing secrets accepted at once (rotation): Stripe `whsec_...`, Open Banking Standard Webhooks `whsec_<base64>`. */
  secrets: { stripe: string[]; openbanking: string[] };
  /** Optional source allow-lists (CIDR); empty: any source. */
  allowCidrs: Record<ProviderName, string[]>;
  /** Timestamps further than this from now, in the past or the future, are refused. */
  toleranceSeconds: number;
  /** Refused deliveries answered per partner per minute before answering 429. */
  rejectionsPerMinute: number;
  maxAttempts: number;
  retryBaseMs: number;
  retryMaxMs: number;
  pollMs: number;
  batch: number;
  leaseMs: number;
  /** Our public base URL as partners should call it (sandboxes get `${url}/webhooks/<partner>`). */
  publicUrl: string | null;
}

/** The webhook settings; outside production a partner without secrets gets the sandbox's dev secret. */
export function webhooksFrom(e: WebhookEnv, production: boolean): WebhookConfig {
  return {
    secrets: {
      stripe:
        e.STRIPE_WEBHOOK_SECRETS.length > 0 || production
          ? e.STRIPE_WEBHOOK_SECRETS
          : [DEV_WEBHOOK_SECRETS.stripe],
      openbanking:
        e.OPENBANKING_WEBHOOK_SECRETS.length > 0 || production
          ? e.OPENBANKING_WEBHOOK_SECRETS
          : [DEV_WEBHOOK_SECRETS.openbanking],
    },
    allowCidrs: {
      openbanking: e.OPENBANKING_WEBHOOK_ALLOW_CIDRS,
      plaid: e.PLAID_WEBHOOK_ALLOW_CIDRS,
      stripe: e.STRIPE_WEBHOOK_ALLOW_CIDRS,
    },
    toleranceSeconds: e.WEBHOOK_TOLERANCE_SECONDS,
    rejectionsPerMinute: e.WEBHOOK_REJECTIONS_PER_MINUTE,
    maxAttempts: e.WEBHOOK_MAX_ATTEMPTS,
    retryBaseMs: e.WEBHOOK_RETRY_BASE_MS,
    retryMaxMs: e.WEBHOOK_RETRY_MAX_MS,
    pollMs: e.WEBHOOK_WORKER_POLL_MS,
    batch: e.WEBHOOK_WORKER_BATCH,
    leaseMs: e.WEBHOOK_LEASE_MS,
    publicUrl: e.WEBHOOK_PUBLIC_URL ?? null,
  };
}

/** Production refuses the development webhook secrets. */
export function webhookProblems(env: NodeJS.ProcessEnv): string[] {
  if (env.NODE_ENV !== 'production') return [];
  const problems: string[] = [];
  for (const secrets of ['STRIPE_WEBHOOK_SECRETS', 'OPENBANKING_WEBHOOK_SECRETS'] as const) {
    const values = (env[secrets] ?? '').split(',').map((value) => value.trim());
    if (values.some((value) => (Object.values(DEV_WEBHOOK_SECRETS) as string[]).includes(value)))
      problems.push(`${secrets}: production refuses the development webhook secret`);
  }
  return problems;
}
