import { mkdtemp, readFile, rm, stat, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Agent, request } from 'undici';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { loadClientTls } from '../../../datasources/openbanking/provider.js';
import { openBanking } from '../../../datasources/openbanking/index.js';
import { PartnerPolicy, policySettings } from '../../../datasources/resilience.js';
import { loadConfig } from '../../../server/config.js';
import { ensureLocalTls, generateTlsMaterial, type LocalTls } from '../../../sandboxes/certs.js';
import { sandboxEndpoints, startSandboxes, stopSandboxes } from '../../../sandboxes/index.js';
import { sandboxConsentApprover, startOpenBankingSandbox } from '../../../sandboxes/openbanking/index.js';
import type { SandboxHandle } from '../../../sandboxes/kit/sandbox.js';
import { failure, logger, MemoryCredentials } from './harness.js';

let dir: string;
let tls: LocalTls;
let sandbox: SandboxHandle;
beforeAll(async () => {
  dir = await mkdtemp(join(tmpdir(), 'tributary-tls-test-'));
  tls = await ensureLocalTls(join(dir, 'tls'));
  sandbox = await startOpenBankingSandbox({ tls: { ca: tls.ca, ...tls.server } });
});
afterAll(async () => {
  await sandbox.close();
  await rm(dir, { recursive: true, force: true });
});

const mode = async (file: string) => (await stat(file)).mode & 0o777;

/** POST /token over TLS with the given client material; the status, or the error it failed with. */
async function tokenCall(connect: Record<string, unknown>): Promise<number | Error> {
  const agent = new Agent({ connect });
  try {
    const res = await request(`${sandbox.url}/token`, {
      method: 'POST',
      dispatcher: agent,
      headers: { 'content-type': 'application/x-www-form-urlencoded' },
      body: 'grant_type=client_credentials',
    });
    await res.body.dump();
    return res.statusCode;
  } catch (error) {
    return error as Error;
  } finally {
    await agent.close();
  }
}

describe('the local certificate authority', () => {
  it('creates a CA, a server and a client certificate on first run, keys 0600, and reuses them after', async () => {
    expect(await mode(join(dir, 'tls'))).toBe(0o700);
    expect(await mode(tls.files.serverKey)).toBe(0o600);
    expect(await mode(tls.files.clientKey)).toBe(0o600);
    expect(await mode(tls.files.ca)).toBe(0o644);
    const before = await stat(tls.files.clientKey);
    const again = await ensureLocalTls(join(dir, 'tls'));
    expect(again.ca).toBe(tls.ca);
    expect(again.client).toEqual(tls.client);
    expect((await stat(tls.files.clientKey)).mtimeMs).toBe(before.mtimeMs);
  });

  it('names localhost and 127.0.0.1 in the server certificate', async () => {
    const { X509Certificate } = await import('node:crypto');
    const server = new X509Certificate(tls.server.cert);
    expect(server.subjectAltName).toContain('IP Address:127.0.0.1');
    expect(server.subjectAltName).toContain('DNS:localhost');
    expect(server.checkIssued(new X509Certificate(tls.ca))).toBe(true);
  });

  it('replaces a set that is broken or about to expire, and agrees under concurrency', async () => {
    const other = join(dir, 'other');
    const concurrent = await Promise.all(Array.from({ length: 4 }, () => ensureLocalTls(other)));
    expect(new Set(concurrent.map((set) => set.ca)).size).toBe(1);
    await writeFile(concurrent[0]!.files.clientKey, 'not a key', { mode: 0o600 });
    const repaired = await ensureLocalTls(other);
    expect(repaired.ca).not.toBe(concurrent[0]!.ca);
    const later = await ensureLocalTls(other, { now: new Date(Date.now() + 3 * 365 * 86_400_000) });
    expect(later.ca).not.toBe(repaired.ca);
  });
});

