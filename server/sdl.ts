/**
 * The contract as written: the SDL files of schema/, read once, and what the logger needs from them
 * (the fields marked `@pii`). Kept apart from schema.ts so the logger does not load the resolvers.
 */
import { readFileSync } from 'node:fs';
import { parse, visit, type DocumentNode } from 'graphql';
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
