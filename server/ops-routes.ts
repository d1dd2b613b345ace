/**
 * The operations console (GET /ops, DESIGN §4: the client lives in ops/console/) and its JSON API under
 * /ops/api/. Every call needs an operator's bearer token, verified by the same authenticator as
 * /graphql: `ops:read` to look, `ops:write` to act. The router secret does not apply here (operators do
 * not come through the router); the ops token is the only way in. Every action runs through the same
 * services, and lands in the same audit log, as the graph's ops mutations and the CLI.
 *
 * Errors: `{ "error": { "code", "message" } }` with 400/401/403/404/409/503.
 */
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import fastifyStatic from '@fastify/static';
import type { FastifyInstance, FastifyRequest } from 'fastify';
import type { Principal } from '../domain/principal.js';
import { isDomainError } from '../domain/errors.js';
import type { PaymentStatus } from '../domain/model.js';
import { formatDecimal } from '../domain/money.js';
import type { DisputeListing } from '../store/disputes.js';
import { localCopiesOf } from '../services/erasure/index.js';
import type { WebhookEventRecord, WebhookStatus } from '../store/webhooks.js';
import { toReconciliationRun } from '../resolvers/support/reconciliation.js';
import { filterOf, toWebhookEvent } from '../resolvers/support/webhooks.js';
import { bearerToken } from './auth.js';
import { limitOf, listOf, objectOf, OpsError, partnerOf, sendError, statusOf, timeOf } from './ops-input.js';
import type { Services } from './wiring.js';

const ROOT = join(dirname(fileURLToPath(import.meta.url)), '..');
/** The console's static files (plain ES modules, no build step). */
export const CONSOLE_DIR = join(ROOT, 'ops', 'console');
/** Chart.js, served from the installed package: no CDN. */
const CHART_DIR = join(ROOT, 'node_modules', 'chart.js', 'dist');

const NOT_DEAD: readonly WebhookStatus[] = ['pending', 'processing', 'processed', 'ignored'];
const ATTENTION_STATUSES: readonly PaymentStatus[] = ['REQUIRES_ACTION'];

declare module 'fastify' {
  interface FastifyRequest {
    /** The operator of an /ops/api request, once authenticated. */
    operator?: Principal;
  }
}

/** The console's pages and its API. */
export async function registerOpsRoutes(fastify: FastifyInstance, services: Services): Promise<void> {
  await fastify.register(async (scope) => {
    // The console's own files: scripts and styles from this origin only, no inline code.
    scope.addHook('onSend', async (_request, reply) => {
      reply.header(
        'content-security-policy',
        "default-src 'self'; script-src 'self'; style-src 'self'; img-src 'self' data:; " +
          "connect-src 'self'; frame-ancestors 'none'; base-uri 'none'; form-action 'none'",
      );
      reply.header('cache-control', 'no-store');
    });
    await scope.register(fastifyStatic, {
      root: CONSOLE_DIR,
      prefix: '/ops/',
      index: 'index.html',
      redirect: true,
    });
    await scope.register(fastifyStatic, {
      root: CHART_DIR,
      prefix: '/ops/vendor/',
      decorateReply: false,
      allowedPath: (path) => path === '/chart.umd.js' || path === '/chart.umd.min.js',
    });
    scope.get('/ops', (_request, reply) => reply.redirect('/ops/'));
  });

  await fastify.register(async (api) => {
    api.setErrorHandler((error, request, reply) => sendError(reply, error, request));
    api.addHook('onRequest', async (request) => {
      request.operator = await authenticate(services, request);
    });
    apiRoutes(api, services);
  });
}

async function authenticate(services: Services, request: FastifyRequest): Promise<Principal> {
  const raw = request.headers.authorization;
  let principal: Principal;
  try {
    const token = bearerToken(Array.isArray(raw) ? raw[0] : raw);
    if (!token)
      throw new OpsError(401, 'UNAUTHENTICATED', 'An ops token is required (Authorization: Bearer).');
    principal = await services.authenticator.verify(token);
  } catch (error) {
    if (error instanceof OpsError) throw error;
    if (isDomainError(error)) throw new OpsError(401, 'UNAUTHENTICATED', error.message);
    throw error;
  }
  const needed = request.method === 'GET' || request.method === 'HEAD' ? 'ops:read' : 'ops:write';
  if (!principal.scopes.has(needed)) {
    throw new OpsError(403, 'FORBIDDEN', `Refused: this needs ${needed}.`);
  }
  return principal;
}

