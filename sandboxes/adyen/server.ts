/**
 * Starts the Adyen sandbox: the kit's server with the Checkout API's card payment routes (POST
 * /payments, /payments/details, and the captures / cancels / refunds modifications), served under
 * /v71 (the published spec) and /v72 (the version @adyen/api-library 32 calls) alike, Adyen-shaped
 * errors for faults and unknown routes, HMAC-signed notifications, and the control routes (control.ts).
 *
 * Adyen's Checkout API has no "get payment" endpoint, and neither has the sandbox: a payment's state is
 * known from the synchronous answer and the notifications; tests read it from the ledger (`payments`).
 */
import {
  json,
  Router,
  startSandbox,
  type Reply,
  type SandboxHandle,
  type SandboxRequest,
} from '../kit/sandbox.js';
import type { WebhookDeliveryOptions } from '../kit/webhooks.js';
import type { ApiContext } from './api.js';
import { registerControlRoutes } from './control.js';
import { AdyenFailure, failureReply, injectedFailure, unreadable } from './errors.js';
import { IdempotencyStore } from './idempotency.js';
import { registerModificationRoutes } from './modifications.js';
import { registerPaymentRoutes } from './payments.js';
import { AdyenLedger, AdyenState, type AdyenLedgerSnapshot } from './state.js';
import { AdyenNotifier } from './webhooks.js';

/** The API key every sandbox accepts (the default of `npm start` and the tests). Test only. */
export const ADYEN_SANDBOX_API_KEY = 'AQEyhmfxTributarySandboxKey0000000000000000000000';

/** The merchant account of the sandbox; any other `merchantAccount` is answered 403 901. */
export const ADYEN_SANDBOX_MERCHANT_ACCOUNT = 'TributaryECOM';

/** Options of startAdyenSandbox. */
export interface AdyenSandboxOptions {
  /** 0 (default) picks a free port. */
  port?: number;
  host?: string;
  /** Extra API keys accepted besides ADYEN_SANDBOX_API_KEY (each its own idempotency scope). */
  apiKeys?: string[];
  /** Capture at authorisation (default true, Adyen's default for cards). */
  autoCapture?: boolean;
  /** Time each write spends executing, so tests can overlap two requests with one key. Default 0. */
  writeDelayMs?: number;
  /** Notification delivery (duplicates, jitter, attempts); see sandboxes/kit/webhooks.ts. */
  webhooks?: WebhookDeliveryOptions;
}

/** A started Adyen sandbox: the kit's handle, whose ledger also lists the payments. */
export interface AdyenSandboxHandle extends SandboxHandle {
  ledger(): AdyenLedgerSnapshot;
}

/** Starts a loopback Adyen sandbox. */
export async function startAdyenSandbox(options: AdyenSandboxOptions = {}): Promise<AdyenSandboxHandle> {
  const state = new AdyenState();
  const ledger = new AdyenLedger(state);
  const notifier = new AdyenNotifier(options.webhooks);
  const ctx: ApiContext = {
    state,
    ledger,
    idempotency: new IdempotencyStore(),
    notifier,
    apiKeys: [ADYEN_SANDBOX_API_KEY, ...(options.apiKeys ?? [])],
    merchantAccount: ADYEN_SANDBOX_MERCHANT_ACCOUNT,
    autoCapture: options.autoCapture ?? true,
    writeDelayMs: options.writeDelayMs ?? 0,
  };
  const router = new Router();
  registerPaymentRoutes(router, ctx);
  registerModificationRoutes(router, ctx);
  registerControlRoutes(router, ctx);
  const handle = await startSandbox({
    name: 'adyen',
    router,
    ledger,
    port: options.port ?? 0,
    host: options.host ?? '127.0.0.1',
    errorReply: (status) => failureReply(injectedFailure(status)),
    corrupt: breakContract,
    notFound: (_req, methodAllowed) =>
      failureReply(
        methodAllowed
          ? new AdyenFailure(404, '000', 'HTTP Status Response - Not Found', 'validation')
          : new AdyenFailure(405, '000', 'HTTP Status Response - Method Not Allowed', 'validation'),
      ),
    onError: (error) => errorAnswer(error),
    onReset: () => {
      state.clear();
      ctx.idempotency.clear();
    },
  });
  return {
    ...handle,
    ledger: () => ledger.snapshot(),
    async close() {
      notifier.close();
      await handle.close();
    },
  };
}

function errorAnswer(error: unknown): Reply {
  if (error instanceof AdyenFailure) return failureReply(error);
  if (error instanceof SyntaxError) return failureReply(unreadable());
  return json(500, {
    status: 500,
    errorCode: '000',
    message: 'An unknown error occurred',
    errorType: 'internal',
  });
}

/**
 * The `contract` fault: an authorisation keeps its shape but its amount is off by one (only a client
 * that checks the answer against its request notices); elsewhere `resultCode` / `status` gets a value
 * outside the spec's enum, or a required field is dropped.
 */
function breakContract(body: unknown, req: SandboxRequest): unknown {
  if (typeof body !== 'object' || body === null) return body;
  const record = body as Record<string, unknown>;
  const amount = record.amount as { value?: number } | undefined;
  if (
    req.path.endsWith('/payments') &&
    record.resultCode === 'Authorised' &&
    typeof amount?.value === 'number'
  ) {
    amount.value += 1;
  } else if ('resultCode' in record) record.resultCode = 'Teleported';
  else if ('status' in record && record.status === 'received') record.status = 'teleported';
  else delete record.pspReference;
  return record;
}
