/**
 * The import graph of product code, resolved file by file (docs: DESIGN.md §4). Where the lint rule
 * (eslint.config.js) matches specifiers by their text, this test resolves each one to the file it names,
 * and also sees what `no-restricted-imports` cannot: dynamic `import()`, `typeof import()` and the cycles
 * between files of one floor. Type imports count like any other: `ts.preProcessFile` reports them all.
 */
import { existsSync } from 'node:fs';
import { join, posix } from 'node:path';
import ts from 'typescript';
import { describe, expect, it } from 'vitest';
import {
  DEV_FOLDERS,
  FLOORS,
  MODULE_LIST,
  ROOT,
  floorOf,
  lineAt,
  listFiles,
  partnerFolderOf,
  partnerNames,
  readSources,
} from './layout.js';

/** One import/export/require/import() of one file, resolved to a repository-relative path. */
interface Edge {
  from: string;
  line: number;
  specifier: string;
  /** The file the specifier names (posix, relative to the repository root; may not exist). */
  to: string;
}

/** Every module specifier of a source text, type-only imports and dynamic imports included. */
function specifiersOf(text: string): { specifier: string; line: number }[] {
  return ts
    .preProcessFile(text, true, true)
    .importedFiles.map((file) => ({ specifier: file.fileName, line: lineAt(text, file.pos) }));
}

const TS_FOR_JS: Record<string, string> = { '.js': '.ts', '.mjs': '.mts', '.cjs': '.cts', '.jsx': '.tsx' };

/**
 * The repository-relative path a relative specifier names ('../store/db.js' from 'services/x.ts' is
 * 'store/db.ts'); undefined for package and builtin specifiers. `exists` picks between a source file and
 * the emitted name for specifiers without a TypeScript counterpart (a .json, a .sql, a folder).
 */
function resolveSpecifier(
  from: string,
  specifier: string,
  exists: (path: string) => boolean,
): string | undefined {
  if (!specifier.startsWith('./') && !specifier.startsWith('../')) return undefined;
  const target = posix.normalize(posix.join(posix.dirname(from), specifier));
  const ext = posix.extname(target);
  const tsTarget = TS_FOR_JS[ext] ? target.slice(0, -ext.length) + TS_FOR_JS[ext] : undefined;
  if (tsTarget && (exists(tsTarget) || !exists(target))) return tsTarget;
  if (exists(target) || ext) return target;
  for (const candidate of [`${target}.ts`, `${target}/index.ts`]) if (exists(candidate)) return candidate;
  return target;
}

/** The edges of a set of sources (path -> text); only relative specifiers make edges. */
function buildGraph(sources: Map<string, string>, exists: (path: string) => boolean): Edge[] {
  const edges: Edge[] = [];
  for (const [from, text] of sources) {
    for (const { specifier, line } of specifiersOf(text)) {
      const to = resolveSpecifier(from, specifier, exists);
      if (to !== undefined) edges.push({ from, line, specifier, to });
    }
  }
  return edges;
}

const showEdge = (edge: Edge) => `${edge.from}:${edge.line} imports '${edge.specifier}' (${edge.to})`;

/**
 * The cycles of a graph: one per strongly connected component with more than one file (or a file that
 * imports itself), each given as a concrete path `a.ts:3 -> b.ts:7 -> a.ts` plus the component's files.
 */
