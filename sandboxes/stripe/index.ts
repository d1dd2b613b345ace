/**
 * Stripe API sandbox (PaymentIntents, refunds, disputes, customers), faithful enough for the official
 * `stripe` SDK. See server.ts for the options and control.ts for the control routes.
 */
export {
  startStripeSandbox,
  STRIPE_SANDBOX_API_VERSION,
  STRIPE_SANDBOX_SECRET_KEY,
  type StripeSandboxOptions,
} from './server.js';
export { SEED_BASE_DATE, SEED_PAYMENTS, SEEDED_CUSTOMERS } from './seed.js';
export { TEST_PAYMENT_METHODS } from './cards.js';
export type { SeenRequest } from './state.js';
export { sandbox } from './binding.js';
