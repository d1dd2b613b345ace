/**
 * A small checker of values against Plaid's OpenAPI spec (`../shared/partner-specs/plaid/2020-09-14.yml`):
 * $ref, allOf, required properties, nullable, enums, types, arrays and date/date-time formats.
 * Enough to hold the sandbox and recorded fixtures to the spec; not a general JSON Schema validator.
 */
import { existsSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { parse } from 'yaml';
import { fromRoot } from '../../../store/paths.js';

export interface SpecSchema {
  $ref?: string;
  type?: string;
  format?: string;
  nullable?: boolean;
  enum?: unknown[];
  required?: string[];
  properties?: Record<string, SpecSchema>;
  items?: SpecSchema;
  allOf?: SpecSchema[];
}

export interface PlaidSpec {
  schemas: Record<string, SpecSchema>;
}

/** Where DESIGN §6 puts the partners' specs: next to the project root. */
export const PLAID_SPEC_PATH = join(fromRoot('..', 'shared', 'partner-specs', 'plaid'), '2020-09-14.yml');

/** Parses the spec, or null when it is not there (the suite then says so and skips). */
export function loadPlaidSpec(path = PLAID_SPEC_PATH): PlaidSpec | null {
  if (!existsSync(path)) return null;
  const document = parse(readFileSync(path, 'utf8'), { maxAliasCount: -1 }) as {
    components: { schemas: Record<string, SpecSchema> };
  };
  return { schemas: document.components.schemas };
}

const DATE = /^\d{4}-\d{2}-\d{2}$/;
const DATE_TIME = /^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}(\.\d+)?(Z|[+-]\d{2}:\d{2})$/;

/** Every way `value` breaks the named schema, as "path: problem" lines; empty when it conforms. */
export function specIssues(spec: PlaidSpec, schemaName: string, value: unknown): string[] {
  const issues: string[] = [];
  check(spec, { $ref: `#/components/schemas/${schemaName}` }, value, schemaName, issues);
  return issues;
}

function resolve(spec: PlaidSpec, schema: SpecSchema): SpecSchema {
  let current = schema;
  for (let depth = 0; current.$ref && depth < 20; depth++) {
    const name = current.$ref.replace('#/components/schemas/', '');
    const target = spec.schemas[name];
    if (!target) throw new Error(`unresolved $ref ${current.$ref}`);
    current = target;
  }
  return current;
}

function check(spec: PlaidSpec, raw: SpecSchema, value: unknown, path: string, issues: string[]): void {
  const schema = resolve(spec, raw);
  if (value === null) {
    const nullable =
      schema.nullable || raw.nullable || schema.allOf?.some((part) => resolve(spec, part).nullable);
    if (!nullable && !schema.enum?.includes(null)) issues.push(`${path}: null is not allowed`);
    return;
  }
  for (const part of schema.allOf ?? []) check(spec, part, value, path, issues);
  if (schema.enum && !schema.enum.includes(value)) {
    issues.push(`${path}: ${JSON.stringify(value)} is not one of the spec's values`);
  }
  switch (schema.type) {
    case 'object':
      if (typeof value !== 'object' || Array.isArray(value)) {
        issues.push(`${path}: expected an object`);
        return;
      }
      break;
    case 'array':
      if (!Array.isArray(value)) issues.push(`${path}: expected an array`);
      else if (schema.items)
        value.forEach((item, i) => check(spec, schema.items as SpecSchema, item, `${path}[${i}]`, issues));
      return;
    case 'string':
      if (typeof value !== 'string') issues.push(`${path}: expected a string`);
      else if (schema.format === 'date' && !DATE.test(value)) issues.push(`${path}: not a date`);
      else if (schema.format === 'date-time' && !DATE_TIME.test(value))
        issues.push(`${path}: not a date-time`);
      return;
    case 'number':
      if (typeof value !== 'number' || !Number.isFinite(value)) issues.push(`${path}: expected a number`);
      return;
    case 'integer':
      if (!Number.isInteger(value)) issues.push(`${path}: expected an integer`);
      return;
    case 'boolean':
      if (typeof value !== 'boolean') issues.push(`${path}: expected a boolean`);
      return;
  }
  if (typeof value !== 'object' || Array.isArray(value)) return;
  const record = value as Record<string, unknown>;
  for (const key of schema.required ?? []) {
    if (!(key in record)) issues.push(`${path}.${key}: required by the spec, missing`);
  }
  for (const [key, property] of Object.entries(schema.properties ?? {})) {
    if (key in record) check(spec, property, record[key], `${path}.${key}`, issues);
  }
}
