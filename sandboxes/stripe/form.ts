/**
 * Stripe's parameter encoding: application/x-www-form-urlencoded bodies (and query strings) with
 * bracketed keys, `metadata[order]=42`, `expand[0]=latest_charge`, `expand[]=...`. Decoded into plain
 * nested values, then read with Stripe's own validation messages ("Invalid integer: abc",
 * "Received unknown parameter: foo").
 */
import { invalidRequest } from './errors.js';

/** A decoded parameter: a string, or nested hashes and arrays of them. */
export type FormValue = string | FormValue[] | { [key: string]: FormValue };
/** A request's decoded parameters. */
export type FormParams = Record<string, FormValue>;

type Node = Map<string, Node | string>;

/** Keys that would reach Object.prototype if they were ever spread into an object. */
const FORBIDDEN = new Set(['__proto__', 'prototype', 'constructor']);

/** Decodes bracketed form keys into nested objects and arrays (numeric or empty brackets). */
export function decodeForm(pairs: URLSearchParams): FormParams {
  const root: Node = new Map();
  for (const [key, value] of pairs) {
    const path = splitKey(key);
    let node = root;
    for (const [index, segment] of path.entries()) {
      const name = segment === '' ? String(node.size) : segment;
      if (FORBIDDEN.has(name)) throw invalidRequest(`Invalid parameter name: ${key}`, key);
      if (index === path.length - 1) {
        if (node.get(name) instanceof Map) throw invalidRequest(`Invalid hash`, path[0]);
        node.set(name, value);
        break;
      }
      const next = node.get(name);
      if (typeof next === 'string') throw invalidRequest(`Invalid hash`, path[0]);
      const child = next ?? new Map<string, Node | string>();
      node.set(name, child);
      node = child;
    }
  }
  return toPlain(root) as FormParams;
}

function splitKey(key: string): string[] {
  const open = key.indexOf('[');
  if (open <= 0 || !key.endsWith(']')) return [key];
  const head = key.slice(0, open);
  const rest = key.slice(open + 1, -1).split('][');
  return [head, ...rest];
}

function toPlain(node: Node): FormValue {
  const keys = [...node.keys()];
  const values = keys.map((key) => {
    const value = node.get(key) as Node | string;
    return typeof value === 'string' ? value : toPlain(value);
  });
  if (keys.length > 0 && keys.every((key) => /^\d+$/.test(key))) {
    return keys
      .map((key, index) => [Number(key), values[index] as FormValue] as const)
      .sort(([a], [b]) => a - b)
      .map(([, value]) => value);
  }
  const out: { [key: string]: FormValue } = {};
  keys.forEach((key, index) => {
    out[key] = values[index] as FormValue;
  });
  return out;
}

/** Rejects parameters the endpoint does not know, as Stripe does. */
export function allowOnly(params: FormParams, allowed: readonly string[]): void {
  for (const key of Object.keys(params)) {
    if (!allowed.includes(key))
      throw invalidRequest(`Received unknown parameter: ${key}`, key, 'parameter_unknown');
  }
}

/** An optional string parameter; '' counts as absent (Stripe's way of unsetting). */
export function optionalString(params: FormParams, name: string): string | undefined {
  const value = params[name];
  if (value === undefined || value === '') return undefined;
  if (typeof value !== 'string') throw invalidRequest(`Invalid string: ${JSON.stringify(value)}`, name);
  return value;
}

/** A required string parameter; 400 parameter_missing when absent. */
export function requiredString(params: FormParams, name: string): string {
  const value = optionalString(params, name);
  if (value === undefined)
    throw invalidRequest(`Missing required param: ${name}.`, name, 'parameter_missing');
  return value;
}

/** An optional non-negative integer parameter. */
export function optionalInteger(params: FormParams, name: string): number | undefined {
  const value = optionalString(params, name);
  if (value === undefined) return undefined;
  if (!/^\d{1,15}$/.test(value))
    throw invalidRequest(`Invalid integer: ${value}`, name, 'parameter_invalid_integer');
  return Number(value);
}

/** An optional boolean parameter ('true' / 'false'). */
export function optionalBoolean(params: FormParams, name: string): boolean | undefined {
  const value = optionalString(params, name);
  if (value === undefined) return undefined;
  if (value !== 'true' && value !== 'false') throw invalidRequest(`Invalid boolean: ${value}`, name);
  return value === 'true';
}

/** `metadata[k]=v`: at most 50 keys, keys up to 40 and values up to 500 characters. */
export function metadataParam(params: FormParams, name = 'metadata'): Record<string, string> | undefined {
  const value = params[name];
  if (value === undefined || value === '') return undefined;
  if (typeof value !== 'object' || Array.isArray(value)) throw invalidRequest('Invalid hash', name);
  const entries = Object.entries(value);
  if (entries.length > 50) throw invalidRequest('Metadata can have at most 50 keys.', name);
  const out: Record<string, string> = {};
  for (const [key, item] of entries) {
    if (typeof item !== 'string') throw invalidRequest('Invalid hash', `${name}[${key}]`);
    if (key.length > 40)
      throw invalidRequest('Metadata keys can be at most 40 characters long.', `${name}[${key}]`);
    if (item.length > 500)
      throw invalidRequest('Metadata values can be at most 500 characters long.', `${name}[${key}]`);
    out[key] = item;
  }
  return out;
}

/** A string array parameter (`expand[0]=a&expand[1]=b`). */
export function stringArray(params: FormParams, name: string): string[] {
  const value = params[name];
  if (value === undefined || value === '') return [];
  if (!Array.isArray(value) || value.some((item) => typeof item !== 'string')) {
    throw invalidRequest('Invalid array', name);
  }
  return value as string[];
}

/** Canonical JSON (sorted keys) of the decoded parameters: what idempotency compares. */
export function fingerprint(params: FormParams): string {
  return JSON.stringify(sortKeys(params));
}

function sortKeys(value: FormValue): FormValue {
  if (typeof value === 'string') return value;
  if (Array.isArray(value)) return value.map(sortKeys);
  const out: { [key: string]: FormValue } = {};
  for (const key of Object.keys(value).sort()) out[key] = sortKeys(value[key] as FormValue);
  return out;
}
