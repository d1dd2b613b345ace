#!/usr/bin/env node
/**
 * `npm run codegen:check`: fails when the committed generated types differ from what `npm run codegen`
 * would write now. Generation runs in memory (nothing on disk changes); each output is formatted with the
 * project's Prettier options, exactly as the codegen hook formats the written file, and then compared.
 */
import { readFile } from 'node:fs/promises';
import { resolve } from 'node:path';
import { generate, loadCodegenConfig } from '@graphql-codegen/cli';
import * as prettier from 'prettier';

const root = process.cwd();
const { config } = await loadCodegenConfig({ configFilePath: resolve(root, 'codegen.ts') });

// Without hooks: they only run after writing files, and this run writes none.
const outputs = await generate({ ...config, hooks: {}, silent: true, cwd: root }, false);

const stale = [];
for (const { filename, content } of outputs) {
  const path = resolve(root, filename);
  const options = (await prettier.resolveConfig(path)) ?? {};
  const expected = await prettier.format(content, { ...options, filepath: path });
  const committed = await readFile(path, 'utf8').catch(() => null);
  if (committed === null) stale.push(`${filename}: missing`);
  else if (committed !== expected) stale.push(`${filename}: ${describeDifference(committed, expected)}`);
}

if (stale.length > 0) {
  console.error('codegen:check failed: the generated files do not match schema/*.graphql and codegen.ts.');
  for (const line of stale) console.error(`  - ${line}`);
  console.error('Run `npm run codegen` and commit the result.');
  process.exit(1);
}
console.log(`codegen:check passed: ${outputs.length} generated file(s) up to date.`);

/** Names the first differing line, so the message points at the change without a full diff. */
function describeDifference(committed, expected) {
  const a = committed.split('\n');
  const b = expected.split('\n');
  const line = a.findIndex((text, index) => text !== b[index]);
  const at = line === -1 ? b.length : line;
  return `differs from line ${at + 1} (committed: ${JSON.stringify(a[at] ?? '<end of file>')}, expected: ${JSON.stringify(b[at] ?? '<end of file>')})`;
}
