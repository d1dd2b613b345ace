/**
 * Prometheus metrics (DESIGN §13), served at GET /metrics. One Registry per process (per Services,
 * so test servers in one process do not share series), with Node's default process metrics next to
 * Tributary's own `tributary_*` series:
 *
 * | series | labels | what |
 * |---|---|---|
 * | tributary_partner_request_duration_seconds | partner, endpoint, status | every attempt at a partner |
 * | tributary_partner_errors_total | partner, code | failed attempts, by domain error code |
 * | tributary_partner_rate_limited_total | partner, endpoint | 429 answers |
 * | tributary_partner_retries_total | partner, endpoint | retry attempts |
 * | tributary_partner_breaker_state | partner | 0 closed, 1 open, 2 half-open |
 * | tributary_partner_short_circuits_total | partner | calls refused by an open breaker |
 * | tributary_partner_bulkhead_rejections_total | partner | calls refused by a full bulkhead |
 * | tributary_cache_hits_total / _misses_total | partner, resource | fallback lookups |
 * | tributary_cache_stale_serves_total | partner, resource | failed reads answered from the cache |
 * | tributary_cache_size_bytes, tributary_cache_entries | | estimated size of the fallback cache |
 * | tributary_graphql_operations_total | type, outcome | operations: success, partial, error |
 * | tributary_graphql_operation_duration_seconds | type, outcome | time to the response |
 * | tributary_persisted_operations_total | outcome | PERSISTED_OPERATIONS at work: manifest, unknown_id, listed, router, refused |
 * | tributary_webhook_deliveries_total | partner, outcome | webhook deliveries: stored, duplicate, rejection reasons |
 * | tributary_webhook_events_processed_total | partner, outcome | inbox processing: processed, ignored, retry, dead |
 * | tributary_graphql_errors_total | code | errors in responses, by `extensions.code` (unknown codes: OTHER) |
 * | tributary_webhook_inbox_events | status | inbox rows per status, read from the database at scrape |
 * | tributary_webhook_inbox_oldest_pending_seconds | partner | age of the oldest unprocessed event (inbox lag) |
 * | tributary_reconciliation_discrepancies | kind | open discrepancies of the latest reconciliation run |
 * | tributary_reconciliation_last_run_timestamp_seconds | | when the latest run finished (0: never) |
 * | tributary_disputes_total | partner, reason | disputes opened (first seen), by canonical reason |
 * | tributary_dispute_transitions_total | partner, status | dispute changes recorded, by the status reached |
 * | tributary_disputes_open | partner | disputes needing a response or under review, read at scrape |
 *
 * Label values are bounded: partners and endpoint templates are fixed sets, codes are the domain codes.
 * The request-path cost is one counter and one histogram update per operation.
 */
import type { ApolloServerPlugin, BaseContext } from '@apollo/server';
import { collectDefaultMetrics, Counter, Gauge, Histogram, Registry } from 'prom-client';
import type { CacheObserver, FallbackCache } from '../datasources/cache.js';
import { ERROR_CODES } from '../domain/errors.js';
import type { Dispute, ProviderName } from '../domain/model.js';
import type { BreakerState, PolicyObserver } from '../datasources/resilience.js';
import type { PersistedOutcome } from './persisted-operations.js';

const BREAKER_VALUE: Record<BreakerState, number> = { CLOSED: 0, OPEN: 1, HALF_OPEN: 2 };
const PARTNER_BUCKETS = [0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30];
const OPERATION_BUCKETS = [0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 10];

/** Codes a response may carry besides the domain's: GraphQL's and Apollo Server's own. */
const GRAPHQL_CODES = [
  'GRAPHQL_PARSE_FAILED',
  'GRAPHQL_VALIDATION_FAILED',
  'OPERATION_RESOLUTION_FAILURE',
  'BAD_REQUEST',
];
const KNOWN_CODES: ReadonlySet<string> = new Set<string>([...ERROR_CODES, ...GRAPHQL_CODES]);
const DISCREPANCY_KINDS = [
  'behind',
  'conflict',
  'amount_mismatch',
  'refund_mismatch',
  'missing_at_partner',
  'partner_only',
  'unreachable',
  'in_doubt',
];

/**
 * What the scrape-time gauges read from the database. Each read may fail (the database is down): the
 * gauge then keeps its last value and the failure shows in readiness, not as a broken scrape.
 */