function findCycles(nodes: Iterable<string>, edges: readonly Edge[]): string[] {
  const out = new Map<string, Edge[]>();
  for (const edge of edges) out.set(edge.from, [...(out.get(edge.from) ?? []), edge]);
  const nodeSet = new Set(nodes);

  // Tarjan's strongly connected components, iterative (no recursion-depth limit on big graphs).
  const index = new Map<string, number>();
  const low = new Map<string, number>();
  const onStack = new Set<string>();
  const stack: string[] = [];
  const components: string[][] = [];
  let counter = 0;
  for (const start of [...nodeSet].sort()) {
    if (index.has(start)) continue;
    const work: { node: string; next: number }[] = [{ node: start, next: 0 }];
    index.set(start, counter);
    low.set(start, counter++);
    stack.push(start);
    onStack.add(start);
    while (work.length > 0) {
      const frame = work[work.length - 1]!;
      const successors = (out.get(frame.node) ?? []).map((edge) => edge.to).filter((to) => nodeSet.has(to));
      if (frame.next < successors.length) {
        const to = successors[frame.next++]!;
        if (!index.has(to)) {
          index.set(to, counter);
          low.set(to, counter++);
          stack.push(to);
          onStack.add(to);
          work.push({ node: to, next: 0 });
        } else if (onStack.has(to)) {
          low.set(frame.node, Math.min(low.get(frame.node)!, index.get(to)!));
        }
        continue;
      }
      work.pop();
      const parent = work[work.length - 1];
      if (parent) low.set(parent.node, Math.min(low.get(parent.node)!, low.get(frame.node)!));
      if (low.get(frame.node) === index.get(frame.node)) {
        const component: string[] = [];
        let member: string;
        do {
          member = stack.pop()!;
          onStack.delete(member);
          component.push(member);
        } while (member !== frame.node);
        components.push(component.sort());
      }
    }
  }

  const cycles: string[] = [];
  for (const component of components) {
    const members = new Set(component);
    const first = component[0]!;
    const selfLoop = (out.get(first) ?? []).find((edge) => edge.to === first);
    if (component.length === 1 && !selfLoop) continue;
    // Shortest path first -> ... -> first inside the component (breadth first), for a readable cycle.
    const via = new Map<string, Edge>();
    const queue = [first];
    let closing: Edge | undefined = selfLoop;
    while (queue.length > 0 && !closing) {
      const node = queue.shift()!;
      for (const edge of out.get(node) ?? []) {
        if (!members.has(edge.to)) continue;
        if (edge.to === first) {
          closing = edge;
          break;
        }
        if (!via.has(edge.to)) {
          via.set(edge.to, edge);
          queue.push(edge.to);
        }
      }
    }
    const path: Edge[] = [closing!];
    while (path[0]!.from !== first) path.unshift(via.get(path[0]!.from)!);
    const shown = path.map((edge) => `${edge.from}:${edge.line}`).join(' -> ') + ` -> ${first}`;
    const rest =
      component.length > path.length ? `\n    (the same cycle group: ${component.join(', ')})` : '';
    cycles.push(`${shown}${rest}`);
  }
  return cycles;
}

/** (b) Edges that go up the floors, or out of them to a folder the table does not know. */
function upwardEdges(edges: readonly Edge[]): string[] {
  const level = (path: string) => {
    const floor = floorOf(path);
    return floor === undefined ? -1 : FLOORS.indexOf(floor);
  };
  return edges
    .filter((edge) => floorOf(edge.from) !== undefined && !isDevFolder(edge.to))
    .flatMap((edge) => {
      const from = floorOf(edge.from)!;
      const to = floorOf(edge.to);
      if (to === undefined) return [`${showEdge(edge)}: outside the floors of DESIGN.md §4`];
      return level(edge.to) > level(edge.from) ? [`${showEdge(edge)}: ${from}/ is below ${to}/`] : [];
    });
}

const isDevFolder = (path: string) => (DEV_FOLDERS as readonly string[]).includes(path.split('/')[0] ?? '');

/** (c) Product files importing a development folder. */
function devFolderEdges(edges: readonly Edge[]): string[] {
  return edges
    .filter((edge) => floorOf(edge.from) !== undefined && isDevFolder(edge.to))
    .map((edge) => `${showEdge(edge)}: product code never imports ${edge.to.split('/')[0]}/`);
}

/**
 * (d) Partner folders: a partner folder imports no other partner's folder; outside its folder, product
 * code imports a partner folder only from the module list, and then only its index.ts.
 */
function partnerEdges(edges: readonly Edge[], partners: readonly string[]): string[] {
  return edges.flatMap((edge) => {
    const target = partnerFolderOf(edge.to, partners);
    if (target === undefined || floorOf(edge.from) === undefined) return [];
    const source = partnerFolderOf(edge.from, partners);
    if (source === target) return [];
    if (source !== undefined) return [`${showEdge(edge)}: datasources/${source}/ imports another partner`];
    if (edge.from === MODULE_LIST && edge.to === `datasources/${target}/index.ts`) return [];
    if (edge.from === MODULE_LIST)
      return [`${showEdge(edge)}: the module list imports a partner's index.ts only`];
    return [`${showEdge(edge)}: only ${MODULE_LIST} imports a partner folder`];
  });
}

const report = (title: string, problems: readonly string[]) =>
  `${title} (${problems.length}):\n  ${problems.join('\n  ')}`;

// ---------------------------------------------------------------------------------------------------
// The helpers, on small in-memory graphs: a clean layout passes, each kind of fault is named precisely.

