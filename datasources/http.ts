/**
 * The one way to call a partner over HTTP. Every hand-written partner client follows the same
 * lifecycle: build URL + headers (auth hook) -> send under the partner's policy -> map a non-2xx
 * answer through the partner's errorFromResponse hook -> verify it (a request's verifyResponse hook,
 * e.g. a signature over the raw bytes) -> parse JSON -> validate with zod -> typed data.
 *
 * One PartnerHttp per partner origin: an undici Pool with keep-alive and a connection cap (one slow partner
 * cannot take every socket), no redirects followed, response bodies capped while they stream. Each HTTP
 * exchange is logged as one line without headers, bodies or tokens: at debug for a completed read (an
 * operation makes several; its own line, the partner metrics and spans cover them), at info for a
 * completed write, at warn for a failure.
 */
import type { IncomingHttpHeaders } from 'node:http';
import type { Logger } from 'pino';
import { Pool, type Dispatcher } from 'undici';
import type { ZodType } from 'zod';
import { isDomainError, PartnerError, type PartnerErrorCode } from '../domain/errors.js';
import type { ProviderName } from '../domain/model.js';
import { AttemptAbort, tlsConnectOptions, type PartnerTls } from './http-connection.js';
import { injectTraceContext } from './tracing.js';

/** Methods partners are called with. */
export type HttpMethod = 'GET' | 'POST' | 'PUT' | 'PATCH' | 'DELETE';

/**
 * What a call does to the partner's state, which decides whether it may be repeated: reads and writes
 * carrying a partner idempotency key may be retried; a plain write never is.
 */
export type CallKind = 'read' | 'keyed-write' | 'write';

/** How a call is run under a policy: its kind, and a low-cardinality endpoint label for metrics. */
export interface CallOptions {
  /** Default 'write': without a kind, a call is never repeated. */
  kind?: CallKind;
  endpoint?: string;
}

/**
 * A partner's resilience policy (resilience.ts: deadline, retry, breaker, bulkhead). `fn` is one
 * attempt; it must honour the signal, and it may run several times for reads and keyed writes.
 */
export interface CallPolicy {
  execute<T>(fn: (signal: AbortSignal) => Promise<T>, options?: CallOptions): Promise<T>;
  /**
   * The error a call to `endpoint` would fail with now without being tried (an open breaker), or
   * null: lets a caller skip the work that would only prepare a refused call.
   */
  refusal?(endpoint: string): Error | null;
}

export type { PartnerTls } from './http-connection.js';

/** Milliseconds. headers/body are undici's idle timeouts; total bounds one attempt end to end. */
export type PartnerTimeouts = { connectMs: number; headersMs: number; bodyMs: number; totalMs: number };

/** Response headers, lower-case names, repeated headers joined with ", ". */
export type ResponseHeaders = Readonly<Record<string, string>>;

/** Turns a non-2xx answer into a domain error (PartnerError, ConsentRequiredError, ...). */
export type ErrorFromResponse = (
  status: number,
  headers: ResponseHeaders,
  bodyText: string,
  info: { endpoint: string; correlationId: string },
) => Error;

/** What the auth hook sees: the request about to be sent, with the exact body bytes (as UTF-8 text). */
export type OutgoingRequest = { method: HttpMethod; url: URL; endpoint: string; body: string | undefined };

/** A 2xx answer as it arrived, before it is parsed: what a verifyResponse hook checks. */
export type RawAnswer = { status: number; headers: ResponseHeaders; body: Buffer };

/** Returns the auth headers for one attempt (called again on every retry, so tokens stay fresh). */
export type AuthHook = (request: OutgoingRequest) => Promise<Record<string, string>> | Record<string, string>;

/** One partner origin: where, how to authenticate, how errors look, and the limits. */
export interface PartnerHttpOptions {
  partner: ProviderName;
  /** Origin plus optional base path, e.g. "https://bank.example/open-banking/v3.1/aisp". */
  baseUrl: string;
  logger: Logger;
  errorFromResponse: ErrorFromResponse;
  /** Header carrying the correlation id (Open Banking: x-fapi-interaction-id). Default x-request-id. */
  correlationHeader?: string;
  /** Connection cap of the pool. Default 10. */
  connections?: number;
  timeouts?: Partial<PartnerTimeouts>;
  /**
   * The deadline of one attempt at a call, by its endpoint label, when calls to this origin differ (the
   * bank answers account reads at once but may hold a payment for the scheme). Default `timeouts.totalMs`.
   */
  attemptDeadline?: (endpoint: string) => number;
  /** Response body cap in bytes. Default 5 MiB. */
  maxResponseBytes?: number;
  tls?: PartnerTls;
  policy?: CallPolicy;
  auth?: AuthHook;
  /** Headers sent on every request (user-agent, API version...). */
  headers?: Record<string, string>;
}

