/**
 * Open Banking event notifications: a bank tells a TPP that one of its resources changed, and the TPP
 * fetches the resource to learn what changed (the notification is thin, it carries no status). The body
 * is the spec's OBEventNotification1 resource-update event; the envelope is Standard Webhooks (what
 * datasources/openbanking/webhook.ts verifies, and why), signed per attempt with the endpoint's shared
 * `whsec_<base64>` secret. Delivery (jitter, duplicates, retries) is the kit's WebhookDispatcher.
 *
 * A TPP registers its endpoint through the control route below, for one client (default the dev
 * client); each endpoint hears only about that client's payments, as a bank's event subscriptions do.
 * Settlement is applied by the bank on read; once an endpoint is registered a timer applies it too,
 * so AcceptedSettlementCompleted is announced even when nobody polls.
 *
 *   POST /__sandbox/openbanking/webhook_endpoints  {url, secret, clientId?}: registers an endpoint
 *   GET  /__sandbox/openbanking/webhook_endpoints  waits for in-flight deliveries: {delivered}
 */
import { createHmac, randomUUID } from 'node:crypto';
import { z } from 'zod';
import {
  json,
  readJson,
  WebhookDispatcher,
  type Router,
  type WebhookDeliveryOptions,
  type WebhookEndpoint,
} from '../kit/sandbox.js';
import type { PaymentStatusEvent } from './pis-state.js';
import { PISP_BASE } from './pis-wire.js';
import type { SandboxState } from './state.js';

/** Delivery behaviour and how often due settlement is applied. */
export interface OpenBankingWebhookOptions extends WebhookDeliveryOptions {
  /** Interval of the settlement timer. Default 50 ms. */
  settlementScanMs?: number;
}

const RESOURCE_UPDATE = 'urn:uk:org:openbanking:events:resource-update';
const OB = 'http://openbanking.org.uk';
/** The API version the resource links name (the `version` of OBEventLink1, at most 10 characters). */
const LINK_VERSION = 'v3.1';
/** The sandbox bank's x-fapi-financial-id. */
const FINANCIAL_ID = 'tributary-sandbox-bank';
const WEBHOOK_ROUTE = '/__sandbox/openbanking/webhook_endpoints';

/** The key bytes of a `whsec_<base64>` secret. */
function keyOf(secret: string): Buffer {
  return Buffer.from(secret.slice('whsec_'.length), 'base64');
}

const endpointSchema = z.object({
  url: z.url(),
  secret: z
    .string()
    .regex(/^whsec_[A-Za-z0-9+/]+={0,2}$/, 'secret must be whsec_<base64>')
    .refine((secret) => keyOf(secret).length >= 16, 'secret must decode to at least 16 bytes'),
  clientId: z.string().min(1).optional(),
});

/** Standard Webhooks v1: base64 HMAC-SHA256 of `${id}.${timestamp}.${body}` keyed with the secret's bytes. */
function signature(secret: string, id: string, timestamp: number, body: string): string {
  const mac = createHmac('sha256', keyOf(secret)).update(`${id}.${timestamp}.${body}`);
  return `v1,${mac.digest('base64')}`;
}

/** Sends resource-update notifications for domestic payments to the endpoints of the payment's client. */
export class OpenBankingWebhookSender {
  readonly #dispatcher: WebhookDispatcher;
  /** Endpoint URL -> the client whose events it receives. */
  readonly #clientOf = new Map<string, string>();
  #timer: NodeJS.Timeout | null = null;

  /** `origin` is the sandbox's base URL (issuer and resource links), known once it listens. */
  constructor(
    private readonly state: SandboxState,
    private readonly origin: () => string,
    private readonly options: OpenBankingWebhookOptions = {},
  ) {
    this.#dispatcher = new WebhookDispatcher(options);
  }

  /** Deliveries answered 2xx. */
  get delivered(): number {
    return this.#dispatcher.delivered;
  }

  /** Adds (or replaces, by URL) an endpoint for one client, and starts the settlement timer. */
  register(endpoint: WebhookEndpoint & { secret: string }, clientId: string): void {
    this.#dispatcher.register({ url: endpoint.url, secret: endpoint.secret });
    this.#clientOf.set(endpoint.url, clientId);
    if (!this.#timer) {
      this.#timer = setInterval(() => this.settle(), this.options.settlementScanMs ?? 50);
      this.#timer.unref();
    }
  }

  /** Applies due settlement to every payment; each payment that settles is announced through onStatus. */
  settle(): void {
    const pis = this.state.pis;
    if (!pis) return;
    for (const payment of pis.payments.values()) pis.current(payment);
  }

  /** The PisState status hook: one notification per status change, to the client's endpoints. */
  notify(event: PaymentStatusEvent): void {
    const targets = this.#dispatcher.endpoints.filter(
      (endpoint) => this.#clientOf.get(endpoint.url) === event.clientId,
    );
    if (targets.length === 0) return;
    const id = randomUUID();
    const link = `${this.origin()}${PISP_BASE}/domestic-payments/${event.DomesticPaymentId}`;
    const notification = {
      iss: this.origin(),
      iat: Math.floor(this.state.now() / 1000),
      jti: id,
      aud: event.clientId,
      sub: link,
      txn: randomUUID(),
      toe: Math.floor(Date.parse(event.at) / 1000),
      events: {
        [RESOURCE_UPDATE]: {
          subject: {
            subject_type: `${OB}/rid_${OB}/rty`,
            [`${OB}/rid`]: event.DomesticPaymentId,
            [`${OB}/rty`]: 'domestic-payment',
            [`${OB}/rlk`]: [{ version: LINK_VERSION, link }],
          },
        },
      },
    };
    this.#dispatcher.send(
      JSON.stringify(notification),
      (endpoint, body, nowMs) => {
        const timestamp = Math.floor(nowMs / 1000);
        return {
          'webhook-id': id,
          'webhook-timestamp': String(timestamp),
          'webhook-signature': signature(endpoint.secret ?? '', id, timestamp, body),
          'x-fapi-financial-id': FINANCIAL_ID,
          'x-fapi-interaction-id': randomUUID(),
        };
      },
      targets,
    );
  }

  /** Resolves when every delivery started so far has finished (delivered or given up). */
  idle(): Promise<void> {
    return this.#dispatcher.idle();
  }

  close(): void {
    if (this.#timer) clearInterval(this.#timer);
    this.#timer = null;
    this.#dispatcher.close();
    this.#clientOf.clear();
  }
}

/** The control routes that register an endpoint and report deliveries. */
export function registerWebhookRoutes(
  router: Router,
  state: SandboxState,
  webhooks: OpenBankingWebhookSender,
  defaultClientId: string,
): void {
  router.on('POST', WEBHOOK_ROUTE, (req) => {
    const parsed = endpointSchema.safeParse(readJson(req));
    if (!parsed.success)
      return json(400, { error: parsed.error.issues.map((issue) => issue.message).join('; ') });
    const { url, secret, clientId = defaultClientId } = parsed.data;
    if (state.options.clients[clientId] === undefined)
      return json(400, { error: `unknown client ${clientId}` });
    webhooks.register({ url, secret }, clientId);
    return json(200, { url, clientId, status: 'enabled' });
  });
  router.on('GET', WEBHOOK_ROUTE, async () => {
    webhooks.settle();
    await webhooks.idle();
    return json(200, { delivered: webhooks.delivered });
  });
}
