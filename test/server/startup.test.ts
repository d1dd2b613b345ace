/**
 * Production refuses to start without real authentication or without the router secret: the CLI
 * (what operators run) exits before listening, and the app refuses even a hand-built config.
 */
import { spawn } from 'node:child_process';
import pino from 'pino';
import { describe, expect, it, vi } from 'vitest';
import { runStart } from '../../cli/start.js';
import { runToken } from '../../cli/token.js';
import { buildApp } from '../../server/app.js';
import { loadConfig, type Config } from '../../server/config.js';
import { fromRoot } from '../../store/paths.js';
import type { Services } from '../../server/wiring.js';

/** Every production setting, real-looking; no process is ever reached (config is checked first). */
const PRODUCTION: Record<string, string> = {
  NODE_ENV: 'production',
  PORT: '0',
  LOG_LEVEL: 'silent',
  DATABASE_URL: 'postgres://db.invalid:5432/tributary',
  AUTH_JWKS_URL: 'https://id.invalid/.well-known/jwks.json',
  AUTH_ISSUER: 'https://id.invalid/',
  AUTH_AUDIENCE: 'tributary',
  ROUTER_SECRET: 'r'.repeat(40),
  SECRETS_KEY: `k1:${Buffer.alloc(32, 3).toString('base64')}`,
  PLAID_BASE_URL: 'https://plaid.invalid',
  PLAID_CLIENT_ID: 'client',
  PLAID_SECRET: 'secret',
};

function without(...names: string[]): Record<string, string> {
  return Object.fromEntries(Object.entries(PRODUCTION).filter(([name]) => !names.includes(name)));
}

/** Runs the tributary CLI from source with exactly this environment (plus PATH). */
function cli(
  args: string[],
  env: Record<string, string>,
): Promise<{ code: number | null; stdout: string; stderr: string }> {
  return new Promise((resolve, reject) => {
    const child = spawn(process.execPath, ['--import', 'tsx', fromRoot('cli', 'main.ts'), ...args], {
      cwd: fromRoot(),
      env: { PATH: process.env.PATH ?? '', ...env },
    });
    let stdout = '';
    let stderr = '';
    child.stdout.on('data', (chunk: Buffer) => (stdout += chunk.toString()));
    child.stderr.on('data', (chunk: Buffer) => (stderr += chunk.toString()));
    const timer = setTimeout(() => child.kill('SIGKILL'), 85_000);
    child.on('error', reject);
    child.on('close', (code) => {
      clearTimeout(timer);
      resolve({ code, stdout, stderr });
    });
  });
}

/** Runs a CLI command in this process with exactly `env` as the environment; resolves to exit code and stderr. */
async function inProcess(run: () => Promise<void>, env: Record<string, string>) {
  for (const name of new Set([...Object.keys(PRODUCTION), ...Object.keys(env)])) vi.stubEnv(name, env[name]);
  let stderr = '';
  const write = vi.spyOn(process.stderr, 'write').mockImplementation((chunk) => {
    stderr += String(chunk);
    return true;
  });
  const exit = vi.spyOn(process, 'exit').mockImplementation((code) => {
    throw new Exited(Number(code));
  });
  try {
    await run();
    return { code: null as number | null, stderr };
  } catch (error) {
    if (error instanceof Exited) return { code: error.code, stderr };
    throw error;
  } finally {
    write.mockRestore();
    exit.mockRestore();
    vi.unstubAllEnvs();
  }
}

class Exited extends Error {
  constructor(readonly code: number) {
    super(`exit ${code}`);
  }
}

describe('starting in production', () => {
  it('the tributary process exits 2 before listening, naming the router secret and the JWKS', async () => {
    const { code, stdout, stderr } = await cli(
      ['start', '--no-seed'],
      without('ROUTER_SECRET', 'AUTH_JWKS_URL', 'AUTH_ISSUER', 'AUTH_AUDIENCE'),
    );
    expect(code).toBe(2);
    expect(stderr).toMatch(/ROUTER_SECRET: production requires the router shared secret/);
    expect(stderr).toMatch(/AUTH_JWKS_URL: production refuses the development signing key/);
    expect(stdout).not.toMatch(/serving/i);
  }, 90_000);

  it('tributary start refuses without the router secret alone', async () => {
    const { code, stderr } = await inProcess(
      () => runStart({ seed: false, sandboxes: true }),
      without('ROUTER_SECRET'),
    );
    expect(code).toBe(2);
    expect(stderr).toMatch(/ROUTER_SECRET: production requires the router shared secret/);
    expect(stderr).not.toMatch(/AUTH_JWKS_URL/);
  });

  it('tributary start refuses the development signing key alone', async () => {
    const { code, stderr } = await inProcess(
      () => runStart({ seed: false, sandboxes: true }),
      without('AUTH_JWKS_URL', 'AUTH_ISSUER', 'AUTH_AUDIENCE'),
    );
    expect(code).toBe(2);
    expect(stderr).toMatch(/AUTH_JWKS_URL: production refuses the development signing key/);
    expect(stderr).not.toMatch(/ROUTER_SECRET/);
  });

  it('tributary token refuses to issue development tokens in production', async () => {
    const { code, stderr } = await inProcess(
      () => runToken({ subject: 'cust_alice', scopes: 'accounts:read', ttl: '60' }),
      PRODUCTION,
    );
    expect(code).toBe(2);
    expect(stderr).toMatch(/development tokens only/);
  });

  it('refuses to build the app from a production config without router secret or JWKS, however it was made', async () => {
    // Built by hand, past loadConfig: buildApp itself must refuse.
    const development = loadConfig({});
    const jwks: Config['auth'] = { ...development.auth, mode: 'jwks', jwksUrl: 'https://id.invalid/jwks' };
    const services = (overrides: Partial<Config>) =>
      ({
        config: { ...development, env: 'production', production: true, ...overrides },
        logger: pino({ level: 'silent' }),
      }) as unknown as Services;
    await expect(buildApp(services({ auth: jwks, routerSecret: null }))).rejects.toThrow(/ROUTER_SECRET/);
    await expect(buildApp(services({ routerSecret: 'r'.repeat(40) }))).rejects.toThrow(
      /development signing key/,
    );
  });
});
