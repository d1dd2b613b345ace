/**
 * Stripe wire calls through the official `stripe` SDK, configured the house way: host, port and
 * protocol from the base URL, its node HTTP client over a keep-alive agent with a connection cap (and
 * a body cap, transport.ts), a timeout, and no retries of its own (retries belong to the resilience policy, which sees mapped, typed errors). Every call
 * carries our correlation id as X-Request-Id; every write carries the caller's Idempotency-Key, so a
 * retry of one logical operation is answered by Stripe's saved response instead of acting twice.
 * Every answer is validated with zod before anyone maps it.
 */
import http from 'node:http';
import https from 'node:https';
import type { Logger } from 'pino';
import Stripe from 'stripe';
import type { ZodType } from 'zod';
import { isDomainError, PartnerError } from '../../domain/errors.js';
import type { CallPolicy } from '../http.js';
import { guardedNodeHttpClient } from './transport.js';
import { contractViolation } from '../contract.js';
import { decode, fromStripeError, StripeDeclineError, type ErrorContext } from './errors.js';
import {
  customerSchema,
  disputeSchema,
  paymentMethodSchema,
  listSchema,
  paymentIntentSchema,
  refundSchema,
  searchResultSchema,
  type WireCustomer,
  type WireDispute,
  type WireList,
  type WirePaymentIntent,
  type WirePaymentMethod,
  type WireRefund,
} from './types.js';

/** How the client reaches Stripe. */
export interface StripeClientOptions {
  /** Origin of the API: https://api.stripe.com, or a sandbox's URL. No path. */
  baseUrl: string;
  secretKey: string;
  logger: Logger;
  /** Bound on one attempt, end to end (the SDK's own timeout is per socket inactivity). */
  timeoutMs: number;
  /** Bound on one read attempt (GET); reads need not wait as long as a payment confirmation. */
  readTimeoutMs?: number;
  /** Socket cap of the keep-alive agent. */
  connections: number;
  /** Response body cap in bytes. */
  maxResponseBytes: number;
  /** The partner's resilience policy (timeouts, retries, breaker, bulkhead). */
  policy?: CallPolicy;
}

/** Who a call is made for, for headers and logs. */
export interface StripeCall {
  correlationId: string;
  logger: Logger;
  signal?: AbortSignal;
}

/** The SDK accepts extra headers per request; its typings only declare them on rawRequest. */
type SdkOptions = Stripe.RequestOptions & { additionalHeaders?: Record<string, string> };

const MAX_PAGES = 10;
const noPolicy: CallPolicy = { execute: (fn) => fn(new AbortController().signal) };

/** The wire calls Tributary makes to Stripe, each validated; methods are named after the API. */
export class StripeClient {
  private readonly stripe: Stripe;
  private readonly agent: http.Agent;

  constructor(private readonly options: StripeClientOptions) {
    const base = new URL(options.baseUrl);
    if (base.pathname !== '/' || base.search !== '')
      throw new Error('The Stripe base URL must be an origin without a path.');
    const protocol = base.protocol === 'https:' ? 'https' : 'http';
    const agentOptions = {
      keepAlive: true,
      maxSockets: options.connections,
      maxTotalSockets: options.connections,
    };
    this.agent = protocol === 'https' ? new https.Agent(agentOptions) : new http.Agent(agentOptions);
    this.stripe = new Stripe(options.secretKey, {
      host: base.hostname,
      port: base.port || (protocol === 'https' ? 443 : 80),
      protocol,
      maxNetworkRetries: 0,
      timeout: options.timeoutMs,
      httpClient: guardedNodeHttpClient(this.agent, options.maxResponseBytes),
      telemetry: false,
      appInfo: { name: 'tributary' },
    });
  }

  /** A PaymentIntent with its latest charge expanded (refunded and disputed totals live there). */
  retrievePaymentIntent(call: StripeCall, id: string): Promise<WirePaymentIntent> {
    const context = { endpoint: 'GET /v1/payment_intents/{id}', resource: 'Payment', mayDecline: false };
    return this.send(call, context, paymentIntentSchema, null, (options) =>
      this.stripe.paymentIntents.retrieve(id, { expand: ['latest_charge'] }, options),
    );
  }

  /**
   * One page of PaymentIntents, newest first: a customer's, or the whole account's (reconciliation),
   * optionally only those created at or after `createdGte` (Unix seconds).
   */
  listPaymentIntents(
    call: StripeCall,
    query: { customer?: string; limit: number; startingAfter?: string; createdGte?: number },
  ): Promise<WireList<WirePaymentIntent>> {
    const context = { endpoint: 'GET /v1/payment_intents', resource: 'Payment', mayDecline: false };
    const params: Stripe.PaymentIntentListParams = {
      limit: query.limit,
      expand: ['data.latest_charge'],
    };
    if (query.customer) params.customer = query.customer;
    if (query.createdGte !== undefined) params.created = { gte: query.createdGte };
    if (query.startingAfter) params.starting_after = query.startingAfter;
    return this.send(call, context, listSchema(paymentIntentSchema), null, (options) =>
      this.stripe.paymentIntents.list(params, options),
    );
  }

