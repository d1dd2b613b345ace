/**
 * `npm run schema:check` as a library: every check takes SDL strings, so tests feed mutated SDL without
 * touching files. cli/schema-check.ts reads the files (inputs.ts), calls runSchemaChecks and prints the report.
 */
import { parse, print } from 'graphql';
import { checkBreakingChanges, type IntendedChange } from './breaking.js';
import { composeWithNeighbours, type SubgraphSource } from './compose.js';
import { checkDeprecations, todayUtc } from './deprecation.js';
import { lintAuthorisation } from './lint-auth.js';
import { lintSchema } from './lint.js';
import { error, formatProblem, hasErrors, type Problem } from './problems.js';
import { buildSubgraph, type BuiltSubgraph } from './sdl.js';

/** Tributary's name in the composed supergraph. */
export const SUBGRAPH_NAME = 'tributary';

export interface SchemaCheckInput {
  /** Tributary's subgraph SDL (the domain files concatenated). */
  sdl: string;
  neighbours: readonly SubgraphSource[];
  /** The published snapshot, or null when none has been published yet. */
  published: string | null;
  intended: readonly IntendedChange[];
  /** YYYY-MM-DD (UTC); defaults to today. */
  today?: string;
  /** `publish` tolerates a missing snapshot (the first publish); `check` does not. */
  mode?: 'check' | 'publish';
  /** Problems found before the checks ran (unreadable files), reported with the rest. */
  problems?: readonly Problem[];
}

export interface SchemaCheckReport {
  ok: boolean;
  problems: Problem[];
  /** Breaking changes let through, with why. */
  accepted: string[];
  /** One summary line per check. */
  notes: string[];
}

export async function runSchemaChecks(input: SchemaCheckInput): Promise<SchemaCheckReport> {
  const today = input.today ?? todayUtc();
  const problems: Problem[] = [...(input.problems ?? [])];
  const notes: string[] = [];
  const accepted: string[] = [];

  const composition = composeWithNeighbours([{ name: SUBGRAPH_NAME, sdl: input.sdl }, ...input.neighbours]);
  problems.push(...composition.problems);
  const names = [SUBGRAPH_NAME, ...input.neighbours.map((neighbour) => neighbour.name)].join(', ');
  notes.push(
    composition.supergraphSdl ? `composition: ${names} compose` : `composition: ${names} do not compose`,
  );

  const current = tryBuild(input.sdl, 'the current SDL', problems);
  if (current) {
    const lint = [
      ...lintSchema(current),
      ...lintAuthorisation(current),
      ...checkDeprecations(current, today),
    ];
    problems.push(...lint);
    notes.push(`lint: ${lint.filter((p) => p.severity === 'error').length} problem(s)`);
  }

  if (input.published === null) {
    if (input.mode === 'publish') notes.push('breaking: no snapshot yet; this publish creates the first one');
    else
      problems.push(
        error('breaking', 'no-snapshot', 'schema/published.graphql', 'missing; run `npm run schema:publish`'),
      );
  } else {
    const published = tryBuild(input.published, 'the published snapshot', problems);
    if (current && published) {
      const outcome = await checkBreakingChanges({ published, current, intended: input.intended, today });
      problems.push(...outcome.problems);
      accepted.push(...outcome.accepted);
      const breaking = outcome.problems.filter((p) => p.severity === 'error').length;
      notes.push(
        `breaking: ${breaking} unapproved, ${outcome.accepted.length} accepted, ${outcome.safe} safe change(s)`,
      );
    }
  }
  return { ok: !hasErrors(problems), problems, accepted, notes };
}

function tryBuild(sdl: string, what: string, problems: Problem[]): BuiltSubgraph | null {
  try {
    return buildSubgraph(sdl);
  } catch (cause) {
    const message = cause instanceof Error ? cause.message : String(cause);
    problems.push(error('lint', 'build', SUBGRAPH_NAME, `${what} does not build as a subgraph: ${message}`));
    return null;
  }
}

/** The snapshot `schema:publish` writes: the SDL in graphql-js's canonical print, under a header. */
export function renderSnapshot(sdl: string): string {
  const header = [
    '# The published contract of the Tributary subgraph: `npm run schema:check` diffs schema/*.graphql against it.',
    '# Written by `npm run schema:publish`; do not edit by hand.',
  ];
  return `${header.join('\n')}\n\n${print(parse(sdl))}\n`;
}

/** The report the CLI prints: errors, then warnings, then accepted changes and the per-check summary. */
export function formatReport(report: SchemaCheckReport): string {
  const errors = report.problems.filter((problem) => problem.severity === 'error');
  const warnings = report.problems.filter((problem) => problem.severity === 'warning');
  const lines: string[] = [];
  if (errors.length > 0) lines.push(`Errors (${errors.length}):`, ...errors.map(formatProblem), '');
  if (warnings.length > 0) lines.push(`Warnings (${warnings.length}):`, ...warnings.map(formatProblem), '');
  if (report.accepted.length > 0)
    lines.push('Accepted breaking changes:', ...report.accepted.map((a) => `  ${a}`), '');
  lines.push(...report.notes.map((note) => `  ${note}`));
  lines.push(report.ok ? 'schema:check passed.' : `schema:check failed with ${errors.length} error(s).`);
  return lines.join('\n');
}
