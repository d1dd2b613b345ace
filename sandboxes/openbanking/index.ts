/**
 * Open Banking (UK Read/Write API v3.1, AIS subset) sandbox.
 */
export {
  OB_SANDBOX_CLIENT_ID,
  OB_SANDBOX_CLIENT_SECRET,
  startOpenBankingSandbox,
  type OpenBankingSandboxOptions,
} from './server.js';
export { authoriseInSandbox } from './authorise.js';
export { SEED_BASE_DATE, SEEDED_ACCOUNTS } from './seed.js';
export { AISP_BASE } from './wire.js';
