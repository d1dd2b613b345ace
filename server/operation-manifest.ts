/**
 * An operation manifest in Apollo's persisted query list format, checked before anything of it is
 * published (`tributary operations publish`):
 *
 *   { "format": "apollo-persisted-query-manifest", "version": 1,
 *     "operations": [{ "id": "<sha256 hex of body>", "name": "Accounts", "type": "query", "body": "..." }] }
 *
 * Every operation's id must be the SHA-256 of its body (the id is what clients send, and what a full
 * query is compared by under PERSISTED_OPERATIONS=require), its body must parse and validate against
 * the schema with the server's own token and shape limits, and hold exactly one operation of the
 * declared type and name. Every problem is reported at once, as data: a refused manifest publishes
 * nothing.
 */
import { createHash } from 'node:crypto';
import { Kind, parse, specifiedRules, validate, type DocumentNode, type GraphQLSchema } from 'graphql';
import { z } from 'zod';
import { OPERATION_TYPES, type PersistedOperation } from '../store/persisted-operations.js';
import { shapeLimitRule, type Limits } from './limits.js';

export const MANIFEST_FORMAT = 'apollo-persisted-query-manifest';

const SHA256_HEX = /^[0-9a-f]{64}$/;

const ManifestSchema = z.object({
  format: z.literal(MANIFEST_FORMAT),
  version: z.literal(1),
  operations: z.array(
    z.object({
      id: z.string().regex(SHA256_HEX, 'must be a SHA-256 digest in lowercase hex'),
      name: z.string().min(1),
      type: z.enum(OPERATION_TYPES),
      body: z.string().min(1),
    }),
  ),
});

/** A manifest's operations, or every reason it is refused. */
export type ManifestCheck =
  { ok: true; operations: PersistedOperation[] } | { ok: false; problems: string[] };

/** SHA-256 (lowercase hex) of a document's text, as clients and the manifest compute it. */
export function operationId(body: string): string {
  return createHash('sha256').update(body, 'utf8').digest('hex');
}

/** True for a string shaped like an operation id. */
export function isOperationId(value: string): boolean {
  return SHA256_HEX.test(value);
}

/** Reads and checks a manifest's text against `schema` and the request limits. */
export function checkManifest(text: string, schema: GraphQLSchema, limits: Limits): ManifestCheck {
  let json: unknown;
  try {
    json = JSON.parse(text);
  } catch (error) {
    return { ok: false, problems: [`not JSON: ${(error as Error).message}`] };
  }
  const parsed = ManifestSchema.safeParse(json);
  if (!parsed.success)
    return {
      ok: false,
      problems: parsed.error.issues.map((issue) => `${issue.path.join('.') || 'manifest'}: ${issue.message}`),
    };
  const problems = parsed.data.operations.flatMap((operation, index) =>
    operationProblems(operation, schema, limits).map(
      (problem) => `operations.${index} (${operation.name}): ${problem}`,
    ),
  );
  return problems.length > 0 ? { ok: false, problems } : { ok: true, operations: parsed.data.operations };
}

function operationProblems(operation: PersistedOperation, schema: GraphQLSchema, limits: Limits): string[] {
  const problems: string[] = [];
  const digest = operationId(operation.body);
  if (digest !== operation.id) problems.push(`id is not the SHA-256 of its body (that is ${digest})`);
  let document: DocumentNode;
  try {
    document = parse(operation.body, { maxTokens: limits.tokens });
  } catch (error) {
    return [...problems, `body does not parse: ${(error as Error).message}`];
  }
  const errors = validate(schema, document, [...specifiedRules, shapeLimitRule(limits)]);
  problems.push(...errors.map((error) => `body does not validate: ${error.message}`));
  const definitions = document.definitions.filter(
    (definition) => definition.kind === Kind.OPERATION_DEFINITION,
  );
  if (definitions.length !== 1) {
    problems.push(`body must hold exactly one operation (it holds ${definitions.length})`);
    return problems;
  }
  const [definition] = definitions;
  if (definition!.operation !== operation.type)
    problems.push(`type is ${operation.type} but the body is a ${definition!.operation}`);
  const name = definition!.name?.value;
  if (name !== operation.name)
    problems.push(`name is ${operation.name} but the body's operation is ${name ?? 'anonymous'}`);
  return problems;
}
