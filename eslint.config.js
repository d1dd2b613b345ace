// @ts-check
import { existsSync, readdirSync } from 'node:fs';
import { join } from 'node:path';
import js from '@eslint/js';
import tseslint from 'typescript-eslint';

/*
 * Imports go down the floors (docs: DESIGN.md §4). The table below is the whole rule; the
 * `no-restricted-imports` blocks further down are generated from it. A file may import its own floor
 * and the floors below it, never a higher one. Type imports count too (the core rule reports
 * `import type` / `export type ... from` unless `allowTypeImports` is set, and we do not set it): the
 * point is that nothing below server/ depends on it and that there are no cycles.
 *
 * Dynamic `import()` and `typeof import()` are not seen by `no-restricted-imports`; the import-graph test
 * (test/architecture/imports.test.ts) resolves every specifier, those included.
 */
const FLOORS = [
  'domain', //      1. the ground floor: imports nothing of ours (node builtins and npm packages only)
  'store', //       2. may import domain
  'datasources', // 3. may import domain, store; one folder per partner, listed by datasources/modules.ts
  'directives', //  4. may import domain, store, datasources
  'services', //    5. may import the floors below
  'resolvers', //   6. may import the floors below
  'server', //      7. the composition root: nothing in product code imports it
];

/** Development folders: never imported by product code. `mayNotImport` restricts their own imports. */
const DEV_FOLDERS = {
  sandboxes: {
    is: 'development only (local partner simulators, wired in by cli/)',
    mayNotImport: ['cli', 'bench', 'test'],
  },
  cli: { is: 'the `tributary` command and the development wiring', mayNotImport: ['bench', 'test'] },
  bench: { is: 'benchmark scenarios and their runner', mayNotImport: [] },
  test: { is: 'the test suite', mayNotImport: [] },
};

/** Partner folders: datasources/<partner>/ with an index.ts (its PartnerModule), so a new partner is covered. */
const PARTNERS = readdirSync(join(import.meta.dirname, 'datasources'), { withFileTypes: true })
  .filter(
    (entry) =>
      entry.isDirectory() && existsSync(join(import.meta.dirname, 'datasources', entry.name, 'index.ts')),
  )
  .map((entry) => entry.name)
  .sort();

/**
 * Relative specifiers that pass through a folder named `folder` ('../server/config.js',
 * '../../server/wiring.js', './x/../server/a.js'). Relative only, on purpose: `**\/server/**` would also
 * match npm specifiers such as '@apollo/server/errors' (and `**\/datasources/**` '@apollo/gateway/dist/
 * datasources/...'); `../server/*` would miss '../../server/wiring.js'. Folder names are matched as whole
 * path segments, so '../sandboxes/stripe/server.js' or './sandboxes.js' are not taken for a folder.
 */
const through = (folder) => [`./**/${folder}/**`, `../**/${folder}/**`];

const floorAbove = (floor) => FLOORS.slice(FLOORS.indexOf(floor) + 1);

/** A lower floor importing a higher one. */
const upward = (from, to) => ({
  group: through(to),
  caseSensitive: true,
  message:
    to === 'server'
      ? `server/ is the composition root: nothing in product code imports it. Let server/ pass what ${from}/ ` +
        'needs (config, logger, metrics…) in as an argument.'
      : `${from}/ is below ${to}/: pass what you need in as an argument, or move the shared piece down to ` +
        `${from}/ or lower. Imports go down the floors (DESIGN.md §4), type imports included.`,
});

/** Anyone importing a development folder it may not import. */
const devFolder = (from, to) => ({
  group: through(to),
  caseSensitive: true,
  message: `${to}/ is ${DEV_FOLDERS[to].is}: ${from}/ never imports it (type imports included).`,
});

const PARTNER_MESSAGE =
  "A partner's folder stays behind the module list: outside datasources/, use the registry " +
  '(datasources/registry.ts), loaders/services, or the capability interfaces in domain/.';

/** Floors above datasources/ importing a partner folder. */
const partnerFromOutside = {
  group: PARTNERS.flatMap((partner) => through(`datasources/${partner}`)),
  caseSensitive: true,
  message: PARTNER_MESSAGE,
};

/** The top-level files of datasources/ importing a partner folder (only the module list may). */
const partnerFromDatasources = {
  group: PARTNERS.flatMap((partner) => [`./${partner}/**`, `../**/datasources/${partner}/**`]),
  caseSensitive: true,
  message:
    "Only the module list (datasources/modules.ts) imports a partner's folder; the rest of datasources/ " +
    'reaches the partners through it (registry.ts).',
};