export interface StateSource {
  inboxCounts(): Promise<Record<string, number>>;
  inboxOldestPendingSeconds(): Promise<Record<string, number>>;
  latestReconciliation(): Promise<{ finishedAt: Date; openByKind: Record<string, number> } | null>;
  /** Open disputes per partner. */
  openDisputes?(): Promise<Record<string, number>>;
}

export interface MetricsOptions {
  /** Node's process metrics (CPU, memory, event loop, GC). Default true. */
  defaultMetrics?: boolean;
}

export class Metrics {
  readonly registry = new Registry();
  private readonly partnerDuration: Histogram<'partner' | 'endpoint' | 'status'>;
  private readonly partnerErrors: Counter<'partner' | 'code'>;
  private readonly rateLimited: Counter<'partner' | 'endpoint'>;
  private readonly retries: Counter<'partner' | 'endpoint'>;
  private readonly breakerState: Gauge<'partner'>;
  private readonly shortCircuits: Counter<'partner'>;
  private readonly bulkheadRejections: Counter<'partner'>;
  private readonly routeAttempts: Counter<'rule' | 'processor' | 'outcome'>;
  private readonly cacheHits: Counter<'partner' | 'resource'>;
  private readonly cacheMisses: Counter<'partner' | 'resource'>;
  private readonly staleServes: Counter<'partner' | 'resource'>;
  private readonly operations: Counter<'type' | 'outcome'>;
  private readonly operationDuration: Histogram<'type' | 'outcome'>;
  private readonly webhookDeliveries: Counter<'partner' | 'outcome'>;
  private readonly webhookProcessing: Counter<'partner' | 'outcome'>;
  private readonly persisted: Counter<'outcome'>;
  private readonly errorsByCode: Counter<'code'>;
  private readonly disputesOpened: Counter<'partner' | 'reason'>;
  private readonly disputeTransitions: Counter<'partner' | 'status'>;
  private cache: FallbackCache | null = null;
  private state: StateSource | null = null;

