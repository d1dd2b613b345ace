/**
 * Builders for schema-check tests: the real files, and edits made on the AST (so a removed field takes its
 * description with it and the result is always valid SDL).
 */
import {
  Kind,
  parse,
  print,
  visit,
  type ASTNode,
  type ConstDirectiveNode,
  type EnumValueDefinitionNode,
  type FieldDefinitionNode,
} from 'graphql';
import { renderSnapshot, runSchemaChecks, type SchemaCheckInput } from '../../schema/tooling/check.js';
import { loadSchemaFiles, type SchemaFiles } from '../../schema/tooling/inputs.js';
import type { Problem } from '../../schema/tooling/problems.js';
import { PROJECT_ROOT } from '../../store/paths.js';

let cached: SchemaFiles | undefined;

/** The committed domain SDL, neighbour fixtures, snapshot and intended changes. */
export function realFiles(): SchemaFiles {
  cached ??= loadSchemaFiles(PROJECT_ROOT);
  return cached;
}

export function realSdl(): string {
  return realFiles().sdl;
}

type Member = FieldDefinitionNode | EnumValueDefinitionNode;

/**
 * Replaces (or, returning null, removes) the field or enum value at `Type.member` wherever the type is
 * defined or extended. Throws when nothing matched, so a typo cannot make a test pass vacuously.
 */
export function editMember(sdl: string, coordinate: string, edit: (node: Member) => Member | null): string {
  const [typeName, memberName] = coordinate.split('.');
  let matched = false;
  const document = visit(parse(sdl), {
    enter(node: ASTNode) {
      if (!('name' in node) || node.name?.value !== typeName) return undefined;
      const members = 'fields' in node ? node.fields : 'values' in node ? node.values : undefined;
      if (!members) return undefined;
      const next = (members as readonly Member[]).flatMap((member) => {
        if (member.name.value !== memberName) return [member];
        matched = true;
        const edited = edit(member);
        return edited ? [edited] : [];
      });
      return { ...node, ['fields' in node ? 'fields' : 'values']: next };
    },
  });
  if (!matched) throw new Error(`no ${coordinate} in the SDL`);
  return print(document);
}

export function removeMember(sdl: string, coordinate: string): string {
  return editMember(sdl, coordinate, () => null);
}

/** Parses one field definition, e.g. `"Fee." fee: Float`. */
export function field(text: string): FieldDefinitionNode {
  const [definition] = parse(`type X { ${text} }`).definitions;
  if (definition?.kind !== Kind.OBJECT_TYPE_DEFINITION || !definition.fields?.[0]) throw new Error(text);
  return definition.fields[0];
}

/** Adds a field to the first definition of `typeName`. */
export function addField(sdl: string, typeName: string, text: string): string {
  let added = false;
  const document = visit(parse(sdl), {
    ObjectTypeDefinition(node) {
      if (added || node.name.value !== typeName) return undefined;
      added = true;
      return { ...node, fields: [...(node.fields ?? []), field(text)] };
    },
  });
  if (!added) throw new Error(`no type ${typeName}`);
  return print(document);
}

/** The applied directive `@name(args)`, parsed. */
export function directive(text: string): ConstDirectiveNode {
  const [definition] = parse(`scalar X ${text}`).definitions;
  const node = definition?.kind === Kind.SCALAR_TYPE_DEFINITION ? definition.directives?.[0] : undefined;
  if (!node) throw new Error(text);
  return node;
}

/** Runs every check with the real neighbours and the real SDL as the published snapshot, unless overridden. */
export function check(overrides: Partial<SchemaCheckInput> & { sdl: string }) {
  const files = realFiles();
  return runSchemaChecks({
    neighbours: files.neighbours,
    published: renderSnapshot(realSdl()),
    intended: [],
    today: '2026-01-15',
    ...overrides,
  });
}

export function errorsOf(problems: readonly Problem[]): Problem[] {
  return problems.filter((problem) => problem.severity === 'error');
}

/** `rule@coordinate` of every error, for compact assertions. */
export function errorKeys(problems: readonly Problem[]): string[] {
  return errorsOf(problems).map((problem) => `${problem.check}/${problem.rule}@${problem.coordinate}`);
}
