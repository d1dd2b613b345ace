/**
 * The import rule of eslint.config.js bites: upward imports, development folders and partner folders are
 * reported by `no-restricted-imports`, type-only imports included; downward and sideways imports are not.
 *
 * The probes are linted with `lintText` under the paths of files that do not exist (`store/probe.ts`),
 * so the repository's config picks the blocks for that path without a file being written. Type-aware
 * linting cannot take such paths: the project service refuses a file that no tsconfig contains ("was not
 * found by the project service"). So this ESLint instance adds typescript-eslint's `disableTypeChecked`
 * on top of the repository config (no project service, type-aware rules off); `no-restricted-imports`
 * needs no type information, so what it reports here is what `eslint .` reports.
 */
import { ESLint } from 'eslint';
import tseslint from 'typescript-eslint';
import { beforeAll, describe, expect, it } from 'vitest';
import { DEV_FOLDERS, FLOORS, ROOT, partnerNames } from './layout.js';

const RULE = 'no-restricted-imports';

let eslint: ESLint;
beforeAll(() => {
  eslint = new ESLint({ cwd: ROOT, overrideConfig: [tseslint.configs.disableTypeChecked] });
});

/** The rule's messages for `code` linted as `filePath`; fails on a parse error (which would hide them). */
async function restricted(filePath: string, code: string): Promise<string[]> {
  const [result] = await eslint.lintText(`${code}\nexport {};\n`, { filePath });
  expect(result, `no lint result for ${filePath}`).toBeDefined();
  // A parse error or an ignored path would leave the rule silent: neither may pass for "allowed".
  const broken = result!.messages.filter((message) => message.fatal || message.ruleId === null);
  expect(
    broken.map((message) => message.message),
    `${filePath} was not linted`,
  ).toEqual([]);
  return result!.messages.filter((message) => message.ruleId === RULE).map((message) => message.message);
}

/** Asserts one report of the rule for the probe, mentioning `why`. */
async function expectRestricted(filePath: string, code: string, why: string | RegExp) {
  const messages = await restricted(filePath, code);
  expect(messages, `${filePath}: ${code}`).toHaveLength(1);
  expect(messages[0]).toMatch(why);
}

async function expectAllowed(filePath: string, code: string) {
  expect(await restricted(filePath, code), `${filePath}: ${code}`).toEqual([]);
}

