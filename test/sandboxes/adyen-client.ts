/**
 * The official `@adyen/api-library` pointed at a local Adyen sandbox. The library calls
 * `https://checkout-test.adyen.com/v72/...` through `https.request`, so the tests lend it an HTTP
 * client (the library's `ClientInterface`, its documented extension point) that sends the same request
 * over plain HTTP to the sandbox's `/v71/...` and raises the library's own HttpClientException for
 * error answers, the way its HttpURLConnectionClient does.
 */
import { createServer } from 'node:http';
import type { AddressInfo } from 'node:net';
import { CheckoutAPI, Client, EnvironmentEnum, HttpClientException } from '@adyen/api-library';
import { ADYEN_SANDBOX_API_KEY } from '../../sandboxes/adyen/index.js';

type HttpClient = NonNullable<ConstructorParameters<typeof Client>[1]>;
type RequestOptions = Parameters<HttpClient['request']>[4];

const LIBRARY_BASE = /^https:\/\/checkout-test\.adyen\.com\/v\d+/;

/** An HTTP client for the library that sends every Checkout call to `baseUrl` + /v71. */
export function sandboxHttpClient(baseUrl: string): HttpClient & { calls: string[] } {
  const calls: string[] = [];
  return {
    calls,
    async request(endpoint, body, config, _apiKeyRequired, options: RequestOptions = {}) {
      const url = endpoint.replace(LIBRARY_BASE, `${baseUrl}/v71`);
      calls.push(url);
      const headers: Record<string, string> = { 'content-type': 'application/json' };
      if (config.apiKey) headers['x-api-key'] = config.apiKey;
      if (options.idempotencyKey) headers['idempotency-key'] = options.idempotencyKey;
      const response = await fetch(url, {
        method: options.method ?? 'POST',
        headers,
        body: options.method === 'GET' ? undefined : body.toString(),
      });
      const text = await response.text();
      if (response.ok) return text;
      const responseHeaders = Object.fromEntries(response.headers.entries());
      let apiError: Record<string, unknown> | undefined;
      try {
        apiError = JSON.parse(text) as Record<string, unknown>;
      } catch {
        apiError = undefined;
      }
      throw new HttpClientException({
        message: `HTTP Exception: ${response.status}. ${String(apiError?.message ?? text)}`,
        statusCode: typeof apiError?.status === 'number' ? apiError.status : response.status,
        errorCode: typeof apiError?.errorCode === 'string' ? apiError.errorCode : undefined,
        responseHeaders,
        responseBody: text,
        ...(apiError && 'status' in apiError ? { apiError: apiError as never } : {}),
      });
    },
  };
}

/** The library's Checkout API against the sandbox at `baseUrl`, with `apiKey` (default the sandbox's). */
export function adyenCheckout(baseUrl: string, apiKey = ADYEN_SANDBOX_API_KEY) {
  const http = sandboxHttpClient(baseUrl);
  const client = new Client({ apiKey, environment: EnvironmentEnum.TEST }, http);
  return { checkout: new CheckoutAPI(client), calls: http.calls };
}

/** The library's exception for a failed call, or a test failure when the call succeeded. */
export async function rejection(call: Promise<unknown>): Promise<HttpClientException> {
  try {
    await call;
  } catch (error) {
    if (error instanceof HttpClientException) return error;
    throw error;
  }
  throw new Error('the call succeeded, an Adyen error was expected');
}

/** Polls `read` until `done` holds or the deadline passes (no fixed sleeps). */
export async function eventually<T>(
  read: () => T | Promise<T>,
  done: (value: T) => boolean,
  ms = 5_000,
): Promise<T> {
  const deadline = Date.now() + ms;
  for (;;) {
    const value = await read();
    if (done(value)) return value;
    if (Date.now() > deadline) throw new Error(`condition not met within ${ms} ms: ${JSON.stringify(value)}`);
    await new Promise((resolve) => setTimeout(resolve, 20));
  }
}

/** One notification item as a receiver got it. */
export interface ReceivedItem {
  eventCode: string;
  success: string;
  pspReference: string;
  originalReference?: string;
  merchantAccountCode: string;
  merchantReference: string;
  amount: { value: number; currency: string };
  eventDate: string;
  reason?: string;
  additionalData?: Record<string, string>;
}

/**
 * A loopback webhook endpoint that keeps every body it is sent; `failFirst` attempts are answered 500
 * (so the sandbox must retry), later ones `[accepted]`.
 */
export async function startReceiver(failFirst = 0) {
  const bodies: { live: string; notificationItems: { NotificationRequestItem: ReceivedItem }[] }[] = [];
  let attempts = 0;
  const server = createServer((req, res) => {
    const chunks: Buffer[] = [];
    req.on('data', (chunk: Buffer) => chunks.push(chunk));
    req.on('end', () => {
      attempts += 1;
      if (attempts <= failFirst) {
        res.writeHead(500).end('busy');
        return;
      }
      bodies.push(JSON.parse(Buffer.concat(chunks).toString('utf8')) as (typeof bodies)[number]);
      res.writeHead(200, { 'content-type': 'text/plain' }).end('[accepted]');
    });
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const { port } = server.address() as AddressInfo;
  return {
    url: `http://127.0.0.1:${port}/webhooks/adyen`,
    bodies,
    attempts: () => attempts,
    /** Every item received, duplicates included. */
    items: () =>
      bodies.flatMap((body) => body.notificationItems.map((wrapper) => wrapper.NotificationRequestItem)),
    close: () => new Promise<void>((resolve) => server.close(() => resolve())),
  };
}

/** Posts JSON to a sandbox control route. */
export async function control(
  baseUrl: string,
  path: string,
  body: unknown,
): Promise<{ status: number; json: Record<string, unknown> }> {
  const response = await fetch(`${baseUrl}${path}`, {
    method: 'POST',
    headers: { 'content-type': 'application/json' },
    body: JSON.stringify(body),
  });
  return { status: response.status, json: (await response.json()) as Record<string, unknown> };
}
