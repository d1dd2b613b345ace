/**
 * The partner module contract. Each partner folder's `index.ts` exports one `PartnerModule`, and the
 * module list (modules.ts) holds them; the registry, the configuration, webhook intake, the CLI, metrics
 * labels and the contract suite iterate that list. Nothing outside the partner's own folders names it.
 *
 * A module says, once: which variables configure the partner (its env section, validated with the rest
 * of the environment by server/config.ts), which capabilities it has, how to build its provider, how
 * its webhooks are verified, which tables of its own it keeps (migrations), and how development reaches
 * its sandbox (the binding lives in `sandboxes/<name>/`, which product code never imports).
 */
import type { Logger } from 'pino';
import type { z } from 'zod';
import type { ProviderName } from '../domain/model.js';
import type { CredentialStore, Provider } from '../domain/providers.js';
import type { Db } from '../store/db.js';
import type { CallPolicy } from './http.js';
import type { WebhookVerifier } from './webhook-verify.js';

/** PEM files for mutual TLS with a partner. */
export interface PartnerTlsFiles {
  certFile: string;
  keyFile: string;
  /** The CA that issued the partner's server certificate; null: the system's trust store. */
  caFile: string | null;
}

/** A partner reached at a URL with its credentials: configured, or a local sandbox in development. */
export interface PartnerEndpoint {
  baseUrl: string;
  /** Null for partners that authenticate with a secret alone. */
  clientId: string | null;
  clientSecret: string;
  /** Client certificate for mutual TLS; null or absent: plain server-verified TLS. */
  tls?: PartnerTlsFiles | null;
  /** Message signing (JWS) for partners that sign their answers and expect signed requests. */
  signing?: PartnerSigning | null;
}

/** The keys of message signing with a partner: the partner's, to verify its answers, and ours. */
export interface PartnerSigning {
  /** Where the partner publishes the keys it signs answers with (a JWK Set); null: none known. */
  jwksUrl: string | null;
  /** Who the partner signs as (Open Banking: its organisation id); null: any issuer. */
  issuer: string | null;
  /** Our request-signing key; null: requests go out unsigned. */
  key: PartnerSigningKey | null;
}

/** Our request-signing key: a PEM private key file, its key id and who we sign as. */
export interface PartnerSigningKey {
  keyFile: string;
  /** The key id the partner's trust anchor knows the key by; null: its RFC 7638 thumbprint. */
  kid: string | null;
  /** Who we sign as (Open Banking: org-id/software-statement-id); null: our client id. */
  issuer: string | null;
}

/** Which kind of call a timeout or retry rule is for. */
export type EndpointClass = 'read' | 'write';

/**
 * Everything about calling one partner that an operator may tune: the process-wide defaults from
 * `PARTNER_*`, overridden per partner by `<NAME>_*` variables (env.ts builds both).
 */
export interface PartnerCallSettings {
  connectTimeoutMs: number;
  /** Bound on one attempt (headers, each body chunk, the whole attempt), per endpoint class. */
  timeoutMs: Record<EndpointClass, number>;
  /** Whole-call budgets including queueing, retries and backoff, per endpoint class. */
  deadlineMs: Record<EndpointClass, number>;
  /** Keep-alive connections to the partner; also the bulkhead's concurrency. */
  maxConnections: number;
  maxResponseBytes: number;
  retryAttempts: number;
  retryBaseMs: number;
  retryMaxDelayMs: number;
  breakerFailureRatio: number;
  breakerWindowMs: number;
  breakerMinRequests: number;
  breakerHalfOpenMs: number;
  bulkheadQueue: number;
}

/** What the environment says about one partner, read by its env section. */
export interface PartnerSettings {
  /** Null: not configured (development uses the local sandbox, production leaves the partner out). */
  endpoint: PartnerEndpoint | null;
  /** Secrets accepted for webhook signatures (rotation: several at once). Empty for key-pair schemes. */
  webhookSecrets: string[];
  /** Source allow-list of webhook deliveries (CIDR); empty: any source. */
  webhookAllowCidrs: string[];
  calls: PartnerCallSettings;
}

