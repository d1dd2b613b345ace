/**
 * How development reaches a partner's sandbox: each `sandboxes/<partner>/index.ts` exports a
 * `sandbox: SandboxBinding` that starts it and says what a client needs to use it (credentials, TLS,
 * the hooks its provider gets, how to tell it where to send webhooks). sandboxes/index.ts starts one
 * for every partner of the module list; product code never imports any of this.
 */
import type {
  PartnerEndpoint,
  PartnerSigning,
  PartnerTlsFiles,
  SandboxHooks,
} from '../../datasources/module.js';
import type { LocalTls } from '../certs.js';
import type { SandboxHandle } from './sandbox.js';

export interface SandboxStartOptions {
  host: string;
  /** 0 picks a free port. */
  port: number;
  /** The local CA set; mutual-TLS sandboxes serve with its server certificate. */
  tls: LocalTls;
  /** The partner's own sandbox options (fault injection, seeds, webhook behaviour), as its server takes them. */
  options: unknown;
}

export interface RunningSandbox {
  handle: SandboxHandle;
  /** The credentials the sandbox accepts. */
  clientId: string | null;
  clientSecret: string;
  /** The client certificate files a caller presents (mutual-TLS sandboxes only). */
  tls?: PartnerTlsFiles;
  /** Where its signing keys are, and the key a caller signs requests with (signing sandboxes only). */
  signing?: PartnerSigning;
  /** What the partner's provider is lent while it talks to this sandbox. */
  hooks: SandboxHooks;
  /** The control route that takes a webhook endpoint. */
  webhookRoute: string;
  /**
   * The body registering `url` as the webhook endpoint, signed with the first of `secrets` where the
   * partner signs with a shared secret; null when the partner needs a secret and none is configured.
   */
  webhookRegistration(url: string, secrets: readonly string[]): object | null;
}

export interface SandboxBinding {
  start(options: SandboxStartOptions): Promise<RunningSandbox>;
  /**
   * The hooks for a sandbox of this partner running elsewhere (another process, a shared development
   * sandbox), from its endpoint alone, so every replica pointed at it behaves alike.
   */
  hooksFor(endpoint: PartnerEndpoint): SandboxHooks;
}
