/**
 * The dashboards and alerts in ops/ against the service they watch: every expression parses with
 * Prometheus's own PromQL grammar (@prometheus-io/lezer-promql), the rule file with a maintained YAML
 * parser, and every `tributary_*` series they name is served at GET /metrics by a running subgraph.
 */
import { readFileSync } from 'node:fs';
import { parser } from '@prometheus-io/lezer-promql';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { parse as parseYaml } from 'yaml';
import { fromRoot } from '../../store/paths.js';
import { startTestApp, type TestApp } from '../helpers/app.js';

interface Rule {
  alert: string;
  expr: string;
  for?: string;
  labels: { severity: string };
  annotations: { summary: string; description?: string };
}

const rules = (
  parseYaml(readFileSync(fromRoot('ops', 'prometheus', 'alerts.yml'), 'utf8')) as {
    groups: { name: string; rules: Rule[] }[];
  }
).groups.flatMap((group) => group.rules);

const dashboard = JSON.parse(readFileSync(fromRoot('ops', 'grafana', 'tributary.json'), 'utf8')) as {
  panels: { title: string; targets: { expr: string }[] }[];
};
const panelExprs = dashboard.panels.flatMap((panel) =>
  panel.targets.map((target) => [panel.title, target.expr]),
);

/** The PromQL syntax errors of an expression, as positions. */
function syntaxErrors(expr: string): number[] {
  const errors: number[] = [];
  parser.parse(expr).iterate({
    enter: (node) => {
      if (node.type.isError) errors.push(node.from);
    },
  });
  return errors;
}

/** The metric families an expression reads (histogram series map to their family). */
const familiesOf = (expr: string) =>
  [...expr.matchAll(/\btributary_[a-z_]+/g)].map((match) => match[0].replace(/_(bucket|count|sum)$/, ''));

describe('ops/prometheus/alerts.yml and ops/grafana/tributary.json', () => {
  it('covers what on-call pages on: breakers, dead letters, inbox lag, reconciliation, error budget', () => {
    const alerts = rules.map((rule) => rule.alert);
    for (const expected of [
      'TributaryPartnerBreakerOpen',
      'TributaryWebhookDeadLetters',
      'TributaryWebhookInboxLag',
      'TributaryReconciliationMismatches',
      'TributaryErrorBudgetFastBurn',
    ])
      expect(alerts).toContain(expected);
    expect(rules.find((rule) => rule.alert === 'TributaryPartnerBreakerOpen')?.for).toBe('5m');
    for (const rule of rules) {
      expect(['page', 'ticket'], rule.alert).toContain(rule.labels.severity);
      expect(rule.annotations.summary.length, rule.alert).toBeGreaterThan(0);
    }
  });

  it('parses every rule and panel expression with the PromQL grammar', () => {
    for (const rule of rules) expect(syntaxErrors(rule.expr), rule.alert).toEqual([]);
    for (const [title, expr] of panelExprs) expect(syntaxErrors(expr!), title).toEqual([]);
    // The check can fail: a broken expression has an error node.
    expect(syntaxErrors('sum(rate(tributary_partner_errors_total[5m])')).not.toEqual([]);
  });
});

describe('the series they name, at GET /metrics', { timeout: 120_000 }, () => {
  let app: TestApp;
  let exposition: string;

  beforeAll(async () => {
    app = await startTestApp({ customers: ['cust_alice'] });
    // Some traffic, one error, one reconciliation run: every family then has its help and type lines.
    await app.graphql('{ accounts(first: 1) { edges { node { id } } } }');
    await app.graphql('{ account(id: "bm90LWFuLWlk") { id } }');
    await app.server.services.payments.reconcile({ providers: ['stripe'] });
    exposition = await (await fetch(`${app.url}/metrics`)).text();
  }, 120_000);
  afterAll(async () => app?.close());

  it('serves every tributary_* family the rules and the dashboard read', () => {
    const served = new Set([...exposition.matchAll(/^# TYPE (\S+) /gm)].map((match) => match[1]));
    const named = new Set(
      [...rules.map((rule) => rule.expr), ...panelExprs.map(([, expr]) => expr!)].flatMap(familiesOf),
    );
    expect(named.size).toBeGreaterThan(10);
    expect([...named].filter((family) => !served.has(family))).toEqual([]);
  });

  it('reads the inbox and the latest reconciliation run at scrape, and counts errors by code', () => {
    expect(exposition).toMatch(/^tributary_webhook_inbox_events\{status="dead"\} 0$/m);
    const finished = Number(
      /^tributary_reconciliation_last_run_timestamp_seconds (\S+)$/m.exec(exposition)?.[1],
    );
    expect(finished).toBeGreaterThan(Date.now() / 1000 - 600);
    expect(exposition).toMatch(/^tributary_reconciliation_discrepancies\{kind="behind"\} 0$/m);
    expect(exposition).toMatch(/^tributary_graphql_errors_total\{code="NOT_FOUND"\} [1-9]/m);
  });
});
