/**
 * The HTTP server under fastify, with a deadline on every phase of a connection (slowloris and
 * trickled bodies are cut, not waited on):
 * - headers must be complete within `headersTimeoutMs`; a body within `requestTimeoutMs` of its
 *   headers (`bodyDeadline`: 408 in the documented error shape, connection closed), and Node's own
 *   request timeout a few seconds later is the backstop (a bare 408), checked every second;
 * - a socket silent for `idleTimeoutMs` is destroyed; an idle keep-alive connection is closed after
 *   `keepAliveTimeoutMs` (longer than a router's or load balancer's idle timeout, so they close first);
 * - a webhook's body must arrive within `webhookBodyTimeoutMs` of its headers (`webhookBodyDeadline`).
 */
import {
  createServer,
  type IncomingMessage,
  type RequestListener,
  type Server,
  type ServerResponse,
} from 'node:http';
import type { Config } from './config.js';

const BACKSTOP_MS = 2_000;

/** fastify's serverFactory: a node:http server with the configured deadlines. */
export function serverWithDeadlines(http: Config['http']): (handler: RequestListener) => Server {
  return (handler) => {
    const server = createServer(
      {
        headersTimeout: http.headersTimeoutMs,
        // The backstop behind bodyDeadline, which answers first in the documented shape.
        requestTimeout: http.headersTimeoutMs + http.requestTimeoutMs + BACKSTOP_MS,
        keepAliveTimeout: http.keepAliveTimeoutMs,
        // How often Node looks for requests past their deadlines (default 30 s would blunt them).
        connectionsCheckingInterval: 1_000,
      },
      handler,
    );
    server.setTimeout(http.idleTimeoutMs, (socket) => socket.destroy());
    return server;
  };
}

/**
 * Cuts a request whose body has not fully arrived `ms` after its headers: answers 408 in the error
 * shape every other answer has, and closes the connection. For routes that take bodies from parties
 * we have not authenticated yet (webhooks).
 */
export function bodyDeadline(
  request: IncomingMessage,
  response: ServerResponse,
  ms: number,
  correlationId: string,
): void {
  if (request.complete) return;
  const timer = setTimeout(() => {
    if (request.complete || response.headersSent) return;
    const body = JSON.stringify({
      errors: [
        {
          message: 'The request body did not arrive in time.',
          extensions: { code: 'REQUEST_TIMEOUT', correlationId },
        },
      ],
    });
    response.writeHead(408, {
      'content-type': 'application/json; charset=utf-8',
      'content-length': Buffer.byteLength(body),
      connection: 'close',
      'x-request-id': correlationId,
    });
    response.end(body, () => request.socket.destroy());
  }, ms);
  timer.unref();
  const clear = () => clearTimeout(timer);
  request.once('end', clear);
  request.once('close', clear);
  response.once('finish', clear);
}