/** One call: what to send, how to label it, and the zod schema its 2xx body must satisfy. */
export interface PartnerRequest<T> {
  method: HttpMethod;
  /** Relative to the base URL, or an absolute URL on the same origin (paging links). */
  path: string;
  /** Low-cardinality label for logs and metrics, e.g. "GET /accounts". */
  endpoint: string;
  /** Default: 'read' for GET, 'write' otherwise (a write with an idempotency key says 'keyed-write'). */
  kind?: CallKind;
  correlationId: string;
  schema: ZodType<T>;
  query?: Record<string, string | undefined>;
  headers?: Record<string, string>;
  json?: unknown;
  form?: Record<string, string | undefined>;
  /** Overrides the partner's auth hook for this request; null sends no auth. */
  auth?: AuthHook | null;
  /** Overrides the partner's error mapping for this request (e.g. an OAuth token endpoint). */
  errorFromResponse?: ErrorFromResponse;
  /**
   * Checks a 2xx answer before it is parsed (a detached signature over the raw body bytes); throws to
   * refuse it. Runs inside the attempt, so the policy sees a refusal like any other failure.
   */
  verifyResponse?: (answer: RawAnswer) => Promise<void>;
  logger?: Logger;
  signal?: AbortSignal;
}

/** A validated 2xx answer. */
export type PartnerResponse<T> = { status: number; headers: ResponseHeaders; data: T };
type RawResponse = RawAnswer & { bodyText: string };

/** Deliberate defaults: partners answer reads in well under a second; 30 s bounds the worst attempt. */
export const DEFAULT_TIMEOUTS = { connectMs: 5_000, headersMs: 10_000, bodyMs: 10_000, totalMs: 30_000 };
/** DESIGN section 9: partner responses are capped at 5 MiB. */
export const DEFAULT_MAX_RESPONSE_BYTES = 5 * 1024 * 1024;

const TIMEOUT_CODE = /^(UND_ERR_(CONNECT|HEADERS|BODY)_TIMEOUT|ETIMEDOUT)$/;
/** Failures before a connection existed: the request cannot have reached the partner. */
export const UNSENT_CODE =
  /^(ECONNREFUSED|ENOTFOUND|EAI_AGAIN|EHOSTUNREACH|ENETUNREACH|UND_ERR_CONNECT_TIMEOUT)$/;
/** Failures worth retrying: the partner refused or dropped the connection. */
const UNAVAILABLE_CODE =
  /^(ECONNRESET|ECONNREFUSED|EPIPE|ENOTFOUND|EAI_AGAIN|EHOSTUNREACH|ENETUNREACH|UND_ERR_(SOCKET|CLOSED|RES_CONTENT_LENGTH_MISMATCH))$/;

const kindOf = (req: PartnerRequest<unknown>): CallKind =>
  req.kind ?? (req.method === 'GET' ? 'read' : 'write');

const noPolicy: CallPolicy = { execute: (fn) => fn(new AbortController().signal) };

/** HTTP client of one partner origin. */
export class PartnerHttp {
  readonly partner: ProviderName;
  private readonly base: URL;
  private readonly pool: Pool;
  private readonly timeouts: PartnerTimeouts;
  private readonly maxBytes: number;
  private readonly correlationHeader: string;

  constructor(private readonly options: PartnerHttpOptions) {
    this.partner = options.partner;
    this.base = new URL(options.baseUrl);
    this.timeouts = { ...DEFAULT_TIMEOUTS, ...options.timeouts };
    this.maxBytes = options.maxResponseBytes ?? DEFAULT_MAX_RESPONSE_BYTES;
    this.correlationHeader = (options.correlationHeader ?? 'x-request-id').toLowerCase();
    // undici's Pool never follows redirects (no redirect interceptor is installed), which is the point.
    this.pool = new Pool(this.base.origin, {
      connections: options.connections ?? 10,
      pipelining: 1,
      keepAliveTimeout: 10_000,
      headersTimeout: this.timeouts.headersMs,
      bodyTimeout: this.timeouts.bodyMs,
      connect: { timeout: this.timeouts.connectMs, ...tlsConnectOptions(options.tls) },
    });
  }