  /** Creates (and usually confirms) a PaymentIntent. A card decline throws StripeDeclineError. */
  createPaymentIntent(
    call: StripeCall,
    params: Stripe.PaymentIntentCreateParams,
    key: string,
  ): Promise<WirePaymentIntent> {
    const context = { endpoint: 'POST /v1/payment_intents', resource: 'Payment', mayDecline: true };
    return this.send(call, context, paymentIntentSchema, key, (options) =>
      this.stripe.paymentIntents.create(params, options),
    );
  }

  /**
   * Confirms a PaymentIntent server-side (manual confirmation: after the customer completed 3-D Secure in
   * the client SDK, it waits in requires_confirmation). A failed charge throws StripeDeclineError.
   */
  confirmPaymentIntent(call: StripeCall, id: string, key: string): Promise<WirePaymentIntent> {
    const context = {
      endpoint: 'POST /v1/payment_intents/{id}/confirm',
      resource: 'Payment',
      mayDecline: true,
    };
    return this.send(call, context, paymentIntentSchema, key, (options) =>
      this.stripe.paymentIntents.confirm(id, { expand: ['latest_charge'] }, options),
    );
  }

  cancelPaymentIntent(call: StripeCall, id: string, key: string): Promise<WirePaymentIntent> {
    const context = {
      endpoint: 'POST /v1/payment_intents/{id}/cancel',
      resource: 'Payment',
      mayDecline: false,
    };
    return this.send(call, context, paymentIntentSchema, key, (options) =>
      this.stripe.paymentIntents.cancel(id, { expand: ['latest_charge'] }, options),
    );
  }

  createRefund(call: StripeCall, params: Stripe.RefundCreateParams, key: string): Promise<WireRefund> {
    const context = { endpoint: 'POST /v1/refunds', resource: 'Payment', mayDecline: false };
    return this.send(call, context, refundSchema, key, (options) =>
      this.stripe.refunds.create(params, options),
    );
  }

  /** Every refund of a PaymentIntent. */
  listRefunds(call: StripeCall, paymentIntent: string): Promise<WireRefund[]> {
    const context = { endpoint: 'GET /v1/refunds', resource: 'Refund', mayDecline: false };
    return this.all(call, context, refundSchema, (params, options) =>
      this.stripe.refunds.list({ ...params, payment_intent: paymentIntent }, options),
    );
  }

  /** Every dispute of a PaymentIntent. */
  listDisputes(call: StripeCall, paymentIntent: string): Promise<WireDispute[]> {
    const context = { endpoint: 'GET /v1/disputes', resource: 'Dispute', mayDecline: false };
    return this.all(call, context, disputeSchema, (params, options) =>
      this.stripe.disputes.list({ ...params, payment_intent: paymentIntent }, options),
    );
  }

  /** One dispute by id (`GET /v1/disputes/{id}`). */
  retrieveDispute(call: StripeCall, id: string): Promise<WireDispute> {
    const context = { endpoint: 'GET /v1/disputes/{id}', resource: 'Dispute', mayDecline: false };
    return this.send(call, context, disputeSchema, null, (options) =>
      this.stripe.disputes.retrieve(id, {}, options),
    );
  }

  /** One payment method by id (`GET /v1/payment_methods/{id}`), for its card's scheme and country. */
  retrievePaymentMethod(call: StripeCall, id: string): Promise<WirePaymentMethod> {
    const context = {
      endpoint: 'GET /v1/payment_methods/{id}',
      resource: 'PaymentMethod',
      mayDecline: false,
    };
    return this.send(call, context, paymentMethodSchema, null, (options) =>
      this.stripe.paymentMethods.retrieve(id, {}, options),
    );
  }

  /** The customer tagged with the subject, oldest first when several are. */
  async findCustomerBySubject(
    call: StripeCall,
    metadataKey: string,
    subject: string,
  ): Promise<WireCustomer | null> {
    const context = { endpoint: 'GET /v1/customers/search', resource: 'Customer', mayDecline: false };
    const query = `metadata['${metadataKey}']:'${subject}'`;
    const result = await this.send(call, context, searchResultSchema(customerSchema), null, (options) =>
      this.stripe.customers.search({ query, limit: 10 }, options),
    );
    const matching = result.data.filter((customer) => customer.metadata[metadataKey] === subject);
    return matching.sort((a, b) => a.created - b.created)[0] ?? null;
  }

