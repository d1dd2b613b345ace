/**
 * Composition: Tributary's subgraph with its neighbours, through the same library the router's tooling
 * uses. Errors fail the check; hints (inconsistent descriptions, unused shareables, ...) are warnings.
 */
import { composeServices } from '@apollo/composition';
import { GraphQLError, parse, type DocumentNode } from 'graphql';
import { error, warning, type Problem } from './problems.js';

export interface SubgraphSource {
  name: string;
  sdl: string;
  /** Routing URL; composition needs one, its value does not matter to the check. */
  url?: string;
}

export interface CompositionOutcome {
  problems: Problem[];
  /** The supergraph SDL when composition succeeded. */
  supergraphSdl: string | null;
}

export function composeWithNeighbours(subgraphs: readonly SubgraphSource[]): CompositionOutcome {
  const problems: Problem[] = [];
  const services: { name: string; typeDefs: DocumentNode; url: string }[] = [];
  for (const subgraph of subgraphs) {
    try {
      services.push({
        name: subgraph.name,
        typeDefs: parse(subgraph.sdl),
        url: subgraph.url ?? `http://${subgraph.name}.invalid/graphql`,
      });
    } catch (cause) {
      problems.push(
        error('composition', 'SYNTAX', subgraph.name, `cannot parse the SDL: ${messageOf(cause)}`),
      );
    }
  }
  if (problems.length > 0) return { problems, supergraphSdl: null };

  const result = composeServices(services);
  for (const compositionError of result.errors ?? []) {
    const code = String(compositionError.extensions['code'] ?? 'COMPOSITION_ERROR');
    problems.push(
      error('composition', code, coordinateIn(compositionError.message), compositionError.message),
    );
  }
  for (const hint of result.hints ?? []) {
    problems.push(warning('composition', hint.definition.code, coordinateIn(hint.message), hint.message));
  }
  return { problems, supergraphSdl: result.errors ? null : (result.supergraphSdl ?? null) };
}

/**
 * Composition messages quote the element they are about (`Field "Customer.email" ...`); the first quoted
 * coordinate becomes the line's coordinate, so the report reads like the other checks.
 */
function coordinateIn(message: string): string {
  const quoted = /"(@?[A-Za-z_][\w]*(?:\.[A-Za-z_]\w*)?(?:\([A-Za-z_]\w*:?\))?)"/.exec(message);
  return quoted?.[1] ?? 'supergraph';
}

function messageOf(cause: unknown): string {
  return cause instanceof GraphQLError || cause instanceof Error ? cause.message : String(cause);
}
