/**
 * The contract as written: the SDL files of schema/, read once, and what the logger needs from them
 * (the fields marked `@pii`). Kept apart from schema.ts so the logger does not load the resolvers.
 */
import { readFileSync } from 'node:fs';
import { parse, print, visit, type DocumentNode } from 'graphql';
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

const isPii = (node: { directives?: readonly { name: { value: string } }[] | undefined }) =>
  node.directives?.some((directive) => directive.name.value === 'pii') ?? false;

/** Names of the output fields marked `@pii` anywhere in the SDL: redacted from every log line. */
export function sdlPiiFields(document: DocumentNode = typeDefs()): string[] {
  const names = new Set<string>();
  visit(document, {
    FieldDefinition(node) {
      if (isPii(node)) names.add(node.name.value);
    },
  });
  return [...names].sort();
}

/**
 * Names of the input fields marked `@pii`: redacted from logged operation variables (only there, since
 * names such as `code` or `state` mean something else in other log lines).
 */
export function sdlPiiInputFields(document: DocumentNode = typeDefs()): string[] {
  const names = new Set<string>();
  visit(document, {
    InputValueDefinition(node) {
      if (isPii(node)) names.add(node.name.value);
    },
  });
  return [...names].sort();
}

/** The federation directives a router enforces for security; Tributary enforces the same rules itself. */
const ROUTER_AUTH_DIRECTIVES = new Set(['requiresScopes', 'authenticated', 'policy']);

/**
 * The SDL without the router-facing authorisation directives, their `@link` imports and definitions:
 * what `FEDERATION_AUTH_DIRECTIVES=strip` publishes for routers that refuse a SECURITY feature they cannot
 * enforce (a stock `@apollo/gateway`). Only the router's view changes; the subgraph's own checks remain.
 */
export function withoutRouterAuthDirectives(sdl: string): string {
  const imported = (value: string) => ROUTER_AUTH_DIRECTIVES.has(value.replace(/^@/, ''));
  return print(
    visit(parse(sdl), {
      Directive: (node) => (ROUTER_AUTH_DIRECTIVES.has(node.name.value) ? null : undefined),
      DirectiveDefinition: (node) =>
        ROUTER_AUTH_DIRECTIVES.has(node.name.value.replace(/^federation__/, '')) ? null : undefined,
      ScalarTypeDefinition: (node) =>
        ['federation__Scope', 'federation__Policy'].includes(node.name.value) ? null : undefined,
      Argument: {
        leave(node) {
          if (node.name.value !== 'import' || node.value.kind !== 'ListValue') return undefined;
          const values = node.value.values.filter(
            (value) => !(value.kind === 'StringValue' && imported(value.value)),
          );
          return { ...node, value: { ...node.value, values } };
        },
      },
    }),
  );
}
