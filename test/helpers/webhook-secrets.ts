/** The development webhook secrets the local sandboxes sign with (each partner's module defines its own). */
import { OPENBANKING_DEV_WEBHOOK_SECRET } from '../../datasources/openbanking/webhook.js';
import { STRIPE_DEV_WEBHOOK_SECRET } from '../../datasources/stripe/webhook.js';

export const DEV_WEBHOOK_SECRETS = {
  stripe: STRIPE_DEV_WEBHOOK_SECRET,
  openbanking: OPENBANKING_DEV_WEBHOOK_SECRET,
} as const;