describe('the import-graph helpers', () => {
  const graphOf = (files: Record<string, string>) => {
    const sources = new Map(Object.entries(files));
    const edges = buildGraph(sources, (path) => sources.has(path));
    return { nodes: [...sources.keys()], edges };
  };

  const clean = graphOf({
    'domain/model.ts': `import { z } from 'zod';\nexport type Id = string;`,
    'domain/money.ts': `import type { Id } from './model.js';`,
    'store/db.ts': `import type { Id } from '../domain/model.js';\nimport pg from 'pg';`,
    'datasources/registry.ts': `import { db } from '../store/db.js';`,
    'datasources/modules.ts': `import { stripe } from './stripe/index.js';`,
    'datasources/stripe/index.ts': `import { c } from './client.js';\nimport { h } from '../registry.js';`,
    'datasources/stripe/client.ts': `import { http } from '../../store/db.js';`,
    'services/payments/index.ts': `import { r } from '../webhooks/intake.js';\nimport '../../datasources/registry.js';`,
    'services/webhooks/intake.ts': `export const r = 1;\nimport { ApolloServerErrorCode } from '@apollo/server/errors';`,
    'resolvers/Query.ts': `import { r } from '../services/webhooks/intake.js';`,
    'server/app.ts': `import '../resolvers/Query.js';\nimport '../datasources/modules.js';`,
  });

  it('finds nothing wrong with a clean layout', () => {
    expect(clean.edges).toHaveLength(12);
    expect(findCycles(clean.nodes, clean.edges)).toEqual([]);
    expect(upwardEdges(clean.edges)).toEqual([]);
    expect(devFolderEdges(clean.edges)).toEqual([]);
    expect(partnerEdges(clean.edges, ['stripe'])).toEqual([]);
  });

  it('sees type imports, re-exports, dynamic imports and typeof import()', () => {
    const text = [
      `import type { A } from './a.js';`,
      `export * from './b.js';`,
      `export type { C } from './c.js';`,
      `const d = await import('./d.js');`,
      `type E = typeof import('./e.js');`,
    ].join('\n');
    expect(specifiersOf(text)).toEqual(
      ['./a.js', './b.js', './c.js', './d.js', './e.js'].map((specifier, i) => ({ specifier, line: i + 1 })),
    );
  });

  it('resolves .js specifiers to .ts sources, and leaves packages alone', () => {
    const exists = (path: string) => ['store/db.ts', 'store/migrations/001_init.sql'].includes(path);
    expect(resolveSpecifier('services/payments/x.ts', '../../store/db.js', exists)).toBe('store/db.ts');
    expect(resolveSpecifier('store/x.ts', './migrations/001_init.sql', exists)).toBe(
      'store/migrations/001_init.sql',
    );
    expect(resolveSpecifier('store/x.ts', '../server/config.js', exists)).toBe('server/config.ts');
    expect(resolveSpecifier('store/x.ts', '@apollo/server/errors', exists)).toBeUndefined();
    expect(resolveSpecifier('store/x.ts', 'node:fs', exists)).toBeUndefined();
  });

  it('names each cycle by its files and lines', () => {
    const { nodes, edges } = graphOf({
      'services/a.ts': `import { b } from './b.js';`,
      'services/b.ts': `\n\nimport type { c } from './c.js';`,
      'services/c.ts': `import { a } from './a.js';`,
      'store/self.ts': `export * from './self.js';`,
      'store/ok.ts': `import './self.js';`,
    });
    expect(findCycles(nodes, edges)).toEqual([
      'services/a.ts:1 -> services/b.ts:3 -> services/c.ts:1 -> services/a.ts',
      'store/self.ts:1 -> store/self.ts',
    ]);
  });

  it('names upward edges, development folders and partner imports with file:line', () => {
    const { edges } = graphOf({
      'store/x.ts': `import type { Config } from '../server/config.js';`,
      'domain/y.ts': `\nimport { db } from '../store/db.js';`,
      'datasources/z.ts': `const s = await import('../services/payments/index.js');`,
      'resolvers/q.ts': `import { wire } from '../server/wiring.js';\nimport { h } from '../test/helpers/db.js';`,
      'server/w.ts': `import { main } from '../cli/main.js';\nimport '../schema/sdl.js';`,
      'services/s.ts': `import { sandbox } from '../sandboxes/index.js';\nimport '../datasources/stripe/index.js';`,
      'datasources/plaid/x.ts': `import { s } from '../stripe/client.js';`,
      'datasources/modules.ts': `import { c } from './stripe/client.js';`,
    });
    expect(upwardEdges(edges)).toEqual([
      `store/x.ts:1 imports '../server/config.js' (server/config.ts): store/ is below server/`,
      `domain/y.ts:2 imports '../store/db.js' (store/db.ts): domain/ is below store/`,
      `datasources/z.ts:1 imports '../services/payments/index.js' (services/payments/index.ts): datasources/ is below services/`,
      `resolvers/q.ts:1 imports '../server/wiring.js' (server/wiring.ts): resolvers/ is below server/`,
      `server/w.ts:2 imports '../schema/sdl.js' (schema/sdl.ts): outside the floors of DESIGN.md §4`,
    ]);
    expect(devFolderEdges(edges)).toEqual([
      `resolvers/q.ts:2 imports '../test/helpers/db.js' (test/helpers/db.ts): product code never imports test/`,
      `server/w.ts:1 imports '../cli/main.js' (cli/main.ts): product code never imports cli/`,
      `services/s.ts:1 imports '../sandboxes/index.js' (sandboxes/index.ts): product code never imports sandboxes/`,
    ]);
    expect(partnerEdges(edges, ['plaid', 'stripe'])).toEqual([
      `services/s.ts:2 imports '../datasources/stripe/index.js' (datasources/stripe/index.ts): only datasources/modules.ts imports a partner folder`,
      `datasources/plaid/x.ts:1 imports '../stripe/client.js' (datasources/stripe/client.ts): datasources/plaid/ imports another partner`,
      `datasources/modules.ts:1 imports './stripe/client.js' (datasources/stripe/client.ts): the module list imports a partner's index.ts only`,
    ]);
  });
});