  /** Runs the whole lifecycle and returns the validated payload. */
  async request<T>(req: PartnerRequest<T>): Promise<PartnerResponse<T>> {
    const url = this.resolve(req);
    const policy = this.options.policy ?? noPolicy;
    // Decoding belongs to the attempt: a contract violation is then seen (and counted) by the policy.
    return policy.execute(
      async (signal) => {
        const raw = await this.attempt(req, url, signal);
        await req.verifyResponse?.({ status: raw.status, headers: raw.headers, body: raw.body });
        return { status: raw.status, headers: raw.headers, data: this.decode(req, raw) };
      },
      { kind: kindOf(req), endpoint: req.endpoint },
    );
  }

  async close(): Promise<void> {
    await this.pool.close();
  }

  private resolve(req: PartnerRequest<unknown>): URL {
    const url = /^https?:\/\//i.test(req.path)
      ? new URL(req.path)
      : new URL(this.base.pathname.replace(/\/$/, '') + req.path, this.base.origin);
    // A partner-supplied link must never carry our credentials to another host.
    if (url.origin !== this.base.origin) throw this.violation(req, ['link points to another origin']);
    for (const [key, value] of Object.entries(req.query ?? {})) {
      if (value !== undefined) url.searchParams.set(key, value);
    }
    return url;
  }

  /** See CallPolicy.refusal. */
  refusal(endpoint: string): Error | null {
    return this.options.policy?.refusal?.(endpoint) ?? null;
  }

  private async attempt(req: PartnerRequest<unknown>, url: URL, signal: AbortSignal): Promise<RawResponse> {
    const logger = req.logger ?? this.options.logger;
    const started = performance.now();
    const deadline = this.options.attemptDeadline?.(req.endpoint) ?? this.timeouts.totalMs;
    const abort = new AttemptAbort(deadline, signal, req.signal);
    let status: number | undefined;
    const fields = () => ({
      partner: this.partner,
      endpoint: req.endpoint,
      status,
      ms: Math.round(performance.now() - started),
      correlationId: req.correlationId,
    });
    try {
      const body = encodeBody(req);
      const res = await this.pool.request({
        method: req.method,
        path: url.pathname + url.search,
        headers: await this.headersFor(req, url, body),
        body,
        signal: abort.signal,
      });
      status = res.statusCode;
      const bytes = await this.readCapped(req, res);
      const raw = {
        status,
        headers: flattenHeaders(res.headers),
        body: bytes,
        bodyText: bytes.toString('utf8'),
      };
      this.checkStatus(req, raw);
      // A read is one of many per operation (the operation's line and the partner metrics cover it);
      // a call that moves money is worth its own line.
      if (kindOf(req) !== 'read') logger.info(fields(), 'Partner call completed.');
      else if (logger.isLevelEnabled('debug')) logger.debug(fields(), 'Partner call completed.');
      return raw;
    } catch (error) {
      const mapped = this.networkError(req, error, abort.timedOut || signal.aborted);
      const { code, partnerCode } = mapped as { code?: unknown; partnerCode?: unknown };
      logger.warn({ ...fields(), code, partnerCode }, 'Partner call failed.');
      throw mapped;
    } finally {
      abort.dispose();
    }
  }

  private async headersFor(
    req: PartnerRequest<unknown>,
    url: URL,
    body: string | undefined,
  ): Promise<Record<string, string>> {
    const auth = req.auth === undefined ? this.options.auth : req.auth;
    const headers: Record<string, string> = {
      accept: 'application/json',
      ...this.options.headers,
      ...req.headers,
      ...(auth ? await auth({ method: req.method, url, endpoint: req.endpoint, body }) : {}),
      [this.correlationHeader]: req.correlationId,
    };
    if (req.json !== undefined) headers['content-type'] = 'application/json';
    if (req.form !== undefined) headers['content-type'] = 'application/x-www-form-urlencoded';
    return injectTraceContext(headers);
  }

  private async readCapped(req: PartnerRequest<unknown>, res: Dispatcher.ResponseData): Promise<Buffer> {
    const chunks: Buffer[] = [];
    let total = 0;
    const declaredTooLarge = Number(res.headers['content-length'] ?? 0) > this.maxBytes;
    for await (const chunk of declaredTooLarge ? [] : res.body) {
      total += chunk.length;
      if (total > this.maxBytes) break;
      chunks.push(chunk);
    }
    if (declaredTooLarge || total > this.maxBytes) {
      // Destroying the stream aborts the exchange now instead of buffering the rest first.
      res.body.destroy();
      throw this.violation(req, [`response body exceeds ${this.maxBytes} bytes`]);
    }
    return Buffer.concat(chunks);
  }

