import { createHash } from 'node:crypto';
import { readFile } from 'node:fs/promises';
import { describe, expect, it } from 'vitest';
import { loadConfig } from '../../server/config.js';
import { checkManifest, MANIFEST_FORMAT } from '../../server/operation-manifest.js';
import { buildSchema } from '../../server/schema.js';
import { fromRoot } from '../../store/paths.js';

const schema = buildSchema();
const limits = loadConfig({}).limits;
const sha256 = (text: string) => createHash('sha256').update(text).digest('hex');
const entry = (name: string, body: string, type = 'query') => ({ id: sha256(body), name, type, body });
const check = (...operations: unknown[]) =>
  checkManifest(JSON.stringify({ format: MANIFEST_FORMAT, version: 1, operations }), schema, limits);

describe('checkManifest', () => {
  it('accepts operations whose ids are their bodies’ SHA-256 and whose bodies validate', () => {
    const consents = entry('MyConsents', 'query MyConsents { consents { id status } }');
    const fragment = entry(
      'Accounts',
      'query Accounts { accounts { edges { node { ...A } } } } fragment A on Account { id name }',
    );
    expect(check(consents, fragment)).toEqual({ ok: true, operations: [consents, fragment] });
  });

  it("accepts the README's example manifest", async () => {
    const readme = await readFile(fromRoot('README.md'), 'utf8');
    const section = readme.slice(readme.indexOf('### Persisted operations'));
    const example = /```json\n([\s\S]*?)```/.exec(section)![1]!;
    expect(checkManifest(example, schema, limits)).toMatchObject({
      ok: true,
      operations: [{ name: 'MyConsents' }],
    });
  });

  it('reports every problem of every operation at once', () => {
    const deep = `query Deep { accounts { edges { node { ${'transactions { edges { node { account { '.repeat(4)}id${' } } } }'.repeat(4)} } } } }`;
    const result = check(
      { ...entry('A', 'query A { consents { id } }'), id: sha256('something else') },
      entry('B', 'query C { consents { id } }'),
      entry('Two', 'query Two { consents { id } } query Three { consents { id } }'),
      entry('Syntax', 'query Syntax {'),
      entry('Deep', deep),
    );
    expect(result.ok).toBe(false);
    const problems = result.ok ? [] : result.problems;
    expect(problems).toEqual([
      `operations.0 (A): id is not the SHA-256 of its body (that is ${sha256('query A { consents { id } }')})`,
      "operations.1 (B): name is B but the body's operation is C",
      'operations.2 (Two): body must hold exactly one operation (it holds 2)',
      expect.stringMatching(/^operations\.3 \(Syntax\): body does not parse: Syntax Error/),
      `operations.4 (Deep): body does not validate: The query is deeper than ${limits.depth} levels.`,
    ]);
  });

  it('refuses what is not a version 1 Apollo manifest, naming the field', () => {
    expect(checkManifest('[]', schema, limits)).toMatchObject({
      ok: false,
      problems: [expect.stringMatching(/^manifest: /)],
    });
    const wrong = checkManifest(
      JSON.stringify({
        format: MANIFEST_FORMAT,
        version: 2,
        operations: [{ id: 'x', name: 'A', type: 'read', body: '' }],
      }),
      schema,
      limits,
    );
    expect(wrong.ok ? [] : wrong.problems.map((problem) => problem.split(':')[0])).toEqual([
      'version',
      'operations.0.id',
      'operations.0.type',
      'operations.0.body',
    ]);
    expect(checkManifest('{', schema, limits)).toMatchObject({
      ok: false,
      problems: [expect.stringMatching(/^not JSON/)],
    });
  });
});
