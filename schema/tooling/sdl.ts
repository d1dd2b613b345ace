/**
 * Reading the subgraph SDL as a schema: built the way the server builds it (`buildSubgraphSchema`), with
 * helpers to tell Tributary's own definitions from the ones federation adds, and to read applied
 * directives, which graphql-js keeps only on AST nodes.
 */
import { buildSubgraphSchema } from '@apollo/subgraph';
import {
  Kind,
  parse,
  valueFromASTUntyped,
  type ConstDirectiveNode,
  type DocumentNode,
  type GraphQLSchema,
} from 'graphql';

/** The domain files of the contract, in the order the server concatenates them. */
export { SCHEMA_FILES as DOMAIN_FILES } from '../../server/schema.js';

/** The published snapshot, beside the domain files but never part of the live schema. */
export const PUBLISHED_FILE = 'published.graphql';

export interface BuiltSubgraph {
  document: DocumentNode;
  schema: GraphQLSchema;
  /** Names of the types the SDL itself defines or extends (not federation's `_Entity`, `link__Import`, ...). */
  ownTypes: ReadonlySet<string>;
  /** `Type.field` coordinates the SDL itself defines (not federation's `Query._entities`). */
  ownFields: ReadonlySet<string>;
}

/** Parses and builds subgraph SDL; throws the parser's or builder's error for invalid SDL. */
export function buildSubgraph(sdl: string): BuiltSubgraph {
  const document = parse(sdl);
  const schema = buildSubgraphSchema(document);
  const ownTypes = new Set<string>();
  const ownFields = new Set<string>();
  for (const definition of document.definitions) {
    if (!('name' in definition) || !definition.name || definition.kind === Kind.DIRECTIVE_DEFINITION)
      continue;
    ownTypes.add(definition.name.value);
    const fields = 'fields' in definition ? (definition.fields ?? []) : [];
    for (const field of fields) ownFields.add(`${definition.name.value}.${field.name.value}`);
  }
  return { document, schema, ownTypes, ownFields };
}

/** Anything graphql-js built from SDL: its own AST node plus, for types, its `extend` nodes. */
interface WithAst {
  astNode?: { directives?: readonly ConstDirectiveNode[] | undefined } | null | undefined;
  extensionASTNodes?: readonly { directives?: readonly ConstDirectiveNode[] | undefined }[];
}

/** Applied directives named `name` on an element, across its definition and extensions. */
export function appliedDirectives(element: WithAst, name: string): ConstDirectiveNode[] {
  const nodes = [element.astNode, ...(element.extensionASTNodes ?? [])];
  return nodes.flatMap((node) => node?.directives ?? []).filter((directive) => directive.name.value === name);
}

/** The arguments of an applied directive as plain values. */
export function directiveArguments(directive: ConstDirectiveNode): Record<string, unknown> {
  const values: Record<string, unknown> = {};
  for (const argument of directive.arguments ?? []) {
    values[argument.name.value] = valueFromASTUntyped(argument.value);
  }
  return values;
}

/** A scope requirement: alternatives (OR), each a set of scopes that must all be held (AND). */
export type Scopes = readonly (readonly string[])[];

/** The `@requiresScopes` requirement of an element, or null when it declares none. */
export function scopesOf(element: WithAst): Scopes | null {
  const [directive] = appliedDirectives(element, 'requiresScopes');
  if (!directive) return null;
  const scopes = directiveArguments(directive)['scopes'];
  return Array.isArray(scopes) ? scopes.map((group) => (Array.isArray(group) ? group.map(String) : [])) : [];
}

/** The top-level field names of every resolvable `@key` of a type; empty for a non-entity. */
export function keyFields(element: WithAst): string[] {
  return appliedDirectives(element, 'key').flatMap((directive) => {
    const args = directiveArguments(directive);
    if (args['resolvable'] === false) return [];
    // Nested selections (`owner { id }`) do not occur in Tributary's keys; only top-level names matter here.
    return String(args['fields'] ?? '')
      .replace(/\{[^}]*\}/g, ' ')
      .split(/[\s,]+/)
      .filter(Boolean);
  });
}

export function isEntity(element: WithAst): boolean {
  return appliedDirectives(element, 'key').length > 0;
}

/** True when everyone who meets `requirement` also meets `implied`. An empty requirement is met by anyone. */
export function scopesImply(requirement: Scopes, implied: Scopes): boolean {
  if (implied.length === 0) return true;
  const alternatives = requirement.length === 0 ? [[]] : requirement;
  return alternatives.every((held) =>
    implied.some((needed) => needed.every((scope) => held.includes(scope))),
  );
}

/** Both requirements at once (a type's and its field's): every pairing of alternatives, merged. */
export function combineScopes(a: Scopes | null, b: Scopes | null): Scopes {
  if (!a || a.length === 0) return b ?? [];
  if (!b || b.length === 0) return a;
  return a.flatMap((left) => b.map((right) => [...new Set([...left, ...right])]));
}

export function describeScopes(scopes: Scopes | null): string {
  if (!scopes || scopes.length === 0) return 'no scope';
  return scopes.map((alternative) => alternative.join(' + ')).join(' or ');
}
