/**
 * The files `npm run schema:check` reads and `npm run schema:publish` writes, all relative to a project root:
 * the domain SDL (schema/<domain>.graphql), the neighbour fixtures (test/fixtures/subgraphs/*.graphql), the
 * snapshot (schema/published.graphql) and the approved breaks (schema/intended-changes.json).
 */
import { existsSync, readdirSync, readFileSync, writeFileSync } from 'node:fs';
import { basename, join } from 'node:path';
import { z } from 'zod';
import type { IntendedChange } from './breaking.js';
import type { SubgraphSource } from './compose.js';
import { error, type Problem } from './problems.js';
import { DOMAIN_FILES, PUBLISHED_FILE } from './sdl.js';

export const SCHEMA_DIR = 'schema';
export const NEIGHBOURS_DIR = join('test', 'fixtures', 'subgraphs');
export const INTENDED_FILE = 'intended-changes.json';

export interface SchemaFiles {
  sdl: string;
  neighbours: SubgraphSource[];
  published: string | null;
  intended: IntendedChange[];
  /** Files that are missing, unlisted or malformed. */
  problems: Problem[];
}

const intendedSchema = z.object({
  changes: z.array(
    z.object({
      path: z.string().min(1),
      type: z.string().min(1).optional(),
      reason: z.string().trim().min(10, 'say why the break is acceptable and who agreed'),
    }),
  ),
});

/** The empty list `schema:publish` leaves behind, with a note on how to fill it. */
export const EMPTY_INTENDED = {
  $comment:
    'Breaking changes approved for the next `npm run schema:publish`: {"path": "Type.field", "type": "FIELD_REMOVED", "reason": "why, and who agreed"}. Publishing empties this list.',
  changes: [],
};

export function parseIntendedChanges(text: string): { changes: IntendedChange[]; problems: Problem[] } {
  let json: unknown;
  try {
    json = JSON.parse(text);
  } catch (cause) {
    return {
      changes: [],
      problems: [error('files', 'intended', INTENDED_FILE, `not JSON: ${String(cause)}`)],
    };
  }
  const parsed = intendedSchema.safeParse(json);
  if (parsed.success) return { changes: parsed.data.changes, problems: [] };
  const problems = parsed.error.issues.map((issue) =>
    error(
      'files',
      'intended',
      `${INTENDED_FILE} at ${issue.path.map(String).join('.') || '(root)'}`,
      issue.message,
    ),
  );
  return { changes: [], problems };
}

export function loadSchemaFiles(root: string): SchemaFiles {
  const problems: Problem[] = [];
  const schemaDir = join(root, SCHEMA_DIR);
  const listed = new Set<string>(DOMAIN_FILES.map((name) => `${name}.graphql`));
  for (const file of readdirSync(schemaDir)) {
    if (file.endsWith('.graphql') && !listed.has(file) && file !== PUBLISHED_FILE) {
      problems.push(
        error(
          'files',
          'unlisted',
          `schema/${file}`,
          'not one of DOMAIN_FILES (schema/tooling/sdl.ts and server/schema.ts); the server would not load it',
        ),
      );
    }
  }
  const parts = DOMAIN_FILES.flatMap((name) => {
    const path = join(schemaDir, `${name}.graphql`);
    if (existsSync(path)) return [readFileSync(path, 'utf8')];
    problems.push(error('files', 'missing', `schema/${name}.graphql`, 'domain file is missing'));
    return [];
  });

  const neighboursDir = join(root, NEIGHBOURS_DIR);
  const neighbours = existsSync(neighboursDir)
    ? readdirSync(neighboursDir)
        .filter((file) => file.endsWith('.graphql'))
        .sort()
        .map((file) => ({
          name: basename(file, '.graphql'),
          sdl: readFileSync(join(neighboursDir, file), 'utf8'),
        }))
    : [];

  const publishedPath = join(schemaDir, PUBLISHED_FILE);
  const intendedPath = join(schemaDir, INTENDED_FILE);
  const intended = existsSync(intendedPath)
    ? parseIntendedChanges(readFileSync(intendedPath, 'utf8'))
    : { changes: [], problems: [] };
  problems.push(...intended.problems);

  return {
    sdl: parts.join('\n'),
    neighbours,
    published: existsSync(publishedPath) ? readFileSync(publishedPath, 'utf8') : null,
    intended: intended.changes,
    problems,
  };
}

/** Writes the new snapshot and empties the intended-change list, which the snapshot now embodies. */
export function writePublished(root: string, snapshot: string): void {
  writeFileSync(join(root, SCHEMA_DIR, PUBLISHED_FILE), snapshot);
  writeFileSync(join(root, SCHEMA_DIR, INTENDED_FILE), `${JSON.stringify(EMPTY_INTENDED, null, 2)}\n`);
}
