/**
 * Every partner sandbox, started together for `npm start`, `tributary sandboxes` and end-to-end tests:
 * one for each partner of the module list, found by name (`sandboxes/<name>/index.ts` exports its
 * `sandbox` binding), so adding a partner's sandbox is adding its folder. Each entry says which
 * credentials the sandbox accepts, so callers can point a provider at it. Mutual-TLS sandboxes serve
 * with the local CA set `tls` (npm start passes the one in the data directory; absent, the per-user
 * shared set of sharedSandboxTls).
 */
import { PARTNER_NAMES } from '../datasources/modules.js';
import type { PartnerEndpoint } from '../datasources/module.js';
import type { SandboxEndpoints } from '../datasources/registry.js';
import type { ProviderName } from '../domain/model.js';
import { sharedSandboxTls, type LocalTls } from './certs.js';
import { OB_SANDBOX_JWKS_PATH, OB_SANDBOX_ORG_ID } from './openbanking/signing.js';
import type { RunningSandbox, SandboxBinding } from './kit/binding.js';

export type { RunningSandbox } from './kit/binding.js';

export interface SandboxesOptions {
  host?: string;
  /** Port per partner; 0 or absent picks a free one. */
  ports?: Partial<Record<ProviderName, number>>;
  /** The certificate set of the mutual-TLS sandboxes. Default sharedSandboxTls(). */
  tls?: LocalTls;
  /** Which partners to start; default every partner of the module list. */
  only?: readonly ProviderName[];
  /** Per partner, its sandbox's own options (see sandboxes/<name>/server.ts). */
  [partner: string]: unknown;
}

export type RunningSandboxes = Record<ProviderName, RunningSandbox>;

/** The binding of a partner's sandbox folder. */
async function bindingOf(name: ProviderName): Promise<SandboxBinding> {
  // The folder is found by the partner's name; the specifier is built at run time on purpose.
  const folder = (await import(/* @vite-ignore */ `./${name}/index.js`)) as { sandbox?: SandboxBinding };
  if (!folder.sandbox) throw new Error(`sandboxes/${name}/index.ts exports no sandbox binding`);
  return folder.sandbox;
}

export async function startSandboxes(options: SandboxesOptions = {}): Promise<RunningSandboxes> {
  const host = options.host ?? '127.0.0.1';
  const tls = options.tls ?? (await sharedSandboxTls());
  const running: RunningSandboxes = {};
  try {
    for (const name of options.only ?? PARTNER_NAMES) {
      running[name] = await (
        await bindingOf(name)
      ).start({ host, port: options.ports?.[name] ?? 0, tls, options: options[name] });
    }
  } catch (error) {
    await stopSandboxes(running);
    throw error;
  }
  return running;
}

export async function stopSandboxes(sandboxes: RunningSandboxes): Promise<void> {
  await Promise.all(Object.values(sandboxes).map((sandbox) => sandbox?.handle.close()));
}

/** Where a client reaches a running sandbox, with the credentials it accepts. */
export function sandboxEndpoint(sandbox: RunningSandbox): PartnerEndpoint {
  return {
    baseUrl: sandbox.handle.url,
    clientId: sandbox.clientId,
    clientSecret: sandbox.clientSecret,
    ...(sandbox.tls ? { tls: sandbox.tls } : {}),
    ...(sandbox.signing ? { signing: sandbox.signing } : {}),
  };
}

/** What the registry uses for partners the configuration leaves unset: each endpoint and its hooks. */
export function sandboxEndpoints(sandboxes: RunningSandboxes): SandboxEndpoints {
  const endpoints: SandboxEndpoints = {};
  for (const [name, sandbox] of Object.entries(sandboxes)) {
    if (sandbox) endpoints[name] = { endpoint: sandboxEndpoint(sandbox), hooks: sandbox.hooks };
  }
  return endpoints;
}

/**
 * What the registry uses for sandboxes running in another process (benchmarks, a second replica on
 * shared sandboxes): each endpoint with the hooks its partner's binding derives from it.
 */
export async function remoteSandboxEndpoints(
  endpoints: Partial<Record<ProviderName, PartnerEndpoint>>,
): Promise<SandboxEndpoints> {
  const attached: SandboxEndpoints = {};
  for (const [name, endpoint] of Object.entries(endpoints)) {
    if (endpoint) attached[name] = { endpoint, hooks: (await bindingOf(name)).hooksFor(endpoint) };
  }
  return attached;
}

/** The plain endpoints of running sandboxes (JSON-safe, for another process). */
export function plainEndpoints(sandboxes: RunningSandboxes): Partial<Record<ProviderName, PartnerEndpoint>> {
  return Object.fromEntries(
    Object.entries(sandboxes).flatMap(([name, sandbox]) =>
      sandbox ? [[name, sandboxEndpoint(sandbox)]] : [],
    ),
  );
}

/**
 * The environment that points a configured (production-mode) partner client at the sandboxes' CA set:
 * the client certificate, and the key it signs Open Banking payment requests with.
 */
export function sandboxTlsEnv(tls: LocalTls): Record<string, string> {
  return {
    OPENBANKING_TLS_CERT: tls.files.clientCert,
    OPENBANKING_TLS_KEY: tls.files.clientKey,
    OPENBANKING_TLS_CA: tls.files.ca,
    OPENBANKING_SIGNING_KEY: tls.files.signingKey,
  };
}

/** The environment naming the signing keys of the Open Banking sandbox at `baseUrl` (the bank's JWKS). */
export function sandboxSigningEnv(baseUrl: string): Record<string, string> {
  return {
    OPENBANKING_JWKS_URL: new URL(OB_SANDBOX_JWKS_PATH, baseUrl).toString(),
    OPENBANKING_JWS_ISSUER: OB_SANDBOX_ORG_ID,
  };
}