function actorOf(request: FastifyRequest): string {
  return `operator:${request.operator?.subject ?? 'unknown'}`;
}

function apiRoutes(api: FastifyInstance, services: Services): void {
  api.get('/ops/api/partners', async () => {
    const history = services.registry.history();
    return {
      partners: services.registry.health().map((health) => ({
        provider: health.provider,
        breakerState: health.breakerState,
        errorRate: health.errorRate,
        p50Ms: health.latencyP50Ms,
        p99Ms: health.latencyP99Ms,
        calls: health.requestsLastMinute,
        lastErrorAt: health.lastErrorAt?.toISOString() ?? null,
        series: (history.get(health.provider) ?? []).map((bucket) => ({
          minute: bucket.minute.toISOString(),
          calls: bucket.calls,
          errors: bucket.errors,
          p50Ms: bucket.p50Ms,
          p99Ms: bucket.p99Ms,
        })),
      })),
    };
  });

  api.get('/ops/api/webhooks', async (request) => {
    const query = request.query as Record<string, string | undefined>;
    const provider = partnerOf(query.partner);
    const since = timeOf(query.since, 'since');
    const limit = limitOf(query.limit);
    const status = query.status ? statusOf(query.status) : null;
    const list = (statuses: readonly WebhookStatus[], retried: boolean | null) =>
      services.webhooks.operations
        .list({ first: limit, statuses, retried, provider, since })
        .then((page) => page.events);
    let events: WebhookEventRecord[];
    if (status) {
      const filter = filterOf(status);
      events = await list(filter.statuses, filter.retried);
    } else {
      // Dead letters first (they wait for an operator), then everything else, newest first.
      const dead = await list(['dead'], null);
      const rest = dead.length < limit ? await list(NOT_DEAD, null) : [];
      events = [...dead, ...rest].slice(0, limit);
    }
    return { events: events.map(eventJson) };
  });

  api.get('/ops/api/webhooks/:id', async (request) => {
    const { id } = request.params as { id: string };
    const event = await services.webhooks.operations.get(id);
    if (!event) throw new OpsError(404, 'NOT_FOUND', 'No webhook event with that id.');
    const raw = await services.webhooks.repository.raw(id);
    return { event: { ...eventJson(event), payload: payloadOf(raw?.body ?? null) } };
  });

  api.post('/ops/api/webhooks/:id/replay', async (request) => {
    const { id } = request.params as { id: string };
    const result = await services.webhooks.operations.replay(id, actorOf(request));
    if (!result.ok) {
      throw new OpsError(409, 'NOT_REPLAYABLE', 'The event is being processed; replay it once it finishes.');
    }
    services.webhooks.worker.wake();
    const event = eventJson(result.event);
    return { replayed: true, status: event.status, event };
  });

  api.get('/ops/api/payments/attention', async () => {
    const [actionable, keys, [run]] = await Promise.all([
      services.payments.ledger.repository.inStatus(ATTENTION_STATUSES, 100),
      services.payments.keys.running(100),
      services.payments.reconciliations(1),
    ]);
    const items = [
      ...actionable.map((payment) => ({
        reason: 'REQUIRES_ACTION',
        paymentId: payment.id,
        provider: payment.provider,
        status: payment.status,
        detail: 'Waiting for the customer to complete an action at the partner.',
        since: payment.createdAt.toISOString(),
      })),
      ...keys.map((key) => ({
        reason: 'UNFINISHED_KEY',
        paymentId: key.paymentId,
        provider: null,
        status: key.recoveryPoint,
        detail: `${key.mutation}: idempotency key still running after ${key.attempts} attempt(s); lease until ${key.lockedUntil?.toISOString() ?? 'none'}.`,
        since: key.createdAt.toISOString(),
      })),
      ...(run?.discrepancies ?? [])
        .filter((discrepancy) => !discrepancy.applied)
        .map((discrepancy) => ({
          reason: `RECONCILIATION_${discrepancy.kind.toUpperCase()}`,
          paymentId: discrepancy.paymentId,
          provider: discrepancy.provider,
          status: discrepancy.ours,
          detail: discrepancy.detail,
          since: run!.finishedAt.toISOString(),
        })),
    ];
    return { payments: items, reconciliationRunId: run?.id ?? null };
  });

  api.get('/ops/api/disputes', async (request) => {
    const query = request.query as Record<string, string | undefined>;
    if (query.open !== undefined && query.open !== 'true' && query.open !== 'false')
      throw new OpsError(400, 'BAD_USER_INPUT', 'open must be true or false.');
    // Open disputes first, the nearest evidence deadline first; then closed ones, latest change first.
    const disputes = await services.disputes.list({
      limit: limitOf(query.limit),
      openOnly: query.open === 'true',
    });
    const now = Date.now();
    return { disputes: disputes.map((dispute) => disputeJson(dispute, now)) };
  });

  api.get('/ops/api/reconciliation', async () => {
    const [run] = await services.payments.reconciliations(1);
    return { run: run ? toReconciliationRun(run) : null };
  });

  api.post('/ops/api/reconcile', async (request) => {
    const body = objectOf(request.body);
    const reachable = services.payments.payingPartners();
    const providers =
      body.providers === undefined
        ? reachable
        : listOf(body.providers, 'providers').map((name) => {
            const provider = partnerOf(name);
            if (!provider || !reachable.includes(provider))
              throw new OpsError(400, 'BAD_USER_INPUT', `${name} is not a payments partner reachable here.`);
            return provider;
          });
    if (body.apply !== undefined && typeof body.apply !== 'boolean')
      throw new OpsError(400, 'BAD_USER_INPUT', 'apply must be true or false.');
    const since = timeOf(typeof body.since === 'string' ? body.since : undefined, 'since');
    if (body.since !== undefined && since === null)
      throw new OpsError(400, 'BAD_USER_INPUT', 'since must be an ISO time.');
    const report = await services.payments.reconcile(
      { providers, apply: body.apply === true, ...(since ? { since } : {}) },
      actorOf(request),
    );
    return { run: toReconciliationRun(report.run) };
  });

  api.get('/ops/api/audit', async () => {
    const result = await services.audit.verify();
    return {
      ok: result.ok,
      entries: result.checked,
      head: result.head ? { seq: result.head.seq.toString(), hash: result.head.hash } : null,
      ...(result.ok ? {} : { brokenAt: result.brokenAt?.toString() ?? null, reason: result.reason ?? null }),
    };
  });

  api.post('/ops/api/erase', async (request) => {
    const body = objectOf(request.body);
    if (typeof body.customerId !== 'string' || body.customerId.length === 0)
      throw new OpsError(400, 'BAD_USER_INPUT', 'customerId is required.');
    const reason = typeof body.reason === 'string' && body.reason.length > 0 ? body.reason : 'ops-console';
    const report = await services.erasure.erase(body.customerId, actorOf(request), reason);
    return { erasure: { ...report, localCopies: localCopiesOf(report) } };
  });
}