describe('mutual TLS with the Open Banking sandbox', () => {
  it('serves HTTPS and answers a client that presents a certificate from the local CA', async () => {
    expect(sandbox.url).toMatch(/^https:/);
    expect(await tokenCall({ ca: tls.ca, ...tls.client })).toBe(401);
  });

  it('refuses at the TLS layer a client without a certificate, or with one from another CA', async () => {
    sandbox.resetLedger();
    const stranger = await generateTlsMaterial({ label: 'Stranger' });
    const noCert = await tokenCall({ ca: tls.ca });
    const otherCa = await tokenCall({ ca: tls.ca, ...stranger.client });
    for (const outcome of [noCert, otherCa]) {
      expect(outcome).toBeInstanceOf(Error);
      expect(JSON.stringify(errorChain(outcome as Error))).toMatch(
        /ECONNRESET|EPIPE|SOCKET|alert|certificate|CLOSED/i,
      );
    }
    // Nothing reached HTTP: the sandbox did not count a single request.
    expect(sandbox.ledger().requests).toEqual({});
  });

  it('is not trusted by a client that does not trust the local CA', async () => {
    const outcome = await tokenCall({ ...tls.client });
    expect(JSON.stringify(errorChain(outcome as Error))).toMatch(
      /self[- ]signed|unable to verify|UNABLE_TO_GET_ISSUER/i,
    );
  });

  it('is what startSandboxes serves, and the datasource built from its endpoint works over it', async () => {
    const sandboxes = await startSandboxes({ tls });
    const calls = loadConfig({ NODE_ENV: 'test' }).partners.openbanking!.calls;
    const provider = openBanking.createProvider(
      {
        endpoint: sandboxEndpoints(sandboxes).openbanking!.endpoint,
        calls,
        policy: new PartnerPolicy('openbanking', policySettings(calls)),
        returnUrl: null,
        sandbox: sandboxes.openbanking!.hooks,
      },
      { credentials: new MemoryCredentials(), logger } as never,
    );
    try {
      expect(sandboxes.openbanking!.handle.url).toMatch(/^https:/);
      expect(sandboxEndpoints(sandboxes).openbanking!.endpoint.tls).toEqual({
        certFile: tls.files.clientCert,
        keyFile: tls.files.clientKey,
        caFile: tls.files.ca,
      });
      const link = await provider.connectSandboxCustomer!('cust_alice');
      expect(link.externalRef).toMatch(/^aac-/);
    } finally {
      await provider.close();
      await stopSandboxes(sandboxes);
    }
  });
});

describe('client certificate configuration', () => {
  const production = {
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
  };
  const problems = (env: Record<string, string>) =>
    (failureSync(() => loadConfig(env)) as { problems?: string[] }).problems?.join('\n') ?? '';

  it('refuses Open Banking in production without a client certificate', () => {
    expect(problems(production)).toMatch(/OPENBANKING_TLS_CERT.*production requires a client certificate/);
  });

  it('takes certificate, key and CA files from OPENBANKING_TLS_* and reports what is wrong with them', () => {
    const files = {
      OPENBANKING_TLS_CERT: tls.files.clientCert,
      OPENBANKING_TLS_KEY: tls.files.clientKey,
      OPENBANKING_TLS_CA: tls.files.ca,
      OPENBANKING_SIGNING_KEY: tls.files.signingKey,
    };
    const config = loadConfig({ ...production, ...files });
    expect(config.partners.openbanking?.endpoint?.tls).toEqual({
      certFile: tls.files.clientCert,
      keyFile: tls.files.clientKey,
      caFile: tls.files.ca,
    });
    expect(problems({ ...production, OPENBANKING_TLS_CERT: tls.files.clientCert })).toMatch(/go together/);
    expect(problems({ ...production, ...files, OPENBANKING_TLS_KEY: join(dir, 'missing.pem') })).toMatch(
      /OPENBANKING_TLS_KEY: no file/,
    );
  });

  it('loads the files and refuses a key that is not the certificate’s', async () => {
    const loaded = loadClientTls({
      certFile: tls.files.clientCert,
      keyFile: tls.files.clientKey,
      caFile: tls.files.ca,
    });
    expect(loaded).toEqual({ cert: tls.client.cert, key: tls.client.key, ca: tls.ca });
    expect(await readFile(tls.files.serverKey, 'utf8')).toBe(tls.server.key);
    const wrong = failureSync(() =>
      loadClientTls({ certFile: tls.files.clientCert, keyFile: tls.files.serverKey, caFile: null }),
    );
    expect(String(wrong)).toMatch(/is not the key of/);
    expect(
      String(
        failureSync(() =>
          loadClientTls({ certFile: join(dir, 'none.pem'), keyFile: tls.files.clientKey, caFile: null }),
        ),
      ),
    ).toMatch(/cannot read/);
  });

  it('reports a refused handshake from the datasource as the partner being unavailable', async () => {
    const { createOpenBankingProvider } = await import('../../../datasources/openbanking/provider.js');
    const bare = createOpenBankingProvider(
      {
        baseUrl: sandbox.url,
        clientId: 'tributary-dev',
        clientSecret: 'x',
        tls: { ca: tls.ca },
        sandbox: { approveConsent: sandboxConsentApprover(sandbox.url, { ca: tls.ca }) },
      },
      { credentials: new MemoryCredentials(), logger },
    );
    try {
      const error = await failure(bare.connectCustomer('cust_alice'));
      expect(error).toMatchObject({ code: 'PARTNER_UNAVAILABLE' });
    } finally {
      await bare.close();
    }
  });
});

function failureSync(fn: () => unknown): unknown {
  try {
    fn();
  } catch (error) {
    return error;
  }
  throw new Error('expected a failure');
}

function errorChain(error: Error | undefined, depth = 0): unknown[] {
  if (!error || depth > 5) return [];
  const { code, message } = error as Error & { code?: unknown };
  return [{ code, message }, ...errorChain(error.cause as Error | undefined, depth + 1)];
}
