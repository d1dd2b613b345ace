/**
 * Open Banking (UK Read/Write API v3.1, AIS and domestic-payment PIS subsets) sandbox.
 */
export {
  devClientSigningKeys,
  OB_SANDBOX_CLIENT_ID,
  OB_SANDBOX_CLIENT_SECRET,
  startOpenBankingSandbox,
  type OpenBankingSandboxOptions,
  type SandboxServerTls,
} from './server.js';
export {
  authoriseInSandbox,
  customerAnswersAtBank,
  SandboxAuthorisationError,
  sandboxConsentApprover,
  type AuthoriseOptions,
  type SandboxClientTls,
} from './authorise.js';
export { TOKEN_GRANTS_PATH } from './oauth.js';
export type { PaymentStatusEvent } from './pis-state.js';
export type { TokenGrantRecord } from './state.js';
export { PISP_BASE } from './pis-wire.js';
export { SEED_BASE_DATE, SEEDED_ACCOUNTS } from './seed.js';
export {
  OB_SANDBOX_JWKS_PATH,
  OB_SANDBOX_ORG_ID,
  OB_TRUST_ANCHOR,
  publicJwkOf,
  type ClientSigningKeys,
} from './signing.js';
export type { OpenBankingWebhookOptions } from './webhooks.js';
export { AISP_BASE } from './wire.js';
export { sandbox } from './binding.js';
