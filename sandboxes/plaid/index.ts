/**
 * Plaid (API version 2020-09-14) sandbox: Link, accounts, balances, transactions sync, items, webhooks.
 */
export {
  PLAID_SANDBOX_CLIENT_ID,
  PLAID_SANDBOX_SECRET,
  startPlaidSandbox,
  type PlaidSandboxOptions,
} from './server.js';
export { customerCompletesLink, SandboxLinkError } from './customer.js';
export { accountIdOf, SEED_BASE_DATE, SEEDED_ACCOUNTS } from './seed.js';
export { INSTITUTIONS } from './seed-data.js';
export type { CallRecord } from './state.js';
export type { NewTransaction, TransactionPatch } from './transactions.js';
export type { PlaidWebhookOptions, WireVerificationKey } from './webhooks.js';
export { sandbox } from './binding.js';
