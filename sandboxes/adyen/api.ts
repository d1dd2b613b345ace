/**
 * What every Checkout route shares: the `X-API-Key` check, the JSON body, the merchant account the key
 * may use, Idempotency-Key handling, and Adyen's error replies. A handler gets the parsed body and
 * returns the status and body to send; AdyenFailure thrown anywhere becomes a ServiceError answer.
 */
import { setTimeout as sleep } from 'node:timers/promises';
import { json, type Reply, type Router, type SandboxRequest } from '../kit/sandbox.js';
import {
  AdyenFailure,
  failureReply,
  invalidMerchantAccount,
  unauthorised,
  unreadable,
  validation,
} from './errors.js';
import type { IdempotencyStore } from './idempotency.js';
import type { AdyenNotifier } from './webhooks.js';
import { newPspReference, type AdyenLedger, type AdyenState } from './state.js';

/** Checkout API versions served under the same handlers (v71 is the published spec; v72 is the SDK's). */
export const API_VERSIONS = ['v71', 'v72'] as const;

/** What a handler gets. */
export interface ApiCall {
  req: SandboxRequest;
  body: Record<string, unknown>;
  idempotencyKey: string | null;
  /** `http://host:port` as the client addressed the sandbox (for action URLs). */
  origin: string;
}

export type ApiHandler = (call: ApiCall) => { status: number; body: unknown };

/** What the routes share. */
export interface ApiContext {
  state: AdyenState;
  ledger: AdyenLedger;
  idempotency: IdempotencyStore;
  notifier: AdyenNotifier;
  apiKeys: readonly string[];
  merchantAccount: string;
  /** Capture payments at authorisation unless the request asks for manual capture. */
  autoCapture: boolean;
  /** Time a write spends executing, so two requests with one key can overlap in tests. */
  writeDelayMs: number;
}

/** Registers a POST route under every served version, e.g. "/payments" → "/v71/payments". */
export function route(
  router: Router,
  ctx: ApiContext,
  template: string,
  handler: ApiHandler,
  { merchantAccount = true } = {},
): void {
  for (const version of API_VERSIONS) {
    router.on('POST', `/${version}${template}`, (req) => serve(ctx, template, handler, req, merchantAccount));
  }
}

async function serve(
  ctx: ApiContext,
  template: string,
  handler: ApiHandler,
  req: SandboxRequest,
  merchantAccount: boolean,
): Promise<Reply> {
  const key = req.header('idempotency-key') ?? null;
  const echo: Record<string, string> = key === null ? {} : { 'idempotency-key': key };
  try {
    const apiKey = req.header('x-api-key');
    if (!apiKey || !ctx.apiKeys.includes(apiKey)) throw unauthorised();
    const body = parseBody(req);
    // PaymentDetailsRequest has no merchantAccount: the payment it continues already names one.
    if (merchantAccount) checkMerchantAccount(ctx, body);
    const call: ApiCall = { req, body, idempotencyKey: key, origin: req.origin };
    if (key === null) return await execute(ctx, handler, call, echo);
    const endpoint = `${template} ${Object.values(req.params).join('/')}`;
    const claim = ctx.idempotency.claim(apiKey, key, endpoint, body);
    if (claim.kind === 'replay') return claim.reply;
    let reply: Reply = json(500, {});
    try {
      reply = await execute(ctx, handler, call, echo);
      return reply;
    } finally {
      claim.finish(reply);
    }
  } catch (error) {
    if (error instanceof AdyenFailure) {
      const reply = failureReply(error);
      return { ...reply, headers: { ...echo, ...reply.headers } };
    }
    throw error;
  }
}

async function execute(
  ctx: ApiContext,
  handler: ApiHandler,
  call: ApiCall,
  echo: Record<string, string>,
): Promise<Reply> {
  if (ctx.writeDelayMs > 0) await sleep(ctx.writeDelayMs);
  try {
    const { status, body } = handler(call);
    return json(status, body, echo);
  } catch (error) {
    if (!(error instanceof AdyenFailure)) throw error;
    const reply = failureReply(error);
    return { ...reply, headers: { ...echo, ...reply.headers } };
  }
}

function parseBody(req: SandboxRequest): Record<string, unknown> {
  let parsed: unknown;
  try {
    parsed = JSON.parse(req.rawBody.toString('utf8'));
  } catch {
    throw unreadable();
  }
  if (typeof parsed !== 'object' || parsed === null || Array.isArray(parsed)) throw unreadable();
  return parsed as Record<string, unknown>;
}

function checkMerchantAccount(ctx: ApiContext, body: Record<string, unknown>): void {
  const account = body.merchantAccount;
  if (typeof account !== 'string' || account === '') {
    throw validation('702', "Required field 'merchantAccount' is not provided.");
  }
  if (account !== ctx.merchantAccount) throw invalidMerchantAccount(newPspReference());
}

/** A positive `amount` object in minor units with an ISO currency, or Adyen's validation error. */
export function readAmount(value: unknown, required: boolean): { value: number; currency: string } | null {
  if (value === undefined && !required) return null;
  if (typeof value !== 'object' || value === null) {
    throw validation('100', 'There is no amount specified in the request');
  }
  const { value: minor, currency } = value as Record<string, unknown>;
  if (typeof minor !== 'number' || !Number.isInteger(minor) || minor < 0) {
    throw validation('137', 'Invalid amount specified');
  }
  if (typeof currency !== 'string' || !/^[A-Z]{3}$/.test(currency)) {
    throw validation('138', 'Unsupported currency specified');
  }
  return { value: minor, currency };
}

/** A string field, or undefined; throws 702 when present and not a string. */
export function optionalString(body: Record<string, unknown>, field: string): string | undefined {
  const value = body[field];
  if (value === undefined || value === null) return undefined;
  if (typeof value !== 'string') throw validation('702', `Field '${field}' is not a string`);
  return value;
}
