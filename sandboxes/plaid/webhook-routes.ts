/**
 * The Plaid endpoints of webhooks (authenticated and checked like every Plaid route) and their control
 * routes. Kept apart from routes.ts because they need the webhook sender (webhooks.ts).
 *
 *   POST /webhook_verification_key/get   { key_id }: the public key of a kid (Plaid's JWKPublicKey)
 *   POST /sandbox/item/fire_webhook      { access_token, webhook_code, webhook_type? }: sends one
 *        TRANSACTIONS webhook (SYNC_UPDATES_AVAILABLE or DEFAULT_UPDATE) about the Item
 *   POST /__sandbox/plaid/webhook_endpoints  { url }: the default webhook URL (Items linked without one)
 *   GET  /__sandbox/plaid/webhook_endpoints  waits for deliveries in flight, then { delivered }
 */
import { z } from 'zod';
import { json, readJson, type Router } from '../kit/sandbox.js';
import { endpoint } from './routes.js';
import type { PlaidSandboxState } from './state.js';
import { fail } from './wire.js';
import {
  TRANSACTIONS_WEBHOOK_CODES,
  type PlaidWebhookSender,
  type TransactionsWebhookCode,
} from './webhooks.js';

/** Every code Plaid's fire_webhook accepts; the sandbox sends only the TRANSACTIONS ones. */
const FIREABLE_CODES = [
  'DEFAULT_UPDATE',
  'NEW_ACCOUNTS_AVAILABLE',
  'SMS_MICRODEPOSITS_VERIFICATION',
  'AUTHORIZATION_GRANTED',
  'USER_PERMISSION_REVOKED',
  'USER_ACCOUNT_REVOKED',
  'PENDING_DISCONNECT',
  'RECURRING_TRANSACTIONS_UPDATE',
  'LOGIN_REPAIRED',
  'SYNC_UPDATES_AVAILABLE',
  'PRODUCT_READY',
  'ERROR',
];
const WEBHOOK_TYPES = [
  'AUTH',
  'HOLDINGS',
  'INVESTMENTS_TRANSACTIONS',
  'ITEM',
  'LIABILITIES',
  'TRANSACTIONS',
  'ASSETS',
];

const endpointSchema = z.object({ url: z.url({ protocol: /^https?$/ }) }).strict();

const isTransactionsCode = (code: string): code is TransactionsWebhookCode =>
  (TRANSACTIONS_WEBHOOK_CODES as readonly string[]).includes(code);

/** Registers the webhook endpoints and their control routes on the router. */
export function registerWebhookRoutes(
  router: Router,
  state: PlaidSandboxState,
  sender: PlaidWebhookSender,
): void {
  router.on(
    'POST',
    '/webhook_verification_key/get',
    endpoint(state, ['key_id'], (body) => {
      if (typeof body.key_id !== 'string' || body.key_id === '') {
        fail('INVALID_REQUEST', 'MISSING_FIELDS', 'the following required fields are missing: key_id');
      }
      const key = sender.verificationKey(body.key_id);
      if (!key) fail('INVALID_INPUT', 'INVALID_WEBHOOK_VERIFICATION_KEY_ID', 'invalid key_id provided');
      return { key };
    }),
  );

  router.on(
    'POST',
    '/sandbox/item/fire_webhook',
    endpoint(state, ['access_token', 'webhook_type', 'webhook_code'], (body) => {
      const code = body.webhook_code;
      if (typeof code !== 'string') {
        fail('INVALID_REQUEST', 'MISSING_FIELDS', 'the following required fields are missing: webhook_code');
      }
      if (!FIREABLE_CODES.includes(code)) {
        fail('INVALID_REQUEST', 'INVALID_FIELD', `webhook_code must be one of ${FIREABLE_CODES.join(', ')}`);
      }
      const type = body.webhook_type ?? 'TRANSACTIONS';
      if (typeof type !== 'string' || !WEBHOOK_TYPES.includes(type)) {
        fail('INVALID_REQUEST', 'INVALID_FIELD', `webhook_type must be one of ${WEBHOOK_TYPES.join(', ')}`);
      }
      const { item } = state.itemFor(body.access_token, false);
      if (type !== 'TRANSACTIONS' || !isTransactionsCode(code)) {
        fail(
          'INVALID_INPUT',
          'SANDBOX_WEBHOOK_INVALID',
          `this sandbox does not fire ${type} ${code} webhooks`,
        );
      }
      if (!item.products.includes('transactions')) {
        fail(
          'INVALID_INPUT',
          'SANDBOX_PRODUCT_NOT_ENABLED',
          'the Item does not have the transactions product',
        );
      }
      if (!sender.fire(item, code)) {
        fail('INVALID_INPUT', 'SANDBOX_WEBHOOK_INVALID', 'the Item has no webhook URL to fire to');
      }
      return { webhook_fired: true };
    }),
  );

  router.on('POST', '/__sandbox/plaid/webhook_endpoints', (req) => {
    let raw: unknown;
    try {
      raw = readJson(req);
    } catch {
      return json(400, { error: 'body is not JSON' });
    }
    const parsed = endpointSchema.safeParse(raw);
    if (!parsed.success) return json(400, { error: 'invalid webhook endpoint', issues: parsed.error.issues });
    sender.setDefaultUrl(parsed.data.url);
    return json(200, { url: parsed.data.url, status: 'enabled' });
  });

  router.on('GET', '/__sandbox/plaid/webhook_endpoints', async () => {
    await sender.idle();
    return json(200, { delivered: sender.delivered });
  });
}