/** Raw environment values, as server/config.ts hands them to each module. */
export type EnvValues = Readonly<Record<string, string | undefined>>;

/** The partner's section of the environment. */
export interface PartnerEnvSection {
  /** The partner's variables with their rules; server/config.ts validates them with every other one. */
  schema: z.ZodObject;
  /**
   * The partner's settings from its parsed variables. `defaults` are the process-wide call settings
   * (`PARTNER_*`); `production` decides whether development secrets may be filled in.
   */
  read(parsed: Record<string, unknown>, defaults: PartnerCallSettings, production: boolean): PartnerSettings;
  /** Rules across the partner's variables, reported with every other configuration problem. */
  problems(env: EnvValues, production: boolean): string[];
}

/** Development only: what a partner's sandbox binding lends its provider (never set for a real partner). */
export interface SandboxHooks {
  /**
   * Answers a consent as the customer would at the partner (the sandbox's stand-in for the customer's
   * approval in the bank's app). Resolves to the authorisation code, or to `declined` when the customer
   * said no; rejects when the sandbox could not be asked.
   */
  approveConsent?(consentId: string, customerId: string): Promise<ConsentDecision>;
}

export type ConsentDecision = { approved: true; code: string } | { approved: false; reason: string };

/** Everything a provider factory gets: where the partner is, how to call it, what the process lends. */
export interface ProviderSettings {
  endpoint: PartnerEndpoint;
  calls: PartnerCallSettings;
  /** Where customers return after authorising a payment at the partner (3-D Secure, bank redirect). */
  returnUrl: string | null;
  /**
   * The partner's resilience policy: pass it to PartnerHttp, or run each SDK attempt through
   * `policy.execute(fn, { kind, endpoint })`. One per partner, shared by all its clients.
   */
  policy: CallPolicy;
  /** Set only when the endpoint is the local sandbox (development and tests). */
  sandbox: SandboxHooks | null;
}

export interface ProviderDeps {
  /** The process-wide credential store; a call carrying its own (CallContext.credentials) uses that. */
  credentials: CredentialStore;
  /** For partners that keep state of their own in the store (their migrations' tables). */
  db: Db;
  logger: Logger;
}

/** What a module's webhook verifier is built from. */
export interface VerifierSettings {
  settings: PartnerSettings;
  /** Timestamps further than this from now, in the past or the future, are refused. */
  toleranceSeconds: number;
  /** The partner's endpoint (configured or sandbox), for schemes that fetch keys from the partner. */
  endpoint: PartnerEndpoint | null;
  logger: Logger;
  /**
   * The store, for partners whose verified notification is itself the record of what happened (no
   * endpoint to read the resource back): the verifier keeps it in the module's own tables. Absent in
   * verifier-only uses (tools, unit tests).
   */
  db?: Db;
}

/** The partner's webhooks: `POST /webhooks/<name>`. */
export interface PartnerWebhooks {
  /** Builds the verifier; `close` releases what it holds (a key-fetching client). */
  createVerifier(settings: VerifierSettings): WebhookVerifier & { close?(): Promise<void> };
  /** How the partner wants a delivery acknowledged (status 200 and this body). Default `{ received: true }`. */
  acknowledgement?: { contentType: string; body: string };
  /** Whether the partner signs with shared secrets (then a delivery without one configured is refused). */
  usesSharedSecrets: boolean;
}

/** The capabilities a provider may have; the module says which it offers before any provider exists. */
export type Capability = 'accounts' | 'bank-payments' | 'card-payments';

export interface PartnerModule {
  /** The provider name: lower case; the SDL's `Provider` enum value is its upper case. */
  readonly name: ProviderName;
  /** How people write it: "Open Banking". */
  readonly title: string;
  readonly capabilities: readonly Capability[];
  readonly env: PartnerEnvSection;
  createProvider(settings: ProviderSettings, deps: ProviderDeps): Provider;
  readonly webhooks: PartnerWebhooks;
  /**
   * Folder of the partner's own SQL migrations (tables only it uses), relative to the project root;
   * applied after the core migrations, in file-name order, under the `<name>/` prefix.
   */
  readonly migrations?: string;
}
