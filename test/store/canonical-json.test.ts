import { describe, expect, it } from 'vitest';
import { canonicalJson } from '../../domain/canonical-json.js';

// Pure function, no database: this suite does not run per backend.
describe('canonicalJson', () => {
  it('orders keys at every depth so equal values give equal text', () => {
    const a = canonicalJson({ b: 1, a: { d: [3, { z: 1, y: 2 }], c: 'x' } });
    const b = canonicalJson({ a: { c: 'x', d: [3, { y: 2, z: 1 }] }, b: 1 });
    expect(a).toBe('{"a":{"c":"x","d":[3,{"y":2,"z":1}]},"b":1}');
    expect(b).toBe(a);
  });

  it('follows JSON.stringify for dates and undefined members', () => {
    expect(canonicalJson({ at: new Date(0), gone: undefined, list: [undefined, null] })).toBe(
      '{"at":"1970-01-01T00:00:00.000Z","list":[null,null]}',
    );
  });

  it.each([[1n], [Number.NaN], [Number.POSITIVE_INFINITY], [undefined]])(
    'refuses %s rather than changing it',
    (value) => {
      expect(() => canonicalJson(value)).toThrow(TypeError);
    },
  );
});
