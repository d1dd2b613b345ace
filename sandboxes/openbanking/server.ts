/**
 * Starts the Open Banking sandbox: the kit's server with the token endpoint, the authorisation
 * endpoint (the customer's journey, journey.ts), consents, the Account and Transaction API and the
 * Payment Initiation API, x-fapi-interaction-id on every answer, and OB-shaped faults. Given `tls`,
 * it serves HTTPS and demands a client certificate issued by `tls.ca` (mutual TLS, as banks do): a
 * client without one, or with another CA's, fails the handshake. Payment status changes go out as
 * event notifications to registered endpoints (webhooks.ts). Payment Initiation answers are signed
 * with the bank's key and payment requests must be signed with the TPP's (signing.ts).
 */
import { randomUUID } from 'node:crypto';
import { createServer as createHttpsServer } from 'node:https';
import {
  BodyError,
  Ledger,
  Router,
  startSandbox,
  type Reply,
  type SandboxHandle,
  type SandboxRequest,
} from '../kit/sandbox.js';
import { registerAccountRoutes } from './ais.js';
import { registerConsentRoutes } from './consents.js';
import { registerJourneyRoutes } from './journey.js';
import { registerOAuthRoutes } from './oauth.js';
import { registerPaymentRoutes } from './pis.js';
import { PisState, type PaymentStatusEvent } from './pis-state.js';
import { buildBank } from './seed.js';
import {
  BankSigningKeys,
  forgeStatus,
  publicJwkOf,
  registerSigningRoutes,
  signingHook,
  type ClientSigningKeys,
} from './signing.js';
import { sharedSandboxTls } from '../certs.js';
import { PISP_BASE } from './pis-wire.js';
import { SandboxState } from './state.js';
import {
  OpenBankingWebhookSender,
  registerWebhookRoutes,
  type OpenBankingWebhookOptions,
} from './webhooks.js';
import { ObFailure, obError } from './wire.js';

/** The dev client registered in every sandbox (the defaults of `npm start` and the tests). */
export const OB_SANDBOX_CLIENT_ID = 'tributary-dev';
/** The dev client's secret; never valid outside the sandbox. */
export const OB_SANDBOX_CLIENT_SECRET = 'tributary-dev-secret-0123456789';

/** Options of one Open Banking sandbox. */
export interface OpenBankingSandboxOptions {
  /** 0 (default) picks a free port. */
  port?: number;
  host?: string;
  /** Items per page of list endpoints. Default 100. */
  pageSize?: number;
  /** Lifetime of access tokens. Default 300 s. */
  accessTokenTtlSeconds?: number;
  /** Lifetime of authorisation codes. Default 60 s. */
  codeTtlSeconds?: number;
  /** Extra accounts per PSU id (new PSUs are created), e.g. `{ cust_alice: 50 }`. */
  extraAccounts?: Record<string, number>;
  /** Extra registered clients, id -> secret. */
  clients?: Record<string, string>;
  /** The sandbox clock (token and consent expiry, settlement) in epoch ms. Default Date.now. */
  now?: () => number;
  /** Server certificate, key and the CA client certificates must chain to; absent: plain HTTP. */
  tls?: SandboxServerTls;
  /**
   * Sandbox seconds after which an accepted payment settles (AcceptedSettlementCompleted).
   * Default 2; null: only POST /__sandbox/domestic-payments/{id}/status moves payments.
   */
  paymentSettlementSeconds?: number | null;
  /** Hears every payment status change (besides the event notifications). */
  onPaymentStatus?: (event: PaymentStatusEvent) => void;
  /** Event notification delivery (duplicates, reordering, retries, settlement timer); see webhooks.ts. */
  webhooks?: OpenBankingWebhookOptions;
  /** The key id of the bank's signing key. Default: the key's RFC 7638 thumbprint. */
  signingKid?: string;
  /**
   * The keys each TPP signs its payment requests with, by client id. Default: the dev client with the
   * signing key of the shared local set (sharedSandboxTls), the one Tributary's dev wiring signs with.
   */
  clientSigningKeys?: Record<string, ClientSigningKeys>;
}

/** The dev client's request-signing keys: the public half of a local set's signing key. */
export async function devClientSigningKeys(tls: {
  signingKey: string;
}): Promise<Record<string, ClientSigningKeys>> {
  return {
    [OB_SANDBOX_CLIENT_ID]: { issuer: OB_SANDBOX_CLIENT_ID, keys: [await publicJwkOf(tls.signingKey)] },
  };
}

/** PEM material of a mutual-TLS sandbox. */
export interface SandboxServerTls {
  cert: string;
  key: string;
  /** Client certificates must be issued by this CA. */
  ca: string;
}