  constructor(options: MetricsOptions = {}) {
    const registers = [this.registry];
    if (options.defaultMetrics ?? true) collectDefaultMetrics({ register: this.registry });
    const counter = <L extends string>(name: string, help: string, labelNames: L[]) =>
      new Counter<L>({ name, help, labelNames, registers });
    this.errorsByCode = counter(
      'tributary_graphql_errors_total',
      'Errors in GraphQL responses, by extensions.code (codes outside the known set count as OTHER).',
      ['code'],
    );
    const state = () => this.state;
    new Gauge({
      name: 'tributary_webhook_inbox_events',
      help: 'Webhook inbox rows per status, read at scrape.',
      labelNames: ['status'],
      registers,
      async collect() {
        const counts = await state()
          ?.inboxCounts()
          .catch(() => null);
        for (const [status, n] of Object.entries(counts ?? {})) this.set({ status }, n);
      },
    });
    new Gauge({
      name: 'tributary_webhook_inbox_oldest_pending_seconds',
      help: 'Age of the oldest webhook event not yet processed, per partner (0: none waiting).',
      labelNames: ['partner'],
      registers,
      async collect() {
        const ages = await state()
          ?.inboxOldestPendingSeconds()
          .catch(() => null);
        if (!ages) return;
        this.reset();
        for (const [partner, seconds] of Object.entries(ages)) this.set({ partner }, seconds);
      },
    });
    new Gauge({
      name: 'tributary_reconciliation_discrepancies',
      help: 'Open (not applied) discrepancies of the latest reconciliation run, by kind.',
      labelNames: ['kind'],
      registers,
      async collect() {
        const latest = await state()
          ?.latestReconciliation()
          .catch(() => undefined);
        if (latest === undefined) return;
        for (const kind of DISCREPANCY_KINDS) this.set({ kind }, latest?.openByKind[kind] ?? 0);
      },
    });
    new Gauge({
      name: 'tributary_reconciliation_last_run_timestamp_seconds',
      help: 'When the latest reconciliation run finished, in Unix seconds (0: never).',
      registers,
      async collect() {
        const latest = await state()
          ?.latestReconciliation()
          .catch(() => undefined);
        if (latest === undefined) return;
        this.set(latest ? latest.finishedAt.getTime() / 1000 : 0);
      },
    });
    this.partnerDuration = new Histogram({
      name: 'tributary_partner_request_duration_seconds',
      help: 'Duration of each attempt at a partner, by endpoint template and HTTP status.',
      labelNames: ['partner', 'endpoint', 'status'],
      buckets: PARTNER_BUCKETS,
      registers,
    });
    this.partnerErrors = counter(
      'tributary_partner_errors_total',
      'Failed partner attempts, by error code.',
      ['partner', 'code'],
    );
    this.rateLimited = counter(
      'tributary_partner_rate_limited_total',
      'Partner answers of 429 (rate limited).',
      ['partner', 'endpoint'],
    );
    this.retries = counter('tributary_partner_retries_total', 'Retried partner attempts.', [
      'partner',
      'endpoint',
    ]);
    this.breakerState = new Gauge({
      name: 'tributary_partner_breaker_state',
      help: 'Circuit breaker state per partner: 0 closed, 1 open, 2 half-open.',
      labelNames: ['partner'],
      registers,
    });
    this.shortCircuits = counter(
      'tributary_partner_short_circuits_total',
      'Partner calls refused by an open circuit breaker, without reaching the partner.',
      ['partner'],
    );
    this.bulkheadRejections = counter(
      'tributary_partner_bulkhead_rejections_total',
      'Partner calls refused because the partner bulkhead and its queue were full.',
      ['partner'],
    );
    this.routeAttempts = counter(
      'tributary_payment_route_attempts_total',
      'Card payment attempts per route rule and processor: CREATED, DECLINED or FAILED_OVER.',
      ['rule', 'processor', 'outcome'],
    );
    this.cacheHits = counter('tributary_cache_hits_total', 'Fallback lookups that found a usable value.', [
      'partner',
      'resource',
    ]);
    this.cacheMisses = counter('tributary_cache_misses_total', 'Fallback lookups with nothing usable.', [
      'partner',
      'resource',
    ]);
    this.staleServes = counter(
      'tributary_cache_stale_serves_total',
      'Failed partner reads answered from the cache (freshness CACHED).',
      ['partner', 'resource'],
    );
    const usage = () => this.cache?.usage() ?? { bytes: 0, entries: 0 };
    new Gauge({
      name: 'tributary_cache_size_bytes',
      help: 'Estimated bytes held by the fallback cache.',
      registers,
      collect() {
        this.set(usage().bytes);
      },
    });
    new Gauge({
      name: 'tributary_cache_entries',
      help: 'Entries held by the fallback cache.',
      registers,
      collect() {
        this.set(usage().entries);
      },
    });
    this.operations = counter(
      'tributary_graphql_operations_total',
      'GraphQL operations by type and outcome.',
      ['type', 'outcome'],
    );
    this.webhookDeliveries = counter(
      'tributary_webhook_deliveries_total',
      'Webhook deliveries by partner and outcome (stored, duplicate, or why they were refused).',
      ['partner', 'outcome'],
    );
    this.webhookProcessing = counter(
      'tributary_webhook_events_processed_total',
      'Webhook inbox processing attempts by partner and outcome (processed, ignored, retry, dead).',
      ['partner', 'outcome'],
    );
    this.persisted = counter(
      'tributary_persisted_operations_total',
      'Requests PERSISTED_OPERATIONS looked at, by outcome (server/persisted-operations.ts).',
      ['outcome'],
    );
    this.disputesOpened = counter(
      'tributary_disputes_total',
      'Disputes (chargebacks, inquiries) opened against ledger payments, by partner and canonical reason.',
      ['partner', 'reason'],
    );
    this.disputeTransitions = counter(
      'tributary_dispute_transitions_total',
      'Dispute changes recorded from partner webhooks, by the status reached.',
      ['partner', 'status'],
    );
    new Gauge({
      name: 'tributary_disputes_open',
      help: 'Disputes needing a response or under review, per partner, read at scrape.',
      labelNames: ['partner'],
      registers,
      async collect() {
        const counts = await state()
          ?.openDisputes?.()
          .catch(() => null);
        if (!counts) return;
        this.reset();
        for (const [partner, n] of Object.entries(counts)) this.set({ partner }, n);
      },
    });
    this.operationDuration = new Histogram({
      name: 'tributary_graphql_operation_duration_seconds',
      help: 'Time from receiving a GraphQL operation to its response, by type and outcome.',
      labelNames: ['type', 'outcome'],
      buckets: OPERATION_BUCKETS,
      registers,
    });
  }

