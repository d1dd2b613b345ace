/**
 * The executable schema: the SDL files read once at boot, the resolvers, and the authorisation
 * compiled from the SDL's @requiresScopes around them.
 */
import { readFileSync } from 'node:fs';
import { buildSubgraphSchema } from '@apollo/subgraph';
import { parse, type DocumentNode, type GraphQLSchema } from 'graphql';
import { guardSchema } from '../directives/permissions.js';
import { resolvers } from '../resolvers/index.js';
import { fromRoot } from '../store/paths.js';

/** The domain files of the contract, in a fixed order. */
export const SCHEMA_FILES = ['common', 'accounts', 'transactions', 'payments', 'consents', 'ops'] as const;

let cached: string | undefined;

/** The subgraph SDL as written (federation directives included). */
export function subgraphSdl(): string {
  cached ??= SCHEMA_FILES.map((name) => readFileSync(fromRoot('schema', `${name}.graphql`), 'utf8')).join(
    '\n',
  );
  return cached;
}

export function typeDefs(): DocumentNode {
  return parse(subgraphSdl());
}

export function buildSchema(): GraphQLSchema {
  const schema = buildSubgraphSchema({ typeDefs: typeDefs(), resolvers: resolvers as never });
  return guardSchema(schema);
}
