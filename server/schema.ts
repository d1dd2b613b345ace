/**
 * The executable schema: the SDL files read once at boot, the resolvers, and the authorisation
 * compiled from the SDL's @requiresScopes around them.
 */
import { buildSubgraphSchema } from '@apollo/subgraph';
import type { GraphQLSchema } from 'graphql';
import { guardSchema } from '../directives/permissions.js';
import { resolvers } from '../resolvers/index.js';
import { typeDefs } from './sdl.js';

export { SCHEMA_FILES, subgraphSdl, typeDefs } from './sdl.js';

export function buildSchema(): GraphQLSchema {
  const schema = buildSubgraphSchema({ typeDefs: typeDefs(), resolvers: resolvers as never });
  return guardSchema(schema);
}
