/**
 * Canonical JSON: object keys in code-unit order at every depth, no whitespace. The same value always
 * gives the same bytes, which is what a digest over JSON needs (audit chain, request fingerprints).
 */

/**
 * Serialises a JSON value canonically. Follows JSON.stringify for `toJSON` (Dates become ISO strings)
 * and for undefined members (dropped in objects, null in arrays); refuses values JSON cannot carry
 * exactly (bigint, NaN, Infinity) instead of silently changing them.
 */
export function canonicalJson(value: unknown): string {
  const text = encode(value);
  if (text === undefined) throw new TypeError('canonicalJson: the value has no JSON form.');
  return text;
}

function encode(value: unknown): string | undefined {
  if (value === null) return 'null';
  switch (typeof value) {
    case 'string':
    case 'boolean':
      return JSON.stringify(value);
    case 'number':
      if (!Number.isFinite(value)) throw new TypeError(`canonicalJson: ${value} has no JSON form.`);
      return JSON.stringify(value);
    case 'bigint':
      throw new TypeError('canonicalJson: convert bigint values to strings first.');
    case 'undefined':
    case 'function':
    case 'symbol':
      return undefined;
    case 'object':
      break;
  }
  const withToJson = value as { toJSON?: () => unknown };
  if (typeof withToJson.toJSON === 'function') return encode(withToJson.toJSON());
  if (Array.isArray(value)) {
    return `[${value.map((item) => encode(item) ?? 'null').join(',')}]`;
  }
  const members: string[] = [];
  for (const key of Object.keys(value as object).sort()) {
    const encoded = encode((value as Record<string, unknown>)[key]);
    if (encoded !== undefined) members.push(`${JSON.stringify(key)}:${encoded}`);
  }
  return `{${members.join(',')}}`;
}