  private checkStatus(req: PartnerRequest<unknown>, raw: RawResponse): void {
    if (raw.status >= 200 && raw.status < 300) return;
    if (raw.status >= 300 && raw.status < 400) {
      throw this.violation(req, [`redirect (${raw.status}) not followed`], raw.status);
    }
    const mapper = req.errorFromResponse ?? this.options.errorFromResponse;
    const info = { endpoint: req.endpoint, correlationId: req.correlationId };
    throw mapper(raw.status, raw.headers, raw.bodyText, info);
  }

  private decode<T>(req: PartnerRequest<T>, raw: RawResponse): T {
    let parsed: unknown;
    try {
      parsed = raw.bodyText.trim() === '' ? undefined : JSON.parse(raw.bodyText);
    } catch {
      throw this.violation(req, ['(body): not valid JSON'], raw.status);
    }
    const result = req.schema.safeParse(parsed);
    if (result.success) return result.data;
    const issues = result.error.issues.map((issue) => `${formatPath(issue.path)}: ${issue.message}`);
    throw this.violation(req, issues, raw.status);
  }

  /** A contract violation, logged with partner, endpoint and the failing paths. */
  private violation(req: PartnerRequest<unknown>, issues: string[], status?: number): PartnerError {
    const fields = {
      partner: this.partner,
      endpoint: req.endpoint,
      correlationId: req.correlationId,
      status,
      issues,
    };
    (req.logger ?? this.options.logger).warn(fields, 'Partner response breaks its contract.');
    return new PartnerError({ ...fields, code: 'PARTNER_CONTRACT_VIOLATION', retryable: false });
  }

  private networkError(req: PartnerRequest<unknown>, error: unknown, timedOut: boolean): unknown {
    if (isDomainError(error)) return error;
    // The caller gave up (client disconnected): not the partner's failure, so not a PartnerError.
    if (req.signal?.aborted && !timedOut) return req.signal.reason ?? error;
    const codes = errorCodes(error);
    const unsent = !timedOut && codes.some((c) => UNSENT_CODE.test(c)) ? 'connection refused' : null;
    const fail = (code: PartnerErrorCode, retryable: boolean) =>
      new PartnerError({
        partner: this.partner,
        code,
        endpoint: req.endpoint,
        retryable,
        unsent,
        cause: error,
      });
    if (timedOut || codes.some((c) => TIMEOUT_CODE.test(c))) return fail('PARTNER_TIMEOUT', true);
    if (codes.some((c) => UNAVAILABLE_CODE.test(c))) return fail('PARTNER_UNAVAILABLE', true);
    const network = codes.some((c) => c.startsWith('UND_ERR') || /^E[A-Z]+$/.test(c));
    return network ? fail('PARTNER_UNAVAILABLE', false) : error;
  }
}

function encodeBody(req: PartnerRequest<unknown>): string | undefined {
  if (req.json !== undefined) return JSON.stringify(req.json);
  if (req.form === undefined) return undefined;
  const form = new URLSearchParams();
  for (const [key, value] of Object.entries(req.form)) if (value !== undefined) form.set(key, value);
  return form.toString();
}

function flattenHeaders(headers: IncomingHttpHeaders): ResponseHeaders {
  const flat: Record<string, string> = {};
  for (const name in headers) {
    const value = headers[name];
    if (value !== undefined) flat[name.toLowerCase()] = typeof value === 'string' ? value : value.join(', ');
  }
  return flat;
}

/**
 * Retry-After as seconds, from delta-seconds or an HTTP-date (RFC 9110 section 10.2.3); undefined when
 * absent or unreadable. `headers`: a header map as any client hands it (lower-case names).
 */
export function retryAfterSeconds(headers: unknown, now: number = Date.now()): number | undefined {
  const value = (headers as Record<string, unknown> | null | undefined)?.['retry-after'];
  if (typeof value !== 'string' || value.trim() === '') return undefined;
  if (/^\d+$/.test(value.trim())) return Number(value.trim());
  const date = Date.parse(value);
  return Number.isNaN(date) ? undefined : Math.max(0, Math.ceil((date - now) / 1000));
}

/** "Data.Account[0].AccountId" for zod's ["Data", "Account", 0, "AccountId"]. */
export function formatPath(path: readonly PropertyKey[]): string {
  const text = path.map((key) => (typeof key === 'number' ? `[${key}]` : `.${String(key)}`)).join('');
  return text.replace(/^\./, '') || '(root)';
}

/** The `code`s along an error's cause chain (undici wraps socket errors). */
function errorCodes(error: unknown, depth = 0): string[] {
  if (!(error instanceof Error) || depth > 4) return [];
  const code = (error as { code?: unknown }).code;
  return [...(typeof code === 'string' ? [code] : []), ...errorCodes(error.cause, depth + 1)];
}