/** The module list imports a partner through its index.ts (the PartnerModule), nothing deeper. */
const partnerFromModuleList = {
  group: PARTNERS.flatMap((partner) => [
    `./${partner}/**`,
    `!./${partner}/index.js`,
    `../**/datasources/${partner}/**`,
    `!../**/datasources/${partner}/index.js`,
  ]),
  caseSensitive: true,
  message: "The module list imports a partner only through its index.ts (the partner's PartnerModule).",
};

/** A partner folder importing another partner's folder. */
const otherPartner = (partner) => ({
  group: PARTNERS.filter((other) => other !== partner).flatMap((other) => [
    `../${other}/**`,
    `../**/datasources/${other}/**`,
  ]),
  caseSensitive: true,
  message:
    `datasources/${partner}/ must not import another partner's folder: partners are independent. Move ` +
    'the shared piece to datasources/ (http.ts, resilience.ts, …) or domain/.',
});

/** What a product floor may not import: the floors above it, the development folders, partner folders. */
const floorPatterns = (floor) => [
  ...floorAbove(floor).map((to) => upward(floor, to)),
  ...Object.keys(DEV_FOLDERS).map((to) => devFolder(floor, to)),
];

const restrict = (name, files, patterns) => ({
  name: `tributary/imports/${name}`,
  files,
  rules: { 'no-restricted-imports': ['error', { patterns }] },
});

const datasourcesLevel = FLOORS.indexOf('datasources');

const importRules = [
  // One block per floor. Flat config replaces (does not merge) a rule's options when several blocks
  // match a file, so every block below carries the complete pattern list for the files it matches.
  ...FLOORS.map((floor, level) =>
    restrict(
      floor,
      [`${floor}/**/*.ts`],
      [...floorPatterns(floor), ...(level > datasourcesLevel ? [partnerFromOutside] : [])],
    ),
  ),
  restrict(
    'datasources-top-level',
    ['datasources/*.ts'],
    [...floorPatterns('datasources'), partnerFromDatasources],
  ),
  restrict(
    'datasources-module-list',
    ['datasources/modules.ts'],
    [...floorPatterns('datasources'), partnerFromModuleList],
  ),
  ...PARTNERS.map((partner) =>
    restrict(
      `datasources-${partner}`,
      [`datasources/${partner}/**/*.ts`],
      [...floorPatterns('datasources'), otherPartner(partner)],
    ),
  ),
  // Development folders: they may import product code, but not each other's forbidden folders.
  ...Object.entries(DEV_FOLDERS)
    .filter(([, { mayNotImport }]) => mayNotImport.length > 0)
    .map(([folder, { mayNotImport }]) =>
      restrict(
        folder,
        [`${folder}/**/*.ts`],
        mayNotImport.map((to) => devFolder(folder, to)),
      ),
    ),
];

export default tseslint.config(
  {
    ignores: ['node_modules/', 'dist/', '.data/', 'coverage/', 'resolvers/__generated__/', 'bench/results/'],
  },
  js.configs.recommended,
  ...tseslint.configs.recommended,
  {
    files: ['**/*.ts'],
    languageOptions: {
      parserOptions: { projectService: true, tsconfigRootDir: import.meta.dirname },
    },
    rules: {
      '@typescript-eslint/no-floating-promises': 'error',
      '@typescript-eslint/consistent-type-imports': 'error',
      '@typescript-eslint/no-unused-vars': ['error', { argsIgnorePattern: '^_', varsIgnorePattern: '^_' }],
      'no-process-env': 'error',
    },
  },
  {
    // Only the config module reads the environment; tests, CLI, benchmarks and the router examples of
    // docs/routers/ (their own processes) pass it in explicitly.
    files: [
      'server/config.ts',
      'test/**',
      'bench/**',
      'cli/**',
      'scripts/**',
      'docs/routers/**',
      'vitest.config.ts',
    ],
    rules: { 'no-process-env': 'off' },
  },
  // Imports go down the floors; product code never imports sandboxes/, cli/, bench/, test/; partner
  // folders stay behind the module list. (This includes the former resolvers-only rule: resolvers use
  // loaders and services, partner folders stay behind the registry.)
  ...importRules,
  {
    files: ['**/*.js', '**/*.mjs'],
    languageOptions: { globals: { process: 'readonly', console: 'readonly', URL: 'readonly' } },
  },
);
