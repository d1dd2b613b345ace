import { spawnSync } from 'node:child_process';
import { cpSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { runSchemaChecks } from '../../schema/tooling/check.js';
import { parseIntendedChanges } from '../../schema/tooling/inputs.js';
import { PROJECT_ROOT } from '../../store/paths.js';
import { realFiles, removeMember } from './helpers.js';

const roots: string[] = [];

/** A throwaway project root holding copies of the schema files and the neighbour fixtures. */
function scratchRoot(): string {
  const root = mkdtempSync(join(tmpdir(), 'tributary-schema-'));
  roots.push(root);
  cpSync(join(PROJECT_ROOT, 'schema'), join(root, 'schema'), {
    recursive: true,
    filter: (source) => !source.includes(`${join('schema', 'tooling')}`),
  });
  cpSync(join(PROJECT_ROOT, 'test', 'fixtures', 'subgraphs'), join(root, 'test', 'fixtures', 'subgraphs'), {
    recursive: true,
  });
  return root;
}

function schemaCheck(root: string, ...args: string[]): { status: number | null; output: string } {
  const result = spawnSync(
    process.execPath,
    ['--import', 'tsx', 'cli/schema-check.ts', '--root', root, ...args],
    {
      cwd: PROJECT_ROOT,
      encoding: 'utf8',
    },
  );
  return { status: result.status, output: `${result.stdout}${result.stderr}` };
}

afterEach(() => {
  for (const root of roots.splice(0)) rmSync(root, { recursive: true, force: true });
});

describe('npm run schema:check', () => {
  it('passes on the committed schema, snapshot and fixtures', async () => {
    const report = await runSchemaChecks(realFiles());

    expect(report.problems.filter((problem) => problem.severity === 'error')).toEqual([]);
    expect(report.ok).toBe(true);
  });

  it('exits 0 on a clean copy and 1 with one readable line when a field is removed', () => {
    const root = scratchRoot();
    expect(schemaCheck(root).status).toBe(0);

    const file = join(root, 'schema', 'transactions.graphql');
    writeFileSync(file, removeMember(readFileSync(file, 'utf8'), 'Transaction.merchantName'));
    const { status, output } = schemaCheck(root);

    expect(status).toBe(1);
    expect(output).toMatch(
      /^✖ Transaction\.merchantName: Field 'merchantName' was removed .*\[breaking\/FIELD_REMOVED\]$/m,
    );
    expect(output).toContain('schema:check failed with 1 error(s).');
  });

  it('exits 1 when a neighbour fixture breaks composition', () => {
    const root = scratchRoot();
    const file = join(root, 'test', 'fixtures', 'subgraphs', 'orders.graphql');
    writeFileSync(file, readFileSync(file, 'utf8').replace('type Money @shareable {', 'type Money {'));

    const { status, output } = schemaCheck(root);

    expect(status).toBe(1);
    expect(output).toMatch(/^✖ Money\.amount: .*\[composition\/INVALID_FIELD_SHARING\]$/m);
  });

  it('publishes an approved break: the snapshot moves forward and the intended list empties', () => {
    const root = scratchRoot();
    const file = join(root, 'schema', 'transactions.graphql');
    writeFileSync(file, removeMember(readFileSync(file, 'utf8'), 'Transaction.merchantName'));
    // Added to whatever the checkout already has approved for the next publication.
    const list = join(root, 'schema', 'intended-changes.json');
    const pending = (JSON.parse(readFileSync(list, 'utf8')) as { changes: unknown[] }).changes;
    const intended = {
      changes: [
        ...pending,
        { path: 'Transaction.merchantName', type: 'FIELD_REMOVED', reason: 'Dropped (#31).' },
      ],
    };
    writeFileSync(list, JSON.stringify(intended));

    expect(schemaCheck(root, '--publish').status).toBe(0);

    expect(readFileSync(join(root, 'schema', 'published.graphql'), 'utf8')).not.toContain('merchantName');
    expect(JSON.parse(readFileSync(join(root, 'schema', 'intended-changes.json'), 'utf8')).changes).toEqual(
      [],
    );
    expect(schemaCheck(root).status).toBe(0);
  });

  it('refuses to publish while a break is unapproved', () => {
    const root = scratchRoot();
    const file = join(root, 'schema', 'transactions.graphql');
    writeFileSync(file, removeMember(readFileSync(file, 'utf8'), 'Transaction.merchantName'));
    const before = readFileSync(join(root, 'schema', 'published.graphql'), 'utf8');

    const { status, output } = schemaCheck(root, '--publish');

    expect(status).toBe(1);
    expect(output).toContain('Nothing published');
    expect(readFileSync(join(root, 'schema', 'published.graphql'), 'utf8')).toBe(before);
  });
});

describe('schema/intended-changes.json', () => {
  it('reads entries with a path, an optional type and a reason', () => {
    const text = JSON.stringify({
      changes: [{ path: 'Account.name', reason: 'Renamed to displayName (#12).' }],
    });

    expect(parseIntendedChanges(text)).toEqual({
      changes: [{ path: 'Account.name', reason: 'Renamed to displayName (#12).' }],
      problems: [],
    });
  });

  it('reports an entry without a reason', () => {
    const { problems } = parseIntendedChanges(
      JSON.stringify({ changes: [{ path: 'Account.name', reason: '' }] }),
    );

    expect(problems.map((problem) => problem.coordinate)).toEqual([
      'intended-changes.json at changes.0.reason',
    ]);
  });
});
