/**
 * `npm run bench -- --profile`: a CPU profile of the server under test per Tributary scenario (taken
 * inside the server with the inspector, so only the measured load is in it), written beside the
 * results as `.cpuprofile` (open it in Chrome DevTools or speedscope), and its self time by area.
 * `--heap-profile`: the same for what the scenario allocated (V8's sampling heap profiler, collected
 * objects included), as `.heapprofile` (Chrome DevTools, Memory tab), by area and by allocation site.
 */

/** The parts of a V8 CPU profile this summary reads. */
export interface CpuProfile {
  nodes: { id: number; callFrame: { functionName: string; url: string } }[];
  samples: number[];
  timeDeltas: number[];
}

/** Where a function's own time is counted, first match wins; the rest is "other". */
const AREAS: [area: string, matches: (url: string, name: string) => boolean][] = [
  ['idle', (_url, name) => name === '(idle)'],
  ['garbage collection', (_url, name) => name === '(garbage collector)'],
  ['database', (url) => /@electric-sql\/pglite|node_modules\/pg(-\w+)?\/|\/store\//.test(url)],
  ['authorisation', (url) => /graphql-shield|graphql-middleware|\/directives\//.test(url)],
  ['validation and limits', (url) => /graphql\/validation|graphql-armor|\/server\/(limits|cost)/.test(url)],
  ['GraphQL parsing', (url) => /graphql\/language/.test(url)],
  ['GraphQL execution', (url) => /node_modules\/graphql\/|@apollo\/subgraph|\/resolvers\//.test(url)],
  ['JSON and zod', (url, name) => /node_modules\/zod/.test(url) || /^(parse|stringify)$/.test(name)],
  ['HTTP to partners', (url) => /undici|node_modules\/(plaid|axios|stripe)\/|\/datasources\//.test(url)],
  ['logging', (url) => /pino|sonic-boom|thread-stream/.test(url)],
  ['metrics', (url) => /prom-client/.test(url)],
  [
    'async hooks',
    (url, name) => /async_hooks|async_local_storage/.test(url) || /AsyncLocalStorage/.test(name),
  ],
  [
    'HTTP server and Apollo',
    (url) => /fastify|find-my-way|avvio|@apollo\/server|@as-integrations|_http_|node:http/.test(url),
  ],
  ['services', (url) => /\/services\//.test(url)],
  ['promises (microtasks)', (_url, name) => name === 'runMicrotasks'],
  ['program', (_url, name) => name === '(program)'],
];

/** The parts of a V8 sampling heap profile this summary reads. */
export interface HeapProfile {
  head: HeapNode;
}
interface HeapNode {
  callFrame: { functionName: string; url: string; lineNumber: number };
  selfSize: number;
  children: HeapNode[];
}

const areaOf = (url: string, name: string): string =>
  AREAS.find(([, matches]) => matches(url, name))?.[0] ?? 'other';

/** Each key's share of the total, in percent to one decimal, largest first. */
function shares(amounts: Map<string, number>): [key: string, percent: number][] {
  const total = [...amounts.values()].reduce((sum, value) => sum + value, 0) || 1;
  return [...amounts]
    .map(([key, value]): [string, number] => [key, Math.round((value / total) * 1000) / 10])
    .sort((a, b) => b[1] - a[1]);
}

/** Share of busy time (idle excluded) per area, largest first, in percent. */
export function selfTimeByArea(profile: CpuProfile): [area: string, percent: number][] {
  const areaOfNode = new Map<number, string>();
  for (const node of profile.nodes) {
    areaOfNode.set(node.id, areaOf(node.callFrame.url, node.callFrame.functionName));
  }
  const time = new Map<string, number>();
  profile.samples.forEach((id, index) => {
    const area = areaOfNode.get(id) ?? 'other';
    time.set(area, (time.get(area) ?? 0) + (profile.timeDeltas[index] ?? 0));
  });
  time.delete('idle');
  return shares(time);
}

/** Share of the sampled allocated bytes per area, and per allocation site (function, file, line). */
export function allocations(profile: HeapProfile): {
  areas: [area: string, percent: number][];
  sites: [site: string, percent: number][];
} {
  const areas = new Map<string, number>();
  const sites = new Map<string, number>();
  const add = (into: Map<string, number>, key: string, bytes: number) =>
    into.set(key, (into.get(key) ?? 0) + bytes);
  const pending = [profile.head];
  for (let node = pending.pop(); node; node = pending.pop()) {
    pending.push(...node.children);
    if (node.selfSize === 0) continue;
    const { functionName, url, lineNumber } = node.callFrame;
    add(areas, areaOf(url, functionName), node.selfSize);
    add(sites, `${functionName || '(anonymous)'} ${shortUrl(url)}:${lineNumber + 1}`, node.selfSize);
  }
  return { areas: shares(areas), sites: shares(sites) };
}

/** A script's URL without the machine's paths: "graphql/execution/values.js", "datasources/http.js". */
function shortUrl(url: string): string {
  return url
    .replace(/^file:\/\//, '')
    .replace(/^.*node_modules\//, '')
    .replace(/^.*\/dist\//, '');
}

/** Prints one scenario's shares as a line each, under a title ("Self time by area"). */
export function printAreas(scenario: string, areas: [string, number][], title = 'Self time by area'): void {
  console.log(`\n${title}, ${scenario}:`);
  for (const [area, percent] of areas)
    console.log(`  ${area.padEnd(24)} ${percent.toFixed(1).padStart(5)} %`);
}
