/**
 * `tributary supergraph --subgraph name=url ...`: asks each running subgraph for its SDL (`_service`),
 * composes them with `@apollo/composition` (what the router tooling uses) and writes the supergraph a
 * router loads. Tributary's own SDL follows its FEDERATION_AUTH_DIRECTIVES; a subgraph behind the router
 * secret gets it from ROUTER_SECRET (or --router-secret name=secret). Composition errors are printed one
 * per line with their code and the command exits 1 without writing anything.
 */
import { writeFile } from 'node:fs/promises';
import { composeServices } from '@apollo/composition';
import { parse } from 'graphql';

export interface SupergraphOptions {
  subgraph: string[];
  routerSecret?: string[];
  out?: string;
}

interface SubgraphEndpoint {
  name: string;
  url: string;
}

const SERVICE_QUERY = '{ _service { sdl } }';

function parseEndpoint(text: string): SubgraphEndpoint | string {
  const match = /^([A-Za-z][\w-]*)=(https?:\/\/\S+)$/.exec(text);
  if (!match)
    return `--subgraph ${JSON.stringify(text)}: give name=url, e.g. tributary=http://localhost:4001/graphql`;
  return { name: match[1]!, url: match[2]! };
}

function parseSecrets(pairs: readonly string[]): Map<string, string> | string {
  const secrets = new Map<string, string>();
  for (const pair of pairs) {
    const at = pair.indexOf('=');
    if (at < 1) return `--router-secret: give name=secret for the subgraph it belongs to`;
    secrets.set(pair.slice(0, at), pair.slice(at + 1));
  }
  return secrets;
}

/** One subgraph's SDL, or why it could not be had. */
async function fetchSdl(endpoint: SubgraphEndpoint, secret: string | undefined): Promise<string> {
  let response: Response;
  try {
    response = await fetch(endpoint.url, {
      method: 'POST',
      headers: {
        'content-type': 'application/json',
        ...(secret ? { 'router-authorization': secret } : {}),
      },
      body: JSON.stringify({ query: SERVICE_QUERY }),
      signal: AbortSignal.timeout(15_000),
    });
  } catch (error) {
    throw new Error(`${endpoint.name} (${endpoint.url}) is unreachable: ${(error as Error).message}`);
  }
  const text = await response.text();
  let body: { data?: { _service?: { sdl?: string } }; errors?: { message: string }[] };
  try {
    body = JSON.parse(text) as typeof body;
  } catch {
    throw new Error(`${endpoint.name} answered ${response.status} without GraphQL: ${text.slice(0, 200)}`);
  }
  const sdl = body.data?._service?.sdl;
  if (!sdl) {
    const why = body.errors?.map((error) => error.message).join('; ') ?? `status ${response.status}`;
    const hint = response.status === 403 ? ' (does it need the router secret? set ROUTER_SECRET)' : '';
    throw new Error(`${endpoint.name} published no SDL: ${why}${hint}`);
  }
  return sdl;
}

export async function runSupergraph(options: SupergraphOptions): Promise<void> {
  const endpoints = options.subgraph.map(parseEndpoint);
  const secrets = parseSecrets(options.routerSecret ?? []);
  const problems = [
    ...endpoints.filter((endpoint): endpoint is string => typeof endpoint === 'string'),
    ...(typeof secrets === 'string' ? [secrets] : []),
  ];
  const names = endpoints.flatMap((endpoint) => (typeof endpoint === 'string' ? [] : [endpoint.name]));
  if (new Set(names).size !== names.length) problems.push('--subgraph: each subgraph needs its own name');
  if (problems.length > 0 || typeof secrets === 'string') {
    process.stderr.write(`${problems.join('\n')}\n`);
    process.exit(2);
  }
  const subgraphs = endpoints as SubgraphEndpoint[];
  const sharedSecret = process.env.ROUTER_SECRET;

  const fetched = await Promise.allSettled(
    subgraphs.map(async (endpoint) => ({
      ...endpoint,
      typeDefs: parse(await fetchSdl(endpoint, secrets.get(endpoint.name) ?? sharedSecret)),
    })),
  );
  const unreachable = fetched.flatMap((result) =>
    result.status === 'rejected' ? [(result.reason as Error).message] : [],
  );
  if (unreachable.length > 0) {
    process.stderr.write(`${unreachable.join('\n')}\n`);
    process.exit(1);
  }
  const services = fetched.map((result) => (result as PromiseFulfilledResult<never>).value);

  const composed = composeServices(services);
  if (composed.errors) {
    process.stderr.write(`the subgraphs do not compose (${composed.errors.length} error(s)):\n`);
    for (const error of composed.errors) {
      const code = (error.extensions?.code as string | undefined) ?? 'COMPOSITION_ERROR';
      process.stderr.write(`  ${code}: ${error.message}\n`);
    }
    process.exit(1);
  }
  for (const hint of composed.hints) process.stderr.write(`hint ${hint.definition.code}: ${hint.message}\n`);
  if (options.out) {
    await writeFile(options.out, composed.supergraphSdl);
    process.stderr.write(`wrote the supergraph of ${names.join(', ')} to ${options.out}\n`);
  } else {
    process.stdout.write(composed.supergraphSdl);
  }
}
