/**
 * The HTTP client the official Adyen library sends through (its `ClientInterface`), in place of the
 * library's own, which opens a new TLS agent per request, speaks only https and follows 308 redirects
 * to other hosts. This one:
 * - sends to the configured base URL (`ADYEN_BASE_URL`, the Checkout root, with its version, e.g.
 *   https://checkout-test.adyen.com/v71; an origin alone gets SPEC_VERSION): the library's
 *   `https://checkout-test.adyen.com/vNN` prefix is replaced by it, so the spec version we validate
 *   against (CheckoutService-v71.json) is the one we call, whatever the library's default;
 * - over the shared keep-alive agent (connection cap = the partner's bulkhead), http or https;
 * - bounded per attempt (`timeout` of the request options) and by the call's abort signal;
 * - with a body size cap (DESIGN §9) and an answer when the connection drops mid-body;
 * - never retrying and never following redirects: retries belong to the resilience policy.
 * It raises AdyenHttpError for a non-2xx answer and AdyenTransportError when there is none (errors.ts).
 */
import http from 'node:http';
import https from 'node:https';
import { injectTraceContext } from '../tracing.js';
import { AdyenHttpError, AdyenTransportError } from './errors.js';

/** The request options the library hands over, with what client.ts adds. */
export interface TransportOptions {
  headers?: Record<string, string>;
  idempotencyKey?: string;
  method?: string;
  timeout?: number;
  signal?: AbortSignal;
}

/** The library's `ClientInterface`, structurally (it declares `Config` from its own typings). */
export interface LibraryHttpClient {
  request(
    endpoint: string,
    json: string | Buffer,
    config: { apiKey?: string },
    isApiKeyRequired: boolean,
    requestOptions?: object,
  ): Promise<string>;
}

/** The Checkout API version types.ts follows. */
export const SPEC_VERSION = 'v71';

/** The library's endpoint prefix: scheme, host and version, replaced by the base URL. */
const LIBRARY_PREFIX = /^https:\/\/checkout-(?:test|live)\.adyen\.com\/v\d+/;

export class AdyenTransport implements LibraryHttpClient {
  private readonly base: string;
  private readonly secure: boolean;

  constructor(
    baseUrl: string,
    private readonly agent: http.Agent,
    private readonly maxResponseBytes: number,
  ) {
    const url = new URL(baseUrl);
    if (url.search !== '' || url.hash !== '') throw new Error('The Adyen base URL takes no query.');
    const path = url.pathname.replace(/\/+$/, '');
    this.base = `${url.origin}${path === '' ? `/${SPEC_VERSION}` : path}`;
    this.secure = url.protocol === 'https:';
  }

  request(
    endpoint: string,
    json: string | Buffer,
    config: { apiKey?: string },
    _isApiKeyRequired: boolean,
    requestOptions: object = {},
  ): Promise<string> {
    const options = requestOptions as TransportOptions;
    if (!LIBRARY_PREFIX.test(endpoint))
      return Promise.reject(new Error(`Unexpected Adyen library endpoint ${endpoint}`));
    const target = new URL(endpoint.replace(LIBRARY_PREFIX, this.base));
    const body = typeof json === 'string' ? Buffer.from(json, 'utf8') : json;
    const headers: Record<string, string> = {
      ...options.headers,
      'content-type': 'application/json',
      accept: 'application/json',
      'content-length': String(body.length),
      'x-api-key': config.apiKey ?? '',
    };
    if (options.idempotencyKey) headers['idempotency-key'] = options.idempotencyKey;
    injectTraceContext(headers);
    return this.send(target, options.method ?? 'POST', headers, body, options);
  }

  private send(
    target: URL,
    method: string,
    headers: Record<string, string>,
    body: Buffer,
    options: TransportOptions,
  ): Promise<string> {
    const timeoutMs = options.timeout ?? 15_000;
    const requester = this.secure ? https.request : http.request;
    return new Promise<string>((resolve, reject) => {
      let settled = false;
      const settle = (outcome: () => void) => {
        if (settled) return;
        settled = true;
        clearTimeout(timer);
        options.signal?.removeEventListener('abort', onAbort);
        outcome();
      };
      const request = requester(target, { method, headers, agent: this.agent });
      const fail = (error: Error) => {
        settle(() => reject(error));
        request.destroy();
      };
      const timer = setTimeout(
        () => fail(new AdyenTransportError('timeout', `no complete answer within ${timeoutMs} ms`)),
        timeoutMs,
      );
      const onAbort = () => fail(new AdyenTransportError('timeout', 'the call was aborted'));
      if (options.signal?.aborted) return onAbort();
      options.signal?.addEventListener('abort', onAbort, { once: true });
      request.on('error', (error) =>
        fail(new AdyenTransportError('connection', `connection failed: ${error.message}`, { cause: error })),
      );
      request.on('response', (response) => {
        const declared = Number(response.headers['content-length'] ?? 0);
        if (declared > this.maxResponseBytes) {
          response.destroy();
          return fail(new AdyenTransportError('too-large', `body over ${this.maxResponseBytes} bytes`));
        }
        const chunks: Buffer[] = [];
        let total = 0;
        response.on('data', (chunk: Buffer) => {
          total += chunk.length;
          if (total <= this.maxResponseBytes) chunks.push(chunk);
          else {
            response.destroy();
            fail(new AdyenTransportError('too-large', `body over ${this.maxResponseBytes} bytes`));
          }
        });
        response.on('end', () => {
          const text = Buffer.concat(chunks).toString('utf8');
          const status = response.statusCode ?? 0;
          if (status < 200 || status >= 300)
            return settle(() => reject(new AdyenHttpError(status, text, response.headers)));
          try {
            JSON.parse(text);
          } catch (error) {
            return settle(() =>
              reject(new AdyenTransportError('not-json', 'body is not JSON', { cause: error })),
            );
          }
          settle(() => resolve(text));
        });
        response.on('aborted', () => fail(new AdyenTransportError('body-cut', 'connection closed mid-body')));
        response.on('close', () => {
          if (!response.complete) fail(new AdyenTransportError('body-cut', 'connection closed mid-body'));
        });
      });
      request.end(body);
    });
  }
}
