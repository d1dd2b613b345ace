import { readFileSync } from 'node:fs';
import { assertEnumType, buildSchema } from 'graphql';
import { describe, expect, it } from 'vitest';
import { PARTNER_MODULES, PARTNER_NAMES } from '../../datasources/modules.js';
import { resolvers } from '../../resolvers/index.js';
import { fromRoot } from '../../store/paths.js';

/** The values of the SDL's `Provider` enum, read from the schema file the graph serves. */
function sdlProviders(): string[] {
  const sdl = readFileSync(fromRoot('schema', 'common.graphql'), 'utf8');
  const body = /enum Provider\b[^{]*\{[^}]*\}/.exec(sdl)?.[0];
  if (!body) throw new Error('no enum Provider in schema/common.graphql');
  const schema = buildSchema(`${body.replace(/@tag\([^)]*\)/g, '')}\ntype Query { p: Provider }`);
  return assertEnumType(schema.getType('Provider'))
    .getValues()
    .map((value) => value.name);
}

describe('the Provider enum and the module list', () => {
  it('has one SDL value per partner module, its name in upper case, and nothing else', () => {
    expect(sdlProviders().sort()).toEqual(PARTNER_NAMES.map((name) => name.toUpperCase()).sort());
  });

  it('maps every SDL value to the canonical lower-case name in the resolver map', () => {
    expect(resolvers.Provider).toEqual(Object.fromEntries(PARTNER_NAMES.map((n) => [n.toUpperCase(), n])));
  });

  it('holds modules with unique names whose variables all carry the partner prefix', () => {
    expect(new Set(PARTNER_NAMES).size).toBe(PARTNER_NAMES.length);
    for (const module of PARTNER_MODULES) {
      expect(module.name).toMatch(/^[a-z][a-z0-9]*$/);
      for (const variable of Object.keys(module.env.schema.shape))
        expect(variable.startsWith(`${module.name.toUpperCase()}_`), variable).toBe(true);
    }
  });
});
