/**
 * A small OpenAPI 3.0 schema checker for contract tests: follows $ref, and checks type, required,
 * additionalProperties: false, enum and x-namespaced-enum, pattern, length and item bounds, and the
 * date-time / uri formats. No JSON-schema validator is a declared dependency, and the subset the
 * Open Banking specs use is small.
 */
import { existsSync, readFileSync } from 'node:fs';

type Schema = Record<string, unknown>;

/** RFC 3339 date-time with a mandatory offset. */
const DATE_TIME = /^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}(\.\d+)?(Z|[+-]\d{2}:\d{2})$/;

export class OpenApiSpec {
  private constructor(private readonly doc: Schema) {}

  /** Loads a spec file, or null when it is absent. */
  static load(file: string): OpenApiSpec | null {
    return existsSync(file) ? new OpenApiSpec(JSON.parse(readFileSync(file, 'utf8')) as Schema) : null;
  }

  /** The JSON schema of a response body, or null when the spec gives that response no body. */
  responseSchema(path: string, method: string, status: number): Schema | null {
    const response = this.response(path, method, status);
    const content = response.content as Record<string, { schema?: Schema }> | undefined;
    return content?.['application/json']?.schema ?? null;
  }

  /** Header names the spec marks required on a response. */
  requiredHeaders(path: string, method: string, status: number): string[] {
    const headers = (this.response(path, method, status).headers ?? {}) as Record<
      string,
      { required?: boolean }
    >;
    return Object.entries(headers)
      .filter(([, header]) => header.required)
      .map(([name]) => name.toLowerCase());
  }

  /** The JSON schema of a request body. */
  requestSchema(path: string, method: string): Schema {
    const operation = this.operation(path, method);
    const body = this.resolve(operation.requestBody as Schema);
    const content = body.content as Record<string, { schema: Schema }>;
    const json = content['application/json'];
    if (!json) throw new Error(`no JSON request body for ${method} ${path}`);
    return json.schema;
  }

  /** Every problem of `value` against `schema`, as "path: problem". */
  validate(schema: Schema, value: unknown, at = '$'): string[] {
    const s = this.resolve(schema);
    const errors: string[] = [];
    if (Array.isArray(s.allOf))
      for (const part of s.allOf as Schema[]) errors.push(...this.validate(part, value, at));
    for (const key of ['oneOf', 'anyOf'] as const) {
      const options = s[key] as Schema[] | undefined;
      if (options && !options.some((option) => this.validate(option, value, at).length === 0)) {
        errors.push(`${at}: matches none of ${key}`);
      }
    }
    const type = s.type as string | undefined;
    if (type && !hasType(type, value)) return [...errors, `${at}: expected ${type}`];
    if (Array.isArray(s.enum) && !s.enum.includes(value)) errors.push(`${at}: ${String(value)} not in enum`);
    const namespaced = s['x-namespaced-enum'];
    if (Array.isArray(namespaced) && !namespaced.includes(value))
      errors.push(`${at}: ${String(value)} not in namespaced enum`);
    if (typeof value === 'string') errors.push(...stringErrors(s, value, at));
    if (Array.isArray(value)) {
      if (typeof s.minItems === 'number' && value.length < s.minItems)
        errors.push(`${at}: fewer than ${s.minItems} items`);
      if (typeof s.maxItems === 'number' && value.length > s.maxItems)
        errors.push(`${at}: more than ${s.maxItems} items`);
      if (s.items)
        value.forEach((item, i) => errors.push(...this.validate(s.items as Schema, item, `${at}[${i}]`)));
    } else if (typeof value === 'object' && value !== null) {
      errors.push(...this.objectErrors(s, value as Record<string, unknown>, at));
    }
    return errors;
  }

  private objectErrors(s: Schema, value: Record<string, unknown>, at: string): string[] {
    const errors: string[] = [];
    const properties = (s.properties ?? {}) as Record<string, Schema>;
    for (const name of (s.required ?? []) as string[]) {
      if (!(name in value)) errors.push(`${at}.${name}: required`);
    }
    for (const [name, child] of Object.entries(value)) {
      const property = properties[name];
      if (property) errors.push(...this.validate(property, child, `${at}.${name}`));
      else if (s.additionalProperties === false) errors.push(`${at}.${name}: not allowed`);
    }
    if (typeof s.minProperties === 'number' && Object.keys(value).length < s.minProperties) {
      errors.push(`${at}: fewer than ${s.minProperties} properties`);
    }
    return errors;
  }

  private operation(path: string, method: string): Schema {
    const paths = this.doc.paths as Record<string, Record<string, Schema>>;
    const operation = paths[path]?.[method.toLowerCase()];
    if (!operation) throw new Error(`the spec has no ${method} ${path}`);
    return operation;
  }

  private response(path: string, method: string, status: number): Schema {
    const responses = this.operation(path, method).responses as Record<string, Schema>;
    const response = responses[String(status)];
    if (!response) throw new Error(`the spec has no ${status} for ${method} ${path}`);
    return this.resolve(response);
  }

  private resolve(schema: Schema): Schema {
    let current = schema;
    for (let depth = 0; typeof current.$ref === 'string'; depth++) {
      if (depth > 20) throw new Error(`$ref loop at ${String(current.$ref)}`);
      const segments = (current.$ref as string).replace(/^#\//, '').split('/');
      current = segments.reduce<Schema>((node, key) => node[key] as Schema, this.doc);
    }
    return current;
  }
}

function hasType(type: string, value: unknown): boolean {
  switch (type) {
    case 'object':
      return typeof value === 'object' && value !== null && !Array.isArray(value);
    case 'array':
      return Array.isArray(value);
    case 'integer':
      return Number.isInteger(value);
    case 'number':
      return typeof value === 'number' && Number.isFinite(value);
    default:
      return typeof value === type;
  }
}

function stringErrors(s: Schema, value: string, at: string): string[] {
  const errors: string[] = [];
  if (typeof s.minLength === 'number' && value.length < s.minLength)
    errors.push(`${at}: shorter than ${s.minLength}`);
  if (typeof s.maxLength === 'number' && value.length > s.maxLength)
    errors.push(`${at}: longer than ${s.maxLength}`);
  if (typeof s.pattern === 'string' && !new RegExp(s.pattern).test(value))
    errors.push(`${at}: does not match ${s.pattern}`);
  if (s.format === 'date-time' && !DATE_TIME.test(value))
    errors.push(`${at}: not an RFC 3339 date-time with offset`);
  if (s.format === 'uri' && !URL.canParse(value)) errors.push(`${at}: not a URI`);
  return errors;
}