// ---------------------------------------------------------------------------------------------------
// The real thing: every .ts file of the product floors (resolvers/__generated__ included).

describe('the import graph of product code', () => {
  const files = listFiles(FLOORS, (path) => /\.(ts|mts|cts|tsx)$/.test(path) && !path.endsWith('.d.ts'));
  const sources = readSources(files);
  const edges = buildGraph(sources, (path) => sources.has(path) || existsSync(join(ROOT, path)));

  it('is not empty (the scan found the product floors)', () => {
    for (const floor of FLOORS)
      expect(
        files.some((file) => floorOf(file) === floor),
        floor,
      ).toBe(true);
    expect(edges.length).toBeGreaterThan(files.length);
  });

  it('(a) has no cycles', () => {
    const cycles = findCycles(files, edges);
    expect(cycles, report('import cycles in product code', cycles)).toEqual([]);
  });

  it('(b) goes down the floors or sideways, never up', () => {
    const problems = upwardEdges(edges);
    expect(problems, report('imports going up the floors (DESIGN.md §4)', problems)).toEqual([]);
  });

  it('(c) never reaches sandboxes/, cli/, bench/ or test/', () => {
    const problems = devFolderEdges(edges);
    expect(problems, report('product code importing development folders', problems)).toEqual([]);
  });

  it('(d) keeps partner folders behind the module list', () => {
    const problems = partnerEdges(edges, partnerNames());
    expect(problems, report('imports of partner folders outside the module list', problems)).toEqual([]);
  });

  it('(e) loads what only an optional feature needs on demand, and no partner SDK it replaced', () => {
    // Each is resident memory every server would carry (tens of MB): the OpenTelemetry SDK only with
    // OTEL_EXPORTER_OTLP_ENDPOINT set (server/tracing.ts), the Plaid SDK and axios never (the Plaid
    // client speaks Plaid's wire format through datasources/http.ts; the SDK checks the sandbox in tests).
    const lazy = ['@opentelemetry/sdk-node', '@opentelemetry/exporter-trace-otlp-http'];
    const never = ['plaid', 'axios'];
    const problems: string[] = [];
    for (const [file, text] of sources) {
      for (const { specifier, line } of specifiersOf(text)) {
        if (never.includes(specifier)) problems.push(`${file}:${line} imports ${specifier}`);
      }
      for (const match of text.matchAll(/^(import|export)\s+(?!type\b)[^;]*?\bfrom\s+'([^']+)'/gm)) {
        if (lazy.includes(match[2]!))
          problems.push(`${file}:${lineAt(text, match.index)} loads ${match[2]} at start-up`);
      }
    }
    expect(problems, report('heavy packages loaded by every server', problems)).toEqual([]);
  });
});
