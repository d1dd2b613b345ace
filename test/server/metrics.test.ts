import { ApolloServer } from '@apollo/server';
import { describe, expect, it } from 'vitest';
import { FallbackCache } from '../../datasources/cache.js';
import { Metrics } from '../../server/metrics.js';

/** The sample lines of one series family, without comments. */
function samples(text: string, family: string): string[] {
  return text.split('\n').filter((line) => line.startsWith(family));
}

describe('Metrics', () => {
  it('records partner attempts, errors, rate limits, retries, refusals and breaker state', async () => {
    const metrics = new Metrics({ defaultMetrics: false });
    const observer = metrics.partnerObserver('plaid');
    observer.attempt('POST /accounts/get', '200', 0.012, null);
    observer.attempt('POST /accounts/get', '429', 0.003, 'PARTNER_RATE_LIMITED');
    observer.attempt('POST /accounts/get', 'timeout', 5, 'PARTNER_TIMEOUT');
    observer.retry('POST /accounts/get');
    observer.rejected('breaker_open');
    observer.rejected('bulkhead_full');
    observer.breakerChanged('OPEN');
    const { contentType, body } = await metrics.render();
    expect(contentType).toMatch(/^text\/plain/);
    expect(body).toContain(
      'tributary_partner_request_duration_seconds_bucket{le="0.025",partner="plaid",endpoint="POST /accounts/get",status="200"} 1',
    );
    expect(body).toContain(
      'tributary_partner_request_duration_seconds_count{partner="plaid",endpoint="POST /accounts/get",status="timeout"} 1',
    );
    expect(body).toContain('tributary_partner_errors_total{partner="plaid",code="PARTNER_RATE_LIMITED"} 1');
    expect(body).toContain('tributary_partner_errors_total{partner="plaid",code="PARTNER_TIMEOUT"} 1');
    expect(body).toContain(
      'tributary_partner_rate_limited_total{partner="plaid",endpoint="POST /accounts/get"} 1',
    );
    expect(body).toContain(
      'tributary_partner_retries_total{partner="plaid",endpoint="POST /accounts/get"} 1',
    );
    expect(body).toContain('tributary_partner_short_circuits_total{partner="plaid"} 1');
    expect(body).toContain('tributary_partner_bulkhead_rejections_total{partner="plaid"} 1');
    expect(body).toContain('tributary_partner_breaker_state{partner="plaid"} 1');
    expect(body).not.toContain('process_cpu_seconds_total');
  });

  it('starts every partner closed and includes the process metrics by default', async () => {
    const metrics = new Metrics();
    metrics.partnerObserver('openbanking');
    const { body } = await metrics.render();
    expect(body).toContain('tributary_partner_breaker_state{partner="openbanking"} 0');
    expect(body).toContain('process_cpu_seconds_total');
    expect(body).toContain('nodejs_eventloop_lag_seconds');
  });

  it('counts cache hits, misses and stale serves, and reports the cache size when scraped', async () => {
    const metrics = new Metrics({ defaultMetrics: false });
    const cache = new FallbackCache(
      { maxBytes: 1024 * 1024, maxStalenessSeconds: 60 },
      metrics.cacheObserver(),
    );
    metrics.watchCache(cache);
    cache.remember(FallbackCache.key('alice', 'openbanking', 'accounts'), [{ id: 'a' }]);
    cache.report('openbanking', 'accounts', 'hit');
    cache.report('openbanking', 'balances', 'miss');
    cache.report('openbanking', 'accounts', 'served');
    const { body } = await metrics.render();
    expect(body).toContain('tributary_cache_hits_total{partner="openbanking",resource="accounts"} 1');
    expect(body).toContain('tributary_cache_misses_total{partner="openbanking",resource="balances"} 1');
    expect(body).toContain('tributary_cache_stale_serves_total{partner="openbanking",resource="accounts"} 1');
    expect(samples(body, 'tributary_cache_entries')).toEqual(['tributary_cache_entries 1']);
    expect(Number(samples(body, 'tributary_cache_size_bytes')[0]?.split(' ')[1])).toBeGreaterThan(0);
  });

  it('labels GraphQL operations by type and outcome: success, partial, error', async () => {
    const metrics = new Metrics({ defaultMetrics: false });
    const server = new ApolloServer({
      typeDefs: 'type Query { ok: String, broken: String }  type Mutation { touch: Boolean! }',
      resolvers: {
        Query: {
          ok: () => 'yes',
          broken: () => {
            throw new Error('partner down');
          },
        },
        Mutation: { touch: () => true },
      },
      plugins: [metrics.operationsPlugin()],
    });
    await server.start();
    await server.executeOperation({ query: '{ ok }' });
    await server.executeOperation({ query: '{ ok broken }' });
    await server.executeOperation({ query: 'mutation { touch }' });
    await server.executeOperation({ query: '{ nope }' });
    await server.stop();
    const { body } = await metrics.render();
    expect(body).toContain('tributary_graphql_operations_total{type="query",outcome="success"} 1');
    expect(body).toContain('tributary_graphql_operations_total{type="query",outcome="partial"} 1');
    expect(body).toContain('tributary_graphql_operations_total{type="mutation",outcome="success"} 1');
    expect(body).toContain('tributary_graphql_operations_total{type="unknown",outcome="error"} 1');
    expect(body).toContain(
      'tributary_graphql_operation_duration_seconds_count{type="query",outcome="success"} 1',
    );
  });
});