  /** What one partner's policy reports into. */
  partnerObserver(partner: ProviderName): PolicyObserver {
    this.breakerState.set({ partner }, BREAKER_VALUE.CLOSED);
    return {
      attempt: (endpoint, status, seconds, code) => {
        this.partnerDuration.observe({ partner, endpoint, status }, seconds);
        if (code === null) return;
        this.partnerErrors.inc({ partner, code });
        if (code === 'PARTNER_RATE_LIMITED') this.rateLimited.inc({ partner, endpoint });
      },
      retry: (endpoint) => this.retries.inc({ partner, endpoint }),
      rejected: (reason) =>
        (reason === 'breaker_open' ? this.shortCircuits : this.bulkheadRejections).inc({ partner }),
      breakerChanged: (state) => this.breakerState.set({ partner }, BREAKER_VALUE[state]),
    };
  }

  /** What the fallback cache reports into; the size gauges read `cache` when scraped. */
  cacheObserver(): CacheObserver {
    return {
      lookup: (partner, resource, hit) =>
        (hit ? this.cacheHits : this.cacheMisses).inc({ partner, resource }),
      staleServe: (partner, resource) => this.staleServes.inc({ partner, resource }),
    };
  }

  watchCache(cache: FallbackCache): void {
    this.cache = cache;
  }

  /** Where the scrape-time gauges (inbox, reconciliation) read from. */
  watchState(source: StateSource): void {
    this.state = source;
  }

  /**
   * Counts every operation by type (query, mutation, unknown) and outcome: success (no error), partial
   * (errors beside some data), error (no data, or every root field null: nullable root fields keep a
   * failure at its path, but an operation whose only field failed answered nothing).
   */
  operationsPlugin(): ApolloServerPlugin<BaseContext> {
    const operations = this.operations;
    const duration = this.operationDuration;
    const errors = this.errorsByCode;
    return {
      async requestDidStart() {
        const started = performance.now();
        return {
          async willSendResponse({ operation, response }) {
            const result =
              response.body.kind === 'single' ? response.body.singleResult : response.body.initialResult;
            const outcome = !result.errors?.length ? 'success' : answered(result.data) ? 'partial' : 'error';
            const labels = { type: operation?.operation ?? 'unknown', outcome };
            operations.inc(labels);
            for (const error of result.errors ?? []) {
              const code = error.extensions?.code;
              errors.inc({ code: typeof code === 'string' && KNOWN_CODES.has(code) ? code : 'OTHER' });
            }
            duration.observe(labels, (performance.now() - started) / 1000);
          },
        };
      },
    };
  }

  /** One webhook delivery answered; outcomes are a fixed set (see services/webhooks). */
  webhookDelivery(partner: ProviderName, outcome: string): void {
    this.webhookDeliveries.inc({ partner, outcome });
  }

  /** One routed card payment attempt ended (services/payments/routing.ts). */
  routeAttempt(attempt: { rule: string; processor: ProviderName; outcome: string }): void {
    this.routeAttempts.inc(attempt);
  }

  /** One inbox processing attempt finished. */
  webhookProcessed(partner: ProviderName, outcome: 'processed' | 'ignored' | 'retry' | 'dead'): void {
    this.webhookProcessing.inc({ partner, outcome });
  }

  /**
   * One request seen by the persisted operations plugin. Refusals (`refused`) never reach Apollo's
   * operation, so they are counted here and not in tributary_graphql_operations_total.
   */
  persistedOperation(outcome: PersistedOutcome): void {
    this.persisted.inc({ outcome });
  }

  /** A dispute change was recorded: counted when opened, and by the status it reached. */
  disputeChanged(dispute: Dispute, change: { outcome: string; to: string }): void {
    const partner = dispute.provider;
    if (change.outcome === 'opened') this.disputesOpened.inc({ partner, reason: dispute.reason });
    this.disputeTransitions.inc({ partner, status: change.to });
  }

  /** The exposition for GET /metrics. */
  async render(): Promise<{ contentType: string; body: string }> {
    return { contentType: this.registry.contentType, body: await this.registry.metrics() };
  }
}

/** True when at least one root field of the answer carries data. */
function answered(data: Record<string, unknown> | null | undefined): boolean {
  return !!data && Object.values(data).some((value) => value !== null);
}
