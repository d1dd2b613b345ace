/**
 * `GET /consents/callback`: where a bank sends the customer's browser back after they answered a
 * consent (RFC 6749 section 4.1.2: `code` and `state`, or `error` and `state`). The state names the
 * waiting grant, and with it the subject, so the route needs no token; it answers a small page for
 * the customer, never echoing what the query carried, and tells search engines and referrers nothing
 * (the code is in the URL).
 */
import type { FastifyInstance, FastifyReply } from 'fastify';
import type { Services } from './wiring.js';

const HEADERS = {
  'cache-control': 'no-store',
  'referrer-policy': 'no-referrer',
  'x-robots-tag': 'noindex',
  'content-security-policy': "default-src 'none'; style-src 'unsafe-inline'",
};

function page(reply: FastifyReply, status: number, title: string, text: string): FastifyReply {
  const html = `<!doctype html><html lang="en"><head><meta charset="utf-8"><title>${title}</title>
<style>body{font-family:system-ui,sans-serif;max-width:32rem;margin:4rem auto;padding:0 1rem}</style></head>
<body><h1>${title}</h1><p>${text}</p></body></html>`;
  return reply.code(status).headers(HEADERS).type('text/html; charset=utf-8').send(html);
}

const one = (value: unknown): string | null =>
  typeof value === 'string' && value.length > 0 && value.length <= 2048 ? value : null;

export function registerConsentRoutes(fastify: FastifyInstance, services: Services): void {
  fastify.get<{ Querystring: Record<string, unknown> }>('/consents/callback', async (request, reply) => {
    const state = one(request.query.state);
    const code = one(request.query.code);
    const error = one(request.query.error);
    if (!state || (!code && !error)) {
      return page(
        reply,
        400,
        'Not a consent answer',
        'This address only takes the answer your bank sends back.',
      );
    }
    try {
      const { consent, userErrors } = await services.consentService.complete(
        { state, code, error },
        null,
        services.logger.child({ correlationId: request.id }),
      );
      if (consent?.status === 'ACTIVE') {
        return page(
          reply,
          200,
          'Consent given',
          'Your bank confirmed the consent. You can return to the app.',
        );
      }
      if (userErrors[0]?.code === 'CONSENT_DECLINED') {
        return page(reply, 200, 'Consent declined', 'Nothing was shared. You can return to the app.');
      }
      return page(
        reply,
        400,
        'This link has expired',
        'This answer was already used or is no longer waiting. Start again from the app.',
      );
    } catch (failure) {
      request.log.warn({ err: failure }, 'A consent answer could not be completed.');
      return page(
        reply,
        502,
        'Your bank could not be reached',
        'Nothing was shared. Start again from the app in a few minutes.',
      );
    }
  });
}