describe('the import rule reports', () => {
  it('an upward import from store/ into server/ (one and two folders deep)', async () => {
    await expectRestricted(
      'store/probe.ts',
      `import { loadConfig } from '../server/config.js';`,
      /composition root/,
    );
    await expectRestricted(
      'store/sub/probe.ts',
      `import { wire } from '../../server/wiring.js';`,
      'server/ is the composition root',
    );
  });

  it('datasources/ importing services/', async () => {
    await expectRestricted(
      'datasources/probe.ts',
      `import { initiatePayment } from '../services/payments/index.js';`,
      'datasources/ is below services/: pass what you need in as an argument',
    );
  });

  it('resolvers/ importing server/', async () => {
    await expectRestricted(
      'resolvers/probe.ts',
      `import { buildApp } from '../server/app.js';`,
      'composition root',
    );
    await expectRestricted(
      'resolvers/support/probe.ts',
      `import { logger } from '../../server/logger.js';`,
      'composition root',
    );
  });

  it('domain/ importing store/', async () => {
    await expectRestricted(
      'domain/probe.ts',
      `import { openDb } from '../store/db.js';`,
      'domain/ is below store/',
    );
  });

  it('product code importing sandboxes/, cli/, test/ and bench/', async () => {
    await expectRestricted(
      'services/probe.ts',
      `import { startSandboxes } from '../sandboxes/index.js';`,
      /sandboxes\//,
    );
    await expectRestricted(
      'server/probe.ts',
      `import { main } from '../cli/main.js';`,
      /cli\/ is the `tributary` command/,
    );
    await expectRestricted(
      'store/probe.ts',
      `import { testBackends } from '../test/helpers/db.js';`,
      /test suite/,
    );
    await expectRestricted('datasources/probe.ts', `import { run } from '../bench/run.js';`, /bench\//);
    await expectRestricted(
      'services/payments/probe.ts',
      `import type { Sandbox } from '../../sandboxes/kit/sandbox.js';`,
      /never imports it/,
    );
  });

  it('type-only imports and re-exports from a higher floor', async () => {
    await expectRestricted(
      'directives/probe.ts',
      `import type { RequestContext } from '../resolvers/context.js';`,
      'directives/ is below resolvers/',
    );
    await expectRestricted(
      'store/probe.ts',
      `import { type Config } from '../server/config.js';`,
      'composition root',
    );
    await expectRestricted(
      'domain/probe.ts',
      `export type { Db } from '../store/db.js';`,
      'domain/ is below store/',
    );
    await expectRestricted(
      'services/probe.ts',
      `export * from '../resolvers/index.js';`,
      'services/ is below resolvers/',
    );
  });

  it('a partner folder importing another partner', async () => {
    await expectRestricted(
      'datasources/plaid/probe.ts',
      `import { stripe } from '../stripe/index.js';`,
      "datasources/plaid/ must not import another partner's folder",
    );
    await expectRestricted(
      'datasources/stripe/probe.ts',
      `import type { PlaidItem } from '../../datasources/plaid/types.js';`,
      "datasources/stripe/ must not import another partner's folder",
    );
  });

  it('product code outside datasources/ importing a partner folder', async () => {
    await expectRestricted(
      'services/probe.ts',
      `import { stripe } from '../datasources/stripe/index.js';`,
      "A partner's folder stays behind the module list",
    );
    await expectRestricted(
      'resolvers/support/probe.ts',
      `import type { ObAccount } from '../../datasources/openbanking/types.js';`,
      "A partner's folder stays behind the module list",
    );
    await expectRestricted(
      'server/probe.ts',
      `import { plaid } from '../datasources/plaid/index.js';`,
      "A partner's folder stays behind the module list",
    );
  });

  it('datasources/ files other than the module list importing a partner folder', async () => {
    await expectRestricted(
      'datasources/probe.ts',
      `import { stripe } from './stripe/index.js';`,
      /Only the module list/,
    );
    await expectRestricted(
      'datasources/modules.ts',
      `import { StripeClient } from './stripe/client.js';`,
      /only through its index\.ts/,
    );
  });

  it('the development folders importing what they may not', async () => {
    await expectRestricted(
      'cli/probe.ts',
      `import { testBackends } from '../test/helpers/db.js';`,
      /test suite/,
    );
    await expectRestricted('cli/probe.ts', `import { run } from '../bench/run.js';`, /bench\//);
    await expectRestricted('sandboxes/stripe/probe.ts', `import { main } from '../../cli/main.js';`, /cli\//);
  });

  // Every pair of floors, both ways, straight from the table of DESIGN.md §4.
  const pairs = FLOORS.flatMap((from, low) => FLOORS.map((to, high) => ({ from, to, up: high > low })));

  it.each(pairs.filter((pair) => pair.up))('$from/ importing $to/', async ({ from, to }) => {
    await expectRestricted(`${from}/probe.ts`, `import { x } from '../${to}/x.js';`, `${to}/`);
    await expectRestricted(`${from}/a/b/probe.ts`, `import type { X } from '../../../${to}/x.js';`, `${to}/`);
  });

  it.each(FLOORS.flatMap((from) => DEV_FOLDERS.map((to) => ({ from, to }))))(
    '$from/ importing $to/',
    async ({ from, to }) => {
      await expectRestricted(`${from}/probe.ts`, `import { x } from '../${to}/x.js';`, `${to}/`);
    },
  );
});

describe('the import rule allows', () => {
  const pairs = FLOORS.flatMap((from, low) => FLOORS.map((to, high) => ({ from, to, up: high > low })));

  it.each(pairs.filter((pair) => !pair.up))(
    '$from/ importing $to/ (down or sideways)',
    async ({ from, to }) => {
      await expectAllowed(
        `${from}/probe.ts`,
        `import { x } from '../${to}/x.js';\nimport type { Y } from './y.js';`,
      );
      await expectAllowed(`${from}/a/probe.ts`, `import type { X } from '../../${to}/x.js';`);
    },
  );

  it('imports inside one floor', async () => {
    await expectAllowed(
      'services/payments/probe.ts',
      `import { intake } from '../webhooks/intake.js';\nimport { runner } from './runner.js';`,
    );
    await expectAllowed('resolvers/support/probe.ts', `import { loaders } from '../loaders.js';`);
  });

  it('the module list importing each partner index.ts', async () => {
    const partners = partnerNames();
    expect(partners.length).toBeGreaterThan(0);
    for (const partner of partners) {
      await expectAllowed('datasources/modules.ts', `import { module } from './${partner}/index.js';`);
    }
  });

  it('a partner folder importing its own files and the floors below', async () => {
    await expectAllowed(
      'datasources/stripe/probe.ts',
      [
        `import { StripeClient } from './client.js';`,
        `import { partnerHttp } from '../http.js';`,
        `import type { Db } from '../../store/db.js';`,
        `import type { Money } from '../../domain/money.js';`,
      ].join('\n'),
    );
  });

  it('npm packages and files whose names look like folders', async () => {
    await expectAllowed(
      'domain/probe.ts',
      [
        `import { ApolloServerErrorCode } from '@apollo/server/errors';`,
        `import type { GraphQLDataSource } from '@apollo/gateway/dist/datasources/types.js';`,
        `import { test } from 'node:test';`,
        `import Stripe from 'stripe';`,
      ].join('\n'),
    );
    await expectAllowed('services/webhooks/probe.ts', `import { sandboxHooks } from './sandboxes.js';`);
    await expectAllowed('datasources/plaid/probe.ts', `import { PlaidStore } from './store.js';`);
  });

  it('the development folders importing product code', async () => {
    await expectAllowed(
      'cli/probe.ts',
      `import { main } from '../server/main.js';\nimport '../sandboxes/index.js';`,
    );
    await expectAllowed(
      'sandboxes/stripe/probe.ts',
      `import { x } from '../../server/config.js';\nimport type { W } from '../../datasources/stripe/types.js';`,
    );
  });
});
