/**
 * The executable schema: the SDL files read once at boot, the resolvers, and the authorisation
 * compiled from the SDL's @requiresScopes around them.
 */
import { buildSubgraphSchema } from '@apollo/subgraph';
import type { GraphQLSchema } from 'graphql';
import { guardSchema } from '../directives/permissions.js';
import { resolvers } from '../resolvers/index.js';
import { typeDefs, withoutRouterAuthDirectives } from './sdl.js';

export { SCHEMA_FILES, subgraphSdl, typeDefs } from './sdl.js';

export interface SchemaOptions {
  /** What `_service.sdl` tells the router: with the authorisation directives (default) or without. */
  authDirectives?: 'keep' | 'strip';
}

export function buildSchema(options: SchemaOptions = {}): GraphQLSchema {
  const schema = buildSubgraphSchema({ typeDefs: typeDefs(), resolvers: resolvers as never });
  if (options.authDirectives === 'strip') {
    const service = schema.getQueryType()!.getFields()._service!;
    const published = (service.resolve as () => { sdl: string })().sdl;
    const sdl = withoutRouterAuthDirectives(published);
    service.resolve = () => ({ sdl });
  }
  return guardSchema(schema);
}