function eventJson(event: WebhookEventRecord) {
  const shown = toWebhookEvent(event);
  return {
    id: shown.id,
    provider: event.provider,
    partnerEventId: shown.partnerEventId,
    type: shown.type,
    status: shown.status,
    attempts: shown.attempts,
    receivedAt: event.receivedAt.toISOString(),
    processedAt: event.processedAt?.toISOString() ?? null,
    nextAttemptAt: event.nextAttemptAt.toISOString(),
    lastError: shown.lastError ?? null,
    resource: event.resource,
  };
}

/** A dispute for operators: no customer id, the payment id leads to the owner when one is needed. */
function disputeJson(dispute: DisputeListing, now: number) {
  return {
    id: dispute.id,
    provider: dispute.provider,
    paymentId: dispute.paymentId,
    amount: { amount: formatDecimal(dispute.amount), currency: dispute.amount.currency },
    reason: dispute.reason,
    status: dispute.status,
    evidenceDueBy: dispute.evidenceDueBy?.toISOString() ?? null,
    overdue: dispute.evidenceDueBy !== null && dispute.evidenceDueBy.getTime() < now,
    openedAt: dispute.openedAt.toISOString(),
    updatedAt: dispute.updatedAt.toISOString(),
  };
}

/** The stored body as JSON when it is JSON (erased events have an empty one), else as text. */
function payloadOf(body: Buffer | null): unknown {
  if (!body || body.length === 0) return null;
  const text = body.toString('utf8');
  try {
    return JSON.parse(text) as unknown;
  } catch {
    return text;
  }
}
