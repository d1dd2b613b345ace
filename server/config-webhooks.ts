/**
 * The webhook section of the configuration (DESIGN §11): tolerances and the inbox worker. Each
 * partner's signing secrets and source allow-list are its module's env section
 * (`<NAME>_WEBHOOK_SECRETS`, `<NAME>_WEBHOOK_ALLOW_CIDRS`, datasources/env.ts).
 */
import { z } from 'zod';
import type { WebhookSettings } from '../services/webhooks/index.js';
import { int, optionalUrl } from './config-fields.js';

export const WebhookEnvSchema = z.object({
  WEBHOOK_TOLERANCE_SECONDS: int(300, 30, 3_600),
  WEBHOOK_REJECTIONS_PER_MINUTE: int(60, 1, 100_000),
  WEBHOOK_MAX_ATTEMPTS: int(8, 1, 100),
  WEBHOOK_RETRY_BASE_MS: int(1_000, 10, 3_600_000),
  WEBHOOK_RETRY_MAX_MS: int(15 * 60_000, 10, 24 * 3_600_000),
  WEBHOOK_WORKER_POLL_MS: int(500, 10, 60_000),
  WEBHOOK_WORKER_BATCH: int(10, 1, 1_000),
  WEBHOOK_WORKER_CONCURRENCY: int(4, 1, 64),
  WEBHOOK_LEASE_MS: int(60_000, 1_000, 3_600_000),
  WEBHOOK_PUBLIC_URL: optionalUrl,
});
type WebhookEnv = z.infer<typeof WebhookEnvSchema>;

/** The webhook settings. */
export function webhooksFrom(e: WebhookEnv): WebhookSettings {
  return {
    toleranceSeconds: e.WEBHOOK_TOLERANCE_SECONDS,
    rejectionsPerMinute: e.WEBHOOK_REJECTIONS_PER_MINUTE,
    maxAttempts: e.WEBHOOK_MAX_ATTEMPTS,
    retryBaseMs: e.WEBHOOK_RETRY_BASE_MS,
    retryMaxMs: e.WEBHOOK_RETRY_MAX_MS,
    pollMs: e.WEBHOOK_WORKER_POLL_MS,
    batch: e.WEBHOOK_WORKER_BATCH,
    concurrency: e.WEBHOOK_WORKER_CONCURRENCY,
    leaseMs: e.WEBHOOK_LEASE_MS,
    publicUrl: e.WEBHOOK_PUBLIC_URL ?? null,
  };
}
