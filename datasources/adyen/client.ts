/**
 * Adyen wire calls through the official `@adyen/api-library` (CheckoutAPI), configured the house way:
 * its HTTP client replaced by transport.ts (the shared keep-alive agent, the configured base URL, a
 * body cap, per-attempt timeouts, no retries or redirects of its own), every call one attempt under
 * the partner's CallPolicy with its endpoint class. Every write carries the caller's Idempotency-Key
 * (Adyen keeps the answer to a key for at least 7 days), so the policy may replay a keyed write and a
 * retried operation is answered from Adyen's record instead of paying twice. Every answer is
 * validated with zod before anyone maps it.
 */
import http from 'node:http';
import https from 'node:https';
// Deep imports: the library's index loads every Adyen API (seconds at start-up); Checkout is all we use.
import clientModule from '@adyen/api-library/lib/src/client.js';
import checkoutModule from '@adyen/api-library/lib/src/services/checkout/index.js';
import type { PaymentCancelRequest } from '@adyen/api-library/lib/src/typings/checkout/paymentCancelRequest.js';
import type { PaymentDetailsRequest } from '@adyen/api-library/lib/src/typings/checkout/paymentDetailsRequest.js';
import type { PaymentRefundRequest } from '@adyen/api-library/lib/src/typings/checkout/paymentRefundRequest.js';
import type { PaymentRequest } from '@adyen/api-library/lib/src/typings/checkout/paymentRequest.js';
import type { Logger } from 'pino';
import type { ZodType } from 'zod';
import { isDomainError } from '../../domain/errors.js';
import type { CallPolicy } from '../http.js';
import { decode, fromAdyenError, type ErrorContext } from './errors.js';
import { AdyenTransport, type TransportOptions } from './transport.js';
import {
  cancelResponseSchema,
  paymentResponseSchema,
  refundResponseSchema,
  type WireCancelResponse,
  type WirePaymentResponse,
  type WireRefundResponse,
} from './types.js';

/** A CommonJS default export, as Node hands it over (on `.default`) or as Vite does (unwrapped). */
function cjsDefault<T>(module: { default: T }): T {
  return (module as Partial<{ default: T }>).default ?? (module as unknown as T);
}
const Client = cjsDefault(clientModule);
const CheckoutAPI = cjsDefault(checkoutModule);

/** How the client reaches Adyen. */
export interface AdyenClientOptions {
  /** The Checkout API root with its version: https://checkout-test.adyen.com/v71, or a sandbox's. */
  baseUrl: string;
  apiKey: string;
  /** Bound on one write attempt (a payment waits on the card network). */
  timeoutMs: number;
  /** Socket cap of the keep-alive agent. */
  connections: number;
  maxResponseBytes: number;
  policy: CallPolicy;
}

/** Who a call is made for, for headers and logs. */
export interface AdyenCall {
  correlationId: string;
  logger: Logger;
  signal?: AbortSignal;
}

/** The wire calls Tributary makes to Adyen Checkout, each validated. */
export class AdyenClient {
  private readonly checkout: InstanceType<typeof CheckoutAPI>;
  private readonly agent: http.Agent;

  constructor(private readonly options: AdyenClientOptions) {
    const secure = new URL(options.baseUrl).protocol === 'https:';
    const agentOptions = {
      keepAlive: true,
      maxSockets: options.connections,
      maxTotalSockets: options.connections,
    };
    this.agent = secure ? new https.Agent(agentOptions) : new http.Agent(agentOptions);
    // The TEST environment (EnvironmentEnum.TEST) keeps the library's plain checkout-test URLs, which
    // the transport replaces with the base URL, live or test.
    const client = new Client({
      apiKey: options.apiKey,
      applicationName: 'tributary',
      environment: 'TEST' as never,
    });
    client.httpClient = new AdyenTransport(options.baseUrl, this.agent, options.maxResponseBytes) as never;
    this.checkout = new CheckoutAPI(client);
  }

  /** POST /payments: creates (and authorises, or asks for 3-D Secure) a card payment. */
  createPayment(call: AdyenCall, request: PaymentRequest, key: string): Promise<WirePaymentResponse> {
    const context = { endpoint: 'POST /payments', resource: 'Payment' };
    return this.send(call, context, paymentResponseSchema, key, (options) =>
      this.checkout.PaymentsApi.payments(request, options),
    );
  }

  /** POST /payments/details: completes a payment after the shopper's 3-D Secure. */
  submitDetails(call: AdyenCall, request: PaymentDetailsRequest, key: string): Promise<WirePaymentResponse> {
    const context = { endpoint: 'POST /payments/details', resource: 'Payment' };
    return this.send(call, context, paymentResponseSchema, key, (options) =>
      this.checkout.PaymentsApi.paymentsDetails(request, options),
    );
  }

  /** POST /payments/{paymentPspReference}/cancels: asks Adyen to cancel; the outcome comes by notification. */
  cancel(
    call: AdyenCall,
    psp: string,
    request: PaymentCancelRequest,
    key: string,
  ): Promise<WireCancelResponse> {
    const context = { endpoint: 'POST /payments/{paymentPspReference}/cancels', resource: 'Payment' };
    return this.send(call, context, cancelResponseSchema, key, (options) =>
      this.checkout.ModificationsApi.cancelAuthorisedPaymentByPspReference(psp, request, options),
    );
  }

  /** POST /payments/{paymentPspReference}/refunds: asks for a refund; the outcome comes by notification. */
  refund(
    call: AdyenCall,
    psp: string,
    request: PaymentRefundRequest,
    key: string,
  ): Promise<WireRefundResponse> {
    const context = { endpoint: 'POST /payments/{paymentPspReference}/refunds', resource: 'Payment' };
    return this.send(call, context, refundResponseSchema, key, (options) =>
      this.checkout.ModificationsApi.refundCapturedPayment(psp, request, options),
    );
  }

  async close(): Promise<void> {
    this.agent.destroy();
  }

  /** One keyed write under the policy: headers, per-attempt bound, error mapping, a log line, validation. */
  private async send<T>(
    call: AdyenCall,
    context: ErrorContext,
    schema: ZodType<T>,
    idempotencyKey: string,
    invoke: (options: never) => Promise<unknown>,
  ): Promise<T> {
    const started = performance.now();
    const fields = (status: unknown) => ({
      partner: 'adyen',
      endpoint: context.endpoint,
      status,
      ms: Math.round(performance.now() - started),
      correlationId: call.correlationId,
    });
    let answer: unknown;
    try {
      answer = await this.options.policy.execute(
        (signal) => {
          const options: TransportOptions = {
            headers: { 'x-request-id': call.correlationId },
            idempotencyKey,
            timeout: this.options.timeoutMs,
            signal: call.signal ? AbortSignal.any([signal, call.signal]) : signal,
          };
          return invoke(options as never).catch((error: unknown) => {
            throw isDomainError(error) ? error : fromAdyenError(error, context);
          });
        },
        { kind: 'keyed-write', endpoint: context.endpoint },
      );
    } catch (error) {
      const raw = error as { status?: unknown; code?: unknown; partnerCode?: unknown };
      call.logger.warn(
        { ...fields(raw.status), code: raw.code, partnerCode: raw.partnerCode },
        'Partner call failed.',
      );
      throw error;
    }
    call.logger.info(fields(200), 'Partner call completed.');
    return decode(schema, answer, {
      logger: call.logger,
      correlationId: call.correlationId,
      endpoint: context.endpoint,
    });
  }
}
