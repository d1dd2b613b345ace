/**
 * Files that ship beside the code (SDL, SQL migrations) are found from the project root, so the same
 * lookup works from the TypeScript sources and from the compiled `dist/` tree.
 */
import { existsSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';

function findRoot(start: string): string {
  let dir = start;
  for (;;) {
    if (existsSync(join(dir, 'package.json')) && existsSync(join(dir, 'schema'))) return dir;
    const parent = dirname(dir);
    if (parent === dir) throw new Error(`cannot find the project root above ${start}`);
    dir = parent;
  }
}

/** Absolute path of the project root (the folder holding package.json and schema/). */
export const PROJECT_ROOT = findRoot(dirname(fileURLToPath(import.meta.url)));

export function fromRoot(...segments: string[]): string {
  return join(PROJECT_ROOT, ...segments);
}
