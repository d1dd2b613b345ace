/**
 * `npm run schema:check`: composition with the neighbour subgraphs, the breaking-change diff against
 * schema/published.graphql, the deprecation policy and lint; one line per problem, exit 1 on any error.
 * `npm run schema:publish` runs the same checks and, when they pass, writes the new snapshot.
 *
 * Options: `--publish`; `--root <dir>` to check another checkout (tests use it); `--today YYYY-MM-DD`.
 */
import { parseArgs } from 'node:util';
import { formatReport, renderSnapshot, runSchemaChecks } from '../schema/tooling/check.js';
import { loadSchemaFiles, writePublished } from '../schema/tooling/inputs.js';
import { PROJECT_ROOT } from '../store/paths.js';

const { values } = parseArgs({
  options: {
    publish: { type: 'boolean', default: false },
    root: { type: 'string' },
    today: { type: 'string' },
  },
});

const root = values.root ?? PROJECT_ROOT;
const files = loadSchemaFiles(root);
const report = await runSchemaChecks({
  ...files,
  mode: values.publish ? 'publish' : 'check',
  ...(values.today ? { today: values.today } : {}),
});

process.stdout.write(`${formatReport(report)}\n`);
if (!report.ok) {
  if (values.publish) process.stdout.write('Nothing published: fix the errors above first.\n');
  process.exit(1);
}
if (values.publish) {
  writePublished(root, renderSnapshot(files.sdl));
  process.stdout.write('Published schema/published.graphql and emptied schema/intended-changes.json.\n');
}
