/**
 * The SDK's own Node HTTP client (Stripe.createNodeHttpClient) with three guards:
 * - a body size cap (DESIGN §9: partner responses are capped);
 * - an answer when the connection drops mid-body (the SDK's reader only listens for `end`, so a
 *   truncated body would wait for the deadline);
 * - no hidden retry: the SDK retries once, after 0.5 s, on ECONNRESET/EPIPE whatever
 *   maxNetworkRetries says; renaming those codes leaves the retry decision to our policy.
 * Each request also carries the partner call's trace context (`traceparent`).
 * Requests, the agent and everything else are the SDK's.
 */
import type { Agent, IncomingMessage } from 'node:http';
import Stripe from 'stripe';
import { injectTraceContext } from '../tracing.js';

/** Codes of the errors the reader raises; errors.ts maps them. */
export const BODY_TOO_LARGE = 'ERR_STRIPE_BODY_TOO_LARGE';
/** The connection closed before the body was complete. */
export const BODY_CUT = 'ERR_STRIPE_BODY_CUT';
/** A connection reset or broken pipe, under a code the SDK does not retry on its own. */
export const CONNECTION_CLOSED = 'ERR_STRIPE_CONNECTION_CLOSED';
const SDK_RETRIED_CODES = new Set(['ECONNRESET', 'EPIPE']);

type NodeResponse = Stripe.HttpClientResponse<IncomingMessage, Stripe.StripeStreamResponse>;

/** The SDK's node client over `agent`, reading at most `maxBytes` of each response body. */
export function guardedNodeHttpClient(agent: Agent, maxBytes: number): Stripe.HttpClient<NodeResponse> {
  const inner = Stripe.createNodeHttpClient(agent);
  return {
    getClientName: () => inner.getClientName(),
    async makeRequest(...args) {
      // args[4]: the request's headers; the partner call's span travels with them.
      injectTraceContext(args[4] as Record<string, string>);
      const response = await inner.makeRequest(...args).catch((error: unknown) => {
        const code = (error as { code?: unknown }).code;
        if (typeof code === 'string' && SDK_RETRIED_CODES.has(code)) {
          throw Object.assign(new Error(`connection closed (${code})`, { cause: error }), {
            code: CONNECTION_CLOSED,
          });
        }
        throw error;
      });
      return {
        getStatusCode: () => response.getStatusCode(),
        getHeaders: () => response.getHeaders(),
        getRawResponse: () => response.getRawResponse(),
        toStream: (complete) => response.toStream(complete),
        toJSON: () => readJson(response.getRawResponse(), maxBytes),
      };
    },
  };
}

function failure(message: string, code: string): Error {
  return Object.assign(new Error(message), { code });
}

function readJson(message: IncomingMessage, maxBytes: number): Promise<object> {
  return new Promise((resolve, reject) => {
    let settled = false;
    const settle = (outcome: () => void) => {
      if (settled) return;
      settled = true;
      outcome();
    };
    const tooLarge = () => {
      // Destroying the stream stops the download instead of buffering the rest first.
      message.destroy();
      settle(() => reject(failure(`response body exceeds ${maxBytes} bytes`, BODY_TOO_LARGE)));
    };
    if (Number(message.headers['content-length'] ?? 0) > maxBytes) {
      tooLarge();
      return;
    }
    const chunks: Buffer[] = [];
    let total = 0;
    message.on('data', (chunk: Buffer) => {
      total += chunk.length;
      if (total > maxBytes) tooLarge();
      else chunks.push(chunk);
    });
    message.once('end', () =>
      settle(() => {
        try {
          resolve(JSON.parse(Buffer.concat(chunks).toString('utf8')) as object);
        } catch (error) {
          reject(error);
        }
      }),
    );
    const cut = () =>
      settle(() => reject(failure('connection closed before the body was complete', BODY_CUT)));
    message.once('error', cut);
    message.once('close', cut);
  });
}
