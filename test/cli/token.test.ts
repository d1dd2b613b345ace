import { mkdtemp, readdir, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { MAX_TOKEN_TTL_SECONDS, parseTtl } from '../../cli/token.js';
import { cliEnv, runCli } from '../helpers/cli.js';

describe('tributary token --ttl', () => {
  it.each([
    ['3600', 3600],
    ['90s', 90],
    ['15m', 900],
    ['12h', 43_200],
    ['7d', 604_800],
    [' 60 ', 60],
  ])('reads %j as %i seconds', (text, seconds) => {
    expect(parseTtl(text)).toEqual({ seconds });
  });

  it.each(['0', '-5', 'abc', '1.5', '10y', '', '1e3', 'NaN'])(
    'refuses %j with a message, not a token',
    (text) => {
      expect(parseTtl(text)).toEqual({ problem: expect.stringContaining('--ttl') });
    },
  );

  it('refuses lifetimes beyond 30 days', () => {
    expect(parseTtl(String(MAX_TOKEN_TTL_SECONDS))).toEqual({ seconds: MAX_TOKEN_TTL_SECONDS });
    expect(parseTtl('31d')).toEqual({ problem: expect.stringContaining('30 days') });
    expect(parseTtl('3650d')).toEqual({ problem: expect.stringContaining('30 days') });
  });
});

describe('tributary token and the data directory', () => {
  it('refuses, naming the data directory, when no server has made a signing key there (and makes none)', async () => {
    const dataDir = await mkdtemp(join(tmpdir(), 'tributary-token-'));
    try {
      const result = await runCli(['token', '--subject', 'cust_bob'], cliEnv(dataDir));
      expect(result.code).toBe(2);
      expect(result.stdout).toBe('');
      expect(result.stderr).toContain(
        `No development signing key in ${dataDir} (TRIBUTARY_DATA_DIR=${dataDir})`,
      );
      expect(result.stderr).toContain('npm start prints the exact command');
      expect(await readdir(dataDir)).toEqual([]);
    } finally {
      await rm(dataDir, { recursive: true, force: true });
    }
  }, 60_000);
});
