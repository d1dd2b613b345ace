/**
 * A small router for sandboxes on node:http: route templates with `{Param}` segments, handlers that
 * return a Reply instead of writing to the socket (so fault injection can still corrupt or cut it).
 */
import type { IncomingHttpHeaders } from 'node:http';

/** What a handler answers. `json` is serialised; `text` is sent as is. */
export interface Reply {
  status: number;
  headers?: Record<string, string>;
  json?: unknown;
  text?: string;
}

/** An incoming request, body already read. */
export interface SandboxRequest {
  method: string;
  /** Path without the query string. */
  path: string;
  url: URL;
  /** `http://host:port` as the client addressed us; used to build absolute links. */
  origin: string;
  /** The matched route template, e.g. "/accounts/{AccountId}"; null when no route matched. */
  route: string | null;
  params: Record<string, string>;
  query: URLSearchParams;
  headers: IncomingHttpHeaders;
  rawBody: Buffer;
  /** A single header value, case-insensitive. */
  header(name: string): string | undefined;
}

/** Answers one request. */
export type Handler = (req: SandboxRequest) => Reply | Promise<Reply>;

interface Route {
  method: string;
  template: string;
  segments: string[];
  handler: Handler;
}

/** A JSON reply. */
export function json(status: number, body: unknown, headers: Record<string, string> = {}): Reply {
  return { status, json: body, headers };
}

/** A reply without a body (204, 401 without content...). */
export function empty(status: number, headers: Record<string, string> = {}): Reply {
  return { status, headers };
}

/** The request body cannot be read; the kit answers 400. */
export class BodyError extends Error {
  override name = 'BodyError';
}

/** Parses the body as JSON; BodyError when it is not JSON. */
export function readJson(req: SandboxRequest): unknown {
  try {
    return JSON.parse(req.rawBody.toString('utf8'));
  } catch {
    throw new BodyError('request body is not valid JSON');
  }
}

/** Parses an application/x-www-form-urlencoded body. */
export function readForm(req: SandboxRequest): URLSearchParams {
  return new URLSearchParams(req.rawBody.toString('utf8'));
}

/** Serialises a reply body: JSON or text, or nothing. */
export function replyBody(reply: Reply): string {
  if (reply.json !== undefined) return JSON.stringify(reply.json);
  return reply.text ?? '';
}

/** Method + path-template routing, first registered match wins. */
export class Router {
  private readonly routes: Route[] = [];

  /** Registers a handler for a method and a template such as "/accounts/{AccountId}/balances". */
  on(method: string, template: string, handler: Handler): this {
    this.routes.push({ method: method.toUpperCase(), template, segments: split(template), handler });
    return this;
  }

  /**
   * The route for a request. `methodAllowed` false means the path exists under another method,
   * which a faithful sandbox answers with 405 rather than 404.
   */
  match(
    method: string,
    path: string,
  ): { route: Route; params: Record<string, string> } | { route: null; methodAllowed: boolean } {
    const parts = split(path);
    let pathKnown = false;
    for (const route of this.routes) {
      const params = matchSegments(route.segments, parts);
      if (!params) continue;
      pathKnown = true;
      if (route.method === method.toUpperCase()) return { route, params };
    }
    return { route: null, methodAllowed: !pathKnown };
  }
}

function split(path: string): string[] {
  return path.split('/').filter((segment) => segment !== '');
}

function matchSegments(template: string[], parts: string[]): Record<string, string> | null {
  if (template.length !== parts.length) return null;
  const params: Record<string, string> = {};
  for (const [index, segment] of template.entries()) {
    const part = parts[index] ?? '';
    if (segment.startsWith('{') && segment.endsWith('}')) {
      params[segment.slice(1, -1)] = safeDecode(part);
    } else if (segment !== part) {
      return null;
    }
  }
  return params;
}

function safeDecode(part: string): string {
  try {
    return decodeURIComponent(part);
  } catch {
    return part;
  }
}