  createCustomer(call: StripeCall, params: Stripe.CustomerCreateParams, key: string): Promise<WireCustomer> {
    const context = { endpoint: 'POST /v1/customers', resource: 'Customer', mayDecline: false };
    return this.send(call, context, customerSchema, key, (options) =>
      this.stripe.customers.create(params, options),
    );
  }

  async close(): Promise<void> {
    this.agent.destroy();
  }

  /** Follows `starting_after` through a whole list, up to MAX_PAGES pages of 100. */
  private async all<T>(
    call: StripeCall,
    context: ErrorContext,
    item: ZodType<T>,
    page: (params: { limit: number; starting_after?: string }, options: SdkOptions) => Promise<unknown>,
  ): Promise<T[]> {
    const out: T[] = [];
    let after: string | undefined;
    for (let index = 0; index < MAX_PAGES; index++) {
      const params = after ? { limit: 100, starting_after: after } : { limit: 100 };
      const list = (await this.send(call, context, listSchema(item), null, (options) =>
        page(params, options),
      )) as WireList<T>;
      out.push(...list.data);
      const last = list.data.at(-1) as { id?: string } | undefined;
      if (!list.has_more) return out;
      if (!last?.id) break;
      after = last.id;
    }
    throw contractViolation({
      partner: 'stripe',
      endpoint: context.endpoint,
      issues: [`more than ${MAX_PAGES} pages`],
      call,
    });
  }

  /** One call under the policy: headers, deadline, error mapping, a log line, then validation. */
  private async send<T>(
    call: StripeCall,
    context: ErrorContext,
    schema: ZodType<T>,
    idempotencyKey: string | null,
    invoke: (options: SdkOptions) => Promise<unknown>,
  ): Promise<T> {
    // additionalHeaders replaces the SDK's per-request header set, so the key goes in it as well.
    const headers: Record<string, string> = { 'X-Request-Id': call.correlationId };
    if (idempotencyKey) headers['Idempotency-Key'] = idempotencyKey;
    const kind = idempotencyKey ? 'keyed-write' : context.endpoint.startsWith('GET ') ? 'read' : 'write';
    const timeoutMs =
      kind === 'read' ? (this.options.readTimeoutMs ?? this.options.timeoutMs) : this.options.timeoutMs;
    const options: SdkOptions = {
      maxNetworkRetries: 0,
      timeout: timeoutMs,
      additionalHeaders: headers,
      ...(idempotencyKey ? { idempotencyKey } : {}),
    };
    const started = performance.now();
    const fields = (status: unknown, requestId: unknown) => ({
      partner: 'stripe',
      endpoint: context.endpoint,
      status,
      ms: Math.round(performance.now() - started),
      correlationId: call.correlationId,
      stripeRequestId: requestId,
    });
    const policy = this.options.policy ?? noPolicy;
    let answer: unknown;
    try {
      answer = await policy.execute(
        (signal) => this.attempt(call, context, invoke(options), signal, timeoutMs),
        {
          kind,
          endpoint: context.endpoint,
        },
      );
    } catch (error) {
      const raw = error as { statusCode?: unknown; requestId?: unknown; code?: unknown };
      call.logger.warn({ ...fields(raw.statusCode, raw.requestId), code: raw.code }, 'Partner call failed.');
      throw error;
    }
    const last = (answer as { lastResponse?: { statusCode?: number; requestId?: string } }).lastResponse;
    call.logger.info(fields(last?.statusCode, last?.requestId), 'Partner call completed.');
    return decode(schema, answer, {
      logger: call.logger,
      correlationId: call.correlationId,
      endpoint: context.endpoint,
    });
  }

  /** Bounds one attempt and maps what the SDK throws, so the policy sees typed, retryable-or-not errors. */
  private attempt(
    call: StripeCall,
    context: ErrorContext,
    pending: Promise<unknown>,
    signal: AbortSignal,
    timeoutMs: number,
  ): Promise<unknown> {
    // The loser of the race must not surface as an unhandled rejection.
    pending.catch(() => undefined);
    return new Promise((resolve, reject) => {
      const timeout = () =>
        new PartnerError({
          partner: 'stripe',
          code: 'PARTNER_TIMEOUT',
          endpoint: context.endpoint,
          retryable: true,
        });
      const timer = setTimeout(() => reject(timeout()), timeoutMs + 100);
      const onAbort = () => reject(call.signal?.aborted ? call.signal.reason : timeout());
      signal.addEventListener('abort', onAbort, { once: true });
      call.signal?.addEventListener('abort', onAbort, { once: true });
      pending
        .then(resolve, (error: unknown) => {
          reject(
            isDomainError(error) || error instanceof StripeDeclineError
              ? error
              : fromStripeError(error, context),
          );
        })
        .finally(() => {
          clearTimeout(timer);
          signal.removeEventListener('abort', onAbort);
          call.signal?.removeEventListener('abort', onAbort);
        });
    });
  }
}
