import { describe, expect, it } from 'vitest';
import { sharedSandboxTls } from '../../sandboxes/certs.js';
import { sandboxTlsEnv } from '../../sandboxes/index.js';
import { ConfigError, DEV_SECRETS_KEY, loadConfig } from '../../server/config.js';

/** Open Banking's client certificate files (mutual TLS is required in production). */
const bankTls = sandboxTlsEnv(await sharedSandboxTls());

function problemsOf(env: NodeJS.ProcessEnv): string[] {
  try {
    loadConfig(env);
  } catch (error) {
    if (error instanceof ConfigError) return error.problems;
    throw error;
  }
  return [];
}

describe('config', () => {
  it('starts in development with no environment at all, on the sandboxes and the embedded database', () => {
    const config = loadConfig({});
    expect(config.port).toBe(4001);
    expect(config.host).toBe('127.0.0.1');
    expect(config.database).toEqual({ url: null, dataDir: './.data' });
    expect(config.auth.mode).toBe('dev');
    expect(config.partners.openbanking?.endpoint).toBeNull();
    expect(config.limits).toMatchObject({
      bodyBytes: 1024 * 1024,
      tokens: 10_000,
      depth: 12,
      aliases: 30,
      directives: 20,
    });
  });

  it('reports every invalid variable together, not only the first', () => {
    const problems = problemsOf({
      PORT: 'eighty',
      LOG_LEVEL: 'loud',
      DATABASE_URL: 'not a url',
      LIMIT_DEPTH: '0',
    });
    expect(problems).toHaveLength(4);
    expect(problems.join('\n')).toMatch(/PORT/);
    expect(problems.join('\n')).toMatch(/LOG_LEVEL/);
    expect(problems.join('\n')).toMatch(/DATABASE_URL/);
    expect(problems.join('\n')).toMatch(/LIMIT_DEPTH/);
  });

  it('reports cross-variable problems alongside type problems', () => {
    const problems = problemsOf({ PORT: 'x', AUTH_JWKS_URL: 'https://id.example/jwks' });
    expect(problems.some((problem) => problem.startsWith('PORT'))).toBe(true);
    expect(problems.some((problem) => problem.includes('AUTH_ISSUER and AUTH_AUDIENCE'))).toBe(true);
  });

  it('refuses every development default in production, listing all of them', () => {
    const problems = problemsOf({ NODE_ENV: 'production', SECRETS_KEY: DEV_SECRETS_KEY });
    const text = problems.join('\n');
    for (const name of [
      'AUTH_JWKS_URL',
      'ROUTER_SECRET',
      'SECRETS_KEY',
      'OPENBANKING_BASE_URL',
      'DATABASE_URL',
    ]) {
      expect(text).toContain(name);
    }
  });

  it('accepts a complete production configuration', () => {
    const config = loadConfig({
      NODE_ENV: 'production',
      DATABASE_URL: 'postgres://db.internal:5432/tributary',
      AUTH_JWKS_URL: 'https://id.example/.well-known/jwks.json',
      AUTH_ISSUER: 'https://id.example/',
      AUTH_AUDIENCE: 'tributary',
      ROUTER_SECRET: 'r'.repeat(40),
      SECRETS_KEY: `k1:${Buffer.alloc(32, 1).toString('base64')}`,
      OPENBANKING_BASE_URL: 'https://bank.example',
      OPENBANKING_CLIENT_ID: 'client',
      OPENBANKING_CLIENT_SECRET: 'secret',
      OPENBANKING_JWKS_URL: 'https://keystore.bank.example/bank.jwks',
      ...bankTls,
    });
    expect(config.production).toBe(true);
    expect(config.auth).toMatchObject({ mode: 'jwks', issuer: 'https://id.example/', audience: 'tributary' });
    expect(config.partners.openbanking?.endpoint?.baseUrl).toBe('https://bank.example');
  });

  it('refuses plain-http JWKS and partner URLs in production, loopback excepted', () => {
    const base = {
      NODE_ENV: 'production',
      DATABASE_URL: 'postgres://db.internal:5432/tributary',
      AUTH_ISSUER: 'https://id.example/',
      AUTH_AUDIENCE: 'tributary',
      ROUTER_SECRET: 'r'.repeat(40),
      SECRETS_KEY: `k1:${Buffer.alloc(32, 1).toString('base64')}`,
      OPENBANKING_CLIENT_ID: 'client',
      OPENBANKING_CLIENT_SECRET: 'secret',
      ...bankTls,
    };
    const plain = problemsOf({
      ...base,
      AUTH_JWKS_URL: 'http://id.example/.well-known/jwks.json',
      OPENBANKING_BASE_URL: 'http://bank.example',
    }).join('\n');
    expect(plain).toMatch(/AUTH_JWKS_URL: production requires https/);
    expect(plain).toMatch(/OPENBANKING_BASE_URL: production requires https/);
    const loopback = problemsOf({
      ...base,
      AUTH_JWKS_URL: 'http://127.0.0.1:9999/jwks.json',
      OPENBANKING_BASE_URL: 'http://localhost:8443',
    }).join('\n');
    expect(loopback).not.toMatch(/requires https/);
  });

  it('refuses a short router secret', () => {
    expect(problemsOf({ ROUTER_SECRET: 'short' }).join('\n')).toMatch(/ROUTER_SECRET: must be at least 32/);
  });

  it('keeps the authorisation directives in the published SDL unless told to strip them, and refuses other values', () => {
    expect(loadConfig({}).federationAuthDirectives).toBe('keep');
    expect(loadConfig({ FEDERATION_AUTH_DIRECTIVES: 'strip' }).federationAuthDirectives).toBe('strip');
    expect(problemsOf({ FEDERATION_AUTH_DIRECTIVES: 'remove' }).join('\n')).toMatch(
      /FEDERATION_AUTH_DIRECTIVES/,
    );
  });

  it('leaves persisted operations off unless told allow or require, and names the values it accepts', () => {
    expect(loadConfig({}).persistedOperations).toBe('off');
    expect(loadConfig({ PERSISTED_OPERATIONS: 'allow' }).persistedOperations).toBe('allow');
    expect(loadConfig({ PERSISTED_OPERATIONS: 'require' }).persistedOperations).toBe('require');
    expect(problemsOf({ PERSISTED_OPERATIONS: 'strict' })).toEqual([
      'PERSISTED_OPERATIONS: must be off, allow or require',
    ]);
  });
});
