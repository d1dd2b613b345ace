/**
 * `npm run bench -- --profile`: a CPU profile of the server under test per Tributary scenario (taken
 * inside the server with the inspector, so only the measured load is in it), written beside the
 * results as `.cpuprofile` (open it in Chrome DevTools or speedscope), and its self time by area.
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

/** Share of busy time (idle excluded) per area, largest first, in percent. */
export function selfTimeByArea(profile: CpuProfile): [area: string, percent: number][] {
  const areaOf = new Map<number, string>();
  for (const node of profile.nodes) {
    const { url, functionName } = node.callFrame;
    areaOf.set(node.id, AREAS.find(([, matches]) => matches(url, functionName))?.[0] ?? 'other');
  }
  const time = new Map<string, number>();
  profile.samples.forEach((id, index) => {
    const area = areaOf.get(id) ?? 'other';
    time.set(area, (time.get(area) ?? 0) + (profile.timeDeltas[index] ?? 0));
  });
  time.delete('idle');
  const busy = [...time.values()].reduce((sum, value) => sum + value, 0) || 1;
  return [...time]
    .map(([area, value]): [string, number] => [area, Math.round((value / busy) * 1000) / 10])
    .sort((a, b) => b[1] - a[1]);
}

/** Prints one scenario's areas as a line per area. */
export function printAreas(scenario: string, areas: [string, number][]): void {
  console.log(`\nSelf time by area, ${scenario}:`);
  for (const [area, percent] of areas)
    console.log(`  ${area.padEnd(24)} ${percent.toFixed(1).padStart(5)} %`);
}