/** Starts a loopback Open Banking sandbox. */
export async function startOpenBankingSandbox(
  options: OpenBankingSandboxOptions = {},
): Promise<SandboxHandle> {
  const state = new SandboxState(buildBank(options.extraAccounts), {
    now: options.now ?? Date.now,
    accessTokenTtlSeconds: options.accessTokenTtlSeconds ?? 300,
    codeTtlSeconds: options.codeTtlSeconds ?? 60,
    pageSize: options.pageSize ?? 100,
    clients: { [OB_SANDBOX_CLIENT_ID]: OB_SANDBOX_CLIENT_SECRET, ...options.clients },
  });
  const ledger = new Ledger();
  const signingKeys = await BankSigningKeys.create(state.options.now, options.signingKid);
  const clientKeys = options.clientSigningKeys ?? (await devClientSigningKeys(await sharedSandboxTls()));
  const settlement = options.paymentSettlementSeconds === undefined ? 2 : options.paymentSettlementSeconds;
  let origin = '';
  const webhooks = new OpenBankingWebhookSender(state, () => origin, options.webhooks);
  state.pis = new PisState(state, ledger, {
    settlementMs: settlement === null ? null : settlement * 1000,
    onStatus: (event) => {
      options.onPaymentStatus?.(event);
      webhooks.notify(event);
    },
  });
  const router = new Router();
  registerOAuthRoutes(router, state);
  registerConsentRoutes(router, state);
  registerJourneyRoutes(router, state);
  registerAccountRoutes(router, state);
  registerPaymentRoutes(router, state, state.pis, clientKeys);
  registerSigningRoutes(router, signingKeys, ledger);
  registerWebhookRoutes(router, state, webhooks, OB_SANDBOX_CLIENT_ID);
  const tls = options.tls;
  const handle = await startSandbox({
    name: 'openbanking',
    router,
    ledger,
    port: options.port ?? 0,
    host: options.host ?? '127.0.0.1',
    ...(tls
      ? {
          protocol: 'https' as const,
          createServer: (listener) =>
            createHttpsServer(
              { ...tls, requestCert: true, rejectUnauthorized: true, minVersion: 'TLSv1.2' },
              listener,
            ),
        }
      : {}),
    correlationHeader: 'x-fapi-interaction-id',
    responseHeaders: interactionId,
    errorReply: faultReply,
    corrupt: breakContract,
    sign: signingHook(signingKeys, (req) => req.route?.startsWith(PISP_BASE) ?? false),
    tamper: forgeStatus,
    notFound: (_req, methodAllowed) =>
      methodAllowed
        ? obError(404, 'UK.OBIE.Resource.NotFound', 'No such resource.')
        : obError(405, 'UK.OBIE.UnexpectedError', 'Method not allowed.'),
    onError: (error) => {
      if (error instanceof ObFailure) return error.reply;
      if (error instanceof BodyError) return obError(400, 'UK.OBIE.Resource.InvalidFormat', error.message);
      return obError(500, 'UK.OBIE.UnexpectedError', 'Unexpected error.');
    },
  });
  origin = handle.url;
  return {
    ...handle,
    async close() {
      webhooks.close();
      await handle.close();
    },
  };
}

/** The spec: every response carries x-fapi-interaction-id, the caller's value or a fresh RFC 4122 id. */
function interactionId(req: SandboxRequest): Record<string, string> {
  return { 'x-fapi-interaction-id': req.header('x-fapi-interaction-id') ?? randomUUID() };
}

/** Injected errors look like the bank's own: OBErrorResponse1, except 429, which the spec sends bare. */
function faultReply(status: number): Reply {
  if (status === 429) return { status };
  const code =
    status >= 500
      ? 'UK.OBIE.UnexpectedError'
      : status === 404
        ? 'UK.OBIE.Resource.NotFound'
        : 'UK.OBIE.Field.Invalid';
  return obError(status, code, 'Injected fault.');
}

/** The `contract` fault: drop a field the spec requires, so a validating client must notice. */
function breakContract(body: unknown): unknown {
  if (typeof body !== 'object' || body === null) return body;
  const record = body as Record<string, unknown>;
  const data = record.Data as Record<string, unknown> | undefined;
  const first = (key: string) =>
    Array.isArray(data?.[key]) ? (data[key] as Record<string, unknown>[])[0] : undefined;
  const account = first('Account');
  const balance = first('Balance');
  const transaction = first('Transaction');
  const initiation = data?.Initiation as { InstructedAmount?: { Amount: string } } | undefined;
  // A payment answer stays well-formed but names another amount: only a client that compares notices.
  if (initiation?.InstructedAmount)
    initiation.InstructedAmount.Amount = plusOne(initiation.InstructedAmount.Amount);
  else if (account) delete account.AccountId;
  else if (balance) delete balance.Amount;
  else if (transaction) transaction.CreditDebitIndicator = 'Sideways';
  else if (data && 'Status' in data) data.Status = 'Unheard-of';
  else if ('access_token' in record) delete record.access_token;
  else delete record.Data;
  return record;
}

/** "12.30" -> "13.30": one more unit of the currency, still a valid OB amount. */
function plusOne(amount: string): string {
  const [whole = '0', fraction] = amount.split('.');
  return `${BigInt(whole) + 1n}${fraction === undefined ? '' : `.${fraction}`}`;
}
