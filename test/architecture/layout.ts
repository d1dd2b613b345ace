/**
 * The floors of the house (docs: DESIGN.md §4), as the architecture tests see them. Deliberately a copy of
 * the table in eslint.config.js rather than an import of it: the tests are a second, independent reading
 * of the same rules (the lint rule matches specifiers, these tests resolve them to files).
 */
import { existsSync, readdirSync, readFileSync } from 'node:fs';
import { dirname, join, relative, sep } from 'node:path';
import { fileURLToPath } from 'node:url';

export const ROOT = join(dirname(fileURLToPath(import.meta.url)), '..', '..');

/** Product floors, lowest first: a file imports its own floor or a lower one. */
export const FLOORS = [
  'domain',
  'store',
  'datasources',
  'directives',
  'services',
  'resolvers',
  'server',
] as const;
export type Floor = (typeof FLOORS)[number];

/** Development folders: product code never imports them. */
export const DEV_FOLDERS = ['sandboxes', 'cli', 'bench', 'test'] as const;

/** The module list: the one product file that imports the partner folders (their index.ts). */
export const MODULE_LIST = 'datasources/modules.ts';

/** The floor of a repository-relative posix path, or undefined outside the product floors. */
export function floorOf(path: string): Floor | undefined {
  const top = path.split('/')[0];
  return (FLOORS as readonly string[]).includes(top ?? '') ? (top as Floor) : undefined;
}

/**
 * The partners: folders under datasources/ holding an index.ts (their PartnerModule). Derived, not
 * listed, so that adding a partner folder brings it under the rules without touching the tests.
 */
export function partnerNames(root = ROOT): string[] {
  const dir = join(root, 'datasources');
  return readdirSync(dir, { withFileTypes: true })
    .filter((entry) => entry.isDirectory() && existsSync(join(dir, entry.name, 'index.ts')))
    .map((entry) => entry.name)
    .sort();
}

/** The partner folder a path lies in (`datasources/<partner>/...`), if any. */
export function partnerFolderOf(path: string, partners: readonly string[]): string | undefined {
  const [top, second, ...rest] = path.split('/');
  return top === 'datasources' && rest.length > 0 && partners.includes(second ?? '') ? second : undefined;
}

/** Every file under `folders` (recursively) whose name passes `keep`, as posix paths relative to root. */
export function listFiles(
  folders: readonly string[],
  keep: (path: string) => boolean,
  root = ROOT,
): string[] {
  const found: string[] = [];
  const walk = (dir: string) => {
    if (!existsSync(dir)) return;
    for (const entry of readdirSync(dir, { withFileTypes: true })) {
      const full = join(dir, entry.name);
      if (entry.isDirectory()) {
        if (entry.name !== 'node_modules') walk(full);
      } else {
        const path = relative(root, full).split(sep).join('/');
        if (keep(path)) found.push(path);
      }
    }
  };
  for (const folder of folders) walk(join(root, folder));
  return found.sort();
}

/** Reads `paths` (relative to root) into a path -> text map: what the pure helpers of the tests take. */
export function readSources(paths: readonly string[], root = ROOT): Map<string, string> {
  return new Map(paths.map((path) => [path, readFileSync(join(root, path), 'utf8')]));
}

/** 1-based line of a character offset. */
export function lineAt(text: string, offset: number): number {
  let line = 1;
  for (let i = 0; i < offset && i < text.length; i++) if (text.charCodeAt(i) === 10) line++;
  return line;
}
