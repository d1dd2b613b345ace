/**
 * Adyen Checkout API v71 sandbox (card payments, 3-D Secure, captures, cancels, refunds, HMAC-signed
 * notifications, chargebacks), faithful enough for the official `@adyen/api-library`. See server.ts for
 * the options, cards.ts for the test payment methods and control.ts for the control routes.
 */
export {
  ADYEN_SANDBOX_API_KEY,
  ADYEN_SANDBOX_MERCHANT_ACCOUNT,
  startAdyenSandbox,
  type AdyenSandboxHandle,
  type AdyenSandboxOptions,
} from './server.js';
export { ADYEN_TEST_METHODS, PORTABLE_METHODS, REFUSALS, STORED_METHODS, TEST_CARDS } from './cards.js';
export { ADYEN_SANDBOX_HMAC_KEY, signItem, type NotificationItem } from './webhooks.js';
export type { AdyenLedgerSnapshot, LedgerPayment, PaymentStatus, ResultCode } from './state.js';
export { sandbox } from './binding.js';
