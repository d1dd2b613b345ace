/**
 * Every partner sandbox, started together for `npm start`, `tributary sandboxes` and end-to-end tests.
 * Each entry also says which credentials the sandbox accepts, so callers can point a provider at it.
 * The Open Banking sandbox always runs with mutual TLS: `tls` is the local CA set (npm start passes the
 * one in the data directory; absent, the per-user shared set of sharedSandboxTls).
 */
import type { ProviderName } from '../domain/model.js';
import type { PartnerEndpointConfig, PartnerTlsFiles } from '../server/config.js';
import { sharedSandboxTls, type LocalTls } from './certs.js';
import type { SandboxHandle } from './kit/sandbox.js';
import {
  OB_SANDBOX_CLIENT_ID,
  OB_SANDBOX_CLIENT_SECRET,
  startOpenBankingSandbox,
  type OpenBankingSandboxOptions,
} from './openbanking/index.js';
import {
  PLAID_SANDBOX_CLIENT_ID,
  PLAID_SANDBOX_SECRET,
  startPlaidSandbox,
  type PlaidSandboxOptions,
} from './plaid/index.js';
import { STRIPE_SANDBOX_SECRET_KEY, startStripeSandbox, type StripeSandboxOptions } from './stripe/index.js';

export interface RunningSandbox {
  handle: SandboxHandle;
  clientId: string | null;
  clientSecret: string;
  /** The client certificate files a caller presents (mutual-TLS sandboxes only). */
  tls?: PartnerTlsFiles;
}

export interface SandboxesOptions {
  host?: string;
  /** Port per partner; 0 or absent picks a free one. */
  ports?: Partial<Record<ProviderName, number>>;
  openbanking?: OpenBankingSandboxOptions;
  plaid?: PlaidSandboxOptions;
  stripe?: StripeSandboxOptions;
  /** The certificate set of the mutual-TLS sandboxes. Default sharedSandboxTls(). */
  tls?: LocalTls;
}

export type RunningSandboxes = Partial<Record<ProviderName, RunningSandbox>>;

export async function startSandboxes(options: SandboxesOptions = {}): Promise<RunningSandboxes> {
  const host = options.host ?? '127.0.0.1';
  const tls = options.tls ?? (await sharedSandboxTls());
  const openbanking = await startOpenBankingSandbox({
    tls: { ca: tls.ca, ...tls.server },
    ...options.openbanking,
    host,
    port: options.ports?.openbanking ?? 0,
  });
  const plaid = await startPlaidSandbox({ ...options.plaid, host, port: options.ports?.plaid ?? 0 });
  const stripe = await startStripeSandbox({ ...options.stripe, host, port: options.ports?.stripe ?? 0 });
  return {
    stripe: { handle: stripe, clientId: null, clientSecret: STRIPE_SANDBOX_SECRET_KEY },
    plaid: { handle: plaid, clientId: PLAID_SANDBOX_CLIENT_ID, clientSecret: PLAID_SANDBOX_SECRET },
    openbanking: {
      handle: openbanking,
      clientId: OB_SANDBOX_CLIENT_ID,
      clientSecret: OB_SANDBOX_CLIENT_SECRET,
      tls: { certFile: tls.files.clientCert, keyFile: tls.files.clientKey, caFile: tls.files.ca },
    },
  };
}

export async function stopSandboxes(sandboxes: RunningSandboxes): Promise<void> {
  await Promise.all(Object.values(sandboxes).map((sandbox) => sandbox.handle.close()));
}

/** The endpoints the registry should use for partners the configuration leaves unset. */
export function sandboxEndpoints(sandboxes: RunningSandboxes) {
  return Object.fromEntries(
    Object.entries(sandboxes).map(([name, sandbox]) => [
      name,
      {
        baseUrl: sandbox.handle.url,
        clientId: sandbox.clientId,
        clientSecret: sandbox.clientSecret,
        ...(sandbox.tls ? { tls: sandbox.tls } : {}),
      },
    ]),
  ) as Partial<Record<ProviderName, PartnerEndpointConfig>>;
}

/** The environment that points a configured (production-mode) Open Banking client at the sandboxes' CA set. */
export function sandboxTlsEnv(tls: LocalTls): Record<string, string> {
  return {
    OPENBANKING_TLS_CERT: tls.files.clientCert,
    OPENBANKING_TLS_KEY: tls.files.clientKey,
    OPENBANKING_TLS_CA: tls.files.ca,
  };
}
