/**
 * `POST /webhooks/{provider}` (DESIGN §11, §15). The body is kept as raw bytes, because signatures
 * cover the bytes and not a parsed value: the route's own content-type parser takes any type as a
 * Buffer, scoped to this route (GraphQL keeps fastify's JSON parser), with the webhook body limit.
 */
import type { FastifyInstance } from 'fastify';
import { bodyDeadline } from './http-server.js';
import type { Services } from './wiring.js';

export async function registerWebhookRoutes(fastify: FastifyInstance, services: Services): Promise<void> {
  const bodyLimit = services.config.limits.webhookBodyBytes;
  const bodyMs = services.config.http.webhookBodyTimeoutMs;
  await fastify.register(async (scope) => {
    // Deliveries are unauthenticated until verified: their bodies get a tighter deadline than requests.
    scope.addHook('onRequest', async (request, reply) => {
      bodyDeadline(request.raw, reply.raw, bodyMs, request.id);
    });
    scope.removeAllContentTypeParsers();
    scope.addContentTypeParser('*', { parseAs: 'buffer', bodyLimit }, (_request, body, done) =>
      done(null, body),
    );
    scope.post<{ Params: { provider: string } }>(
      '/webhooks/:provider',
      { bodyLimit },
      async (request, reply) => {
        const body = Buffer.isBuffer(request.body) ? request.body : Buffer.alloc(0);
        const answer = await services.webhooks.intake.receive(
          request.params.provider,
          body,
          request.headers,
          request.socket.remoteAddress ?? '',
        );
        return reply.code(answer.status).type('application/json').send(answer.body);
      },
    );
  });
}
