/**
 * Plaid's webhooks, the way Plaid sends them: a JSON body naming the Item, POSTed to the Item's webhook
 * URL (set at link time) or, for Items linked without one, the sandbox's default URL (the dashboard
 * setting), through the kit's WebhookDispatcher (random delay, some duplicates, retries with backoff).
 *
 * Plaid signs with a key pair, not a shared secret: each attempt carries `Plaid-Verification`, an ES256
 * JWT whose protected header names the key (`kid`) and whose payload holds `iat` (taken when the attempt
 * is sent) and `request_body_sha256` (hex SHA-256 of the exact body bytes). Receivers fetch the public key
 * by kid from /webhook_verification_key/get. The key pair is generated when the sandbox starts.
 *
 * When a customer's transactions change, every Item of that customer with the transactions product is
 * sent SYNC_UPDATES_AVAILABLE. Simplification: Plaid only starts sending it once /transactions/sync was
 * called on the Item; the sandbox sends it from the link on, so a receiver can sync before any read.
 */
import { createHash, randomUUID } from 'node:crypto';
import { exportJWK, generateKeyPair, SignJWT, type CryptoKey } from 'jose';
import { WebhookDispatcher, type SignAttempt, type WebhookDeliveryOptions } from '../kit/webhooks.js';
import type { Item, PlaidSandboxState } from './state.js';

export type PlaidWebhookOptions = WebhookDeliveryOptions;

/** A public key as /webhook_verification_key/get answers it (Plaid's JWKPublicKey). */
export interface WireVerificationKey {
  alg: 'ES256';
  created_at: number;
  crv: string;
  expired_at: number | null;
  kid: string;
  kty: string;
  use: 'sig';
  x: string;
  y: string;
}

/** The TRANSACTIONS webhook codes the sandbox sends. */
export const TRANSACTIONS_WEBHOOK_CODES = ['SYNC_UPDATES_AVAILABLE', 'DEFAULT_UPDATE'] as const;
export type TransactionsWebhookCode = (typeof TRANSACTIONS_WEBHOOK_CODES)[number];

/** The body Plaid sends for a TRANSACTIONS webhook code about an Item. */
function transactionsEvent(code: TransactionsWebhookCode, item: Item): Record<string, unknown> {
  if (code === 'DEFAULT_UPDATE') {
    return {
      webhook_type: 'TRANSACTIONS',
      webhook_code: code,
      item_id: item.itemId,
      error: null,
      new_transactions: 0,
      environment: 'sandbox',
    };
  }
  return {
    webhook_type: 'TRANSACTIONS',
    webhook_code: code,
    item_id: item.itemId,
    initial_update_complete: true,
    historical_update_complete: true,
    environment: 'sandbox',
  };
}

export class PlaidWebhookSender {
  readonly #dispatcher: WebhookDispatcher;
  readonly #sign: SignAttempt;
  #defaultUrl: string | null = null;

  private constructor(
    private readonly state: PlaidSandboxState,
    private readonly key: WireVerificationKey,
    privateKey: CryptoKey,
    options: PlaidWebhookOptions,
  ) {
    this.#dispatcher = new WebhookDispatcher(options);
    this.#sign = async (_endpoint, body, nowMs) => {
      const token = await new SignJWT({
        request_body_sha256: createHash('sha256').update(body, 'utf8').digest('hex'),
      })
        .setProtectedHeader({ alg: 'ES256', kid: key.kid, typ: 'JWT' })
        .setIssuedAt(Math.floor(nowMs / 1000))
        .sign(privateKey);
      return { 'plaid-verification': token };
    };
  }

  /** Generates the sandbox's signing key pair. */
  static async create(
    state: PlaidSandboxState,
    options: PlaidWebhookOptions = {},
  ): Promise<PlaidWebhookSender> {
    const { publicKey, privateKey } = await generateKeyPair('ES256');
    const jwk = await exportJWK(publicKey);
    if (!jwk.kty || !jwk.crv || !jwk.x || !jwk.y) throw new Error('jose exported an incomplete EC key');
    const key: WireVerificationKey = {
      alg: 'ES256',
      created_at: Math.floor(Date.now() / 1000),
      crv: jwk.crv,
      expired_at: null,
      kid: randomUUID(),
      kty: jwk.kty,
      use: 'sig',
      x: jwk.x,
      y: jwk.y,
    };
    return new PlaidWebhookSender(state, key, privateKey, options);
  }

  /** Deliveries answered 2xx, for tests and the control route. */
  get delivered(): number {
    return this.#dispatcher.delivered;
  }

  /** Where events go for Items linked without a webhook of their own. */
  setDefaultUrl(url: string): void {
    this.#defaultUrl = url;
  }

  /** The public key for a kid, or null when the sandbox never signed with it. */
  verificationKey(kid: string): WireVerificationKey | null {
    return kid === this.key.kid ? { ...this.key } : null;
  }

  /** Where an Item's events go: its own webhook, else the default; null when neither is set. */
  targetOf(item: Item): string | null {
    return item.webhook ?? this.#defaultUrl;
  }

  /** Tells every transactions Item of the customer that /transactions/sync has updates. */
  transactionsChanged(customer: string): void {
    for (const item of this.state.itemsOf(customer)) {
      if (item.products.includes('transactions')) this.fire(item, 'SYNC_UPDATES_AVAILABLE');
    }
  }

  /** Sends one TRANSACTIONS webhook about the Item; false when the Item has nowhere to send it. */
  fire(item: Item, code: TransactionsWebhookCode): boolean {
    const url = this.targetOf(item);
    if (!url) return false;
    this.#dispatcher.send(JSON.stringify(transactionsEvent(code, item)), this.#sign, [{ url }]);
    return true;
  }

  /** Resolves when every delivery started so far has finished (delivered or given up). */
  idle(): Promise<void> {
    return this.#dispatcher.idle();
  }

  close(): void {
    this.#defaultUrl = null;
    this.#dispatcher.close();
  }
}
