import { defineConfig } from 'vitest/config';

export default defineConfig({
  resolve: {
    // graphql 16 ships CJS (main) and ESM (module) builds; Node resolves `graphql` to CJS, and so do
    // Apollo's packages. Vite would pick the ESM build for our sources: two copies of graphql in one
    // process break `instanceof` checks. Pin our imports to the copy Node itself loads.
    alias: [{ find: /^graphql$/, replacement: 'graphql/index.js' }],
  },
  test: {
    include: ['test/**/*.test.ts'],
    // Says once, at the end, when the partner-spec suites skipped for want of ../shared/partner-specs.
    globalSetup: ['test/global-setup.ts'],
    environment: 'node',
    testTimeout: 30_000,
    hookTimeout: 60_000,
    pool: 'forks',
    // Several suites start loopback servers and databases; two cores do not gain from more.
    maxWorkers: 2,
  },
});
