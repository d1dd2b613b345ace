/**
 * Shared set-up of the Open Banking client suites: a sandbox and a provider on one controllable
 * clock, talking mutual TLS with the shared local CA set, verifying the bank's signed payment answers
 * against its JWK Set and signing payment requests with the local set's key (which the sandbox trusts),
 * an in-memory CredentialStore, and small helpers.
 */
import { randomUUID } from 'node:crypto';
import { pino } from 'pino';
import { OpenBankingClient, type OpenBankingClientOptions } from '../../../datasources/openbanking/client.js';
import { PAYMENT_ENDPOINTS, PisClient } from '../../../datasources/openbanking/pis-client.js';
import {
  createOpenBankingProvider,
  type ConnectOptions,
  type OpenBankingProvider,
  type OpenBankingProviderOptions,
} from '../../../datasources/openbanking/provider.js';
import { OpenBankingTransport } from '../../../datasources/openbanking/transport.js';
import type { CallContext, CredentialStore, PartnerCredential } from '../../../domain/providers.js';
import { sharedSandboxTls } from '../../../sandboxes/certs.js';
import { refreshInPlace } from '../../helpers/credentials.js';
import type { SandboxHandle } from '../../../sandboxes/kit/sandbox.js';
import {
  AISP_BASE,
  OB_SANDBOX_JWKS_PATH,
  OB_SANDBOX_ORG_ID,
  OB_SANDBOX_CLIENT_ID,
  OB_SANDBOX_CLIENT_SECRET,
  SEED_BASE_DATE,
  sandboxConsentApprover,
  startOpenBankingSandbox,
  type OpenBankingSandboxOptions,
} from '../../../sandboxes/openbanking/index.js';

export const logger = pino({ level: 'silent' });

export const ACCOUNTS = `GET ${AISP_BASE}/accounts`;
export const BALANCES = `GET ${AISP_BASE}/balances`;
export const TRANSACTIONS = `GET ${AISP_BASE}/transactions`;
export const TOKEN = 'POST /token';
export const JWKS = `GET ${OB_SANDBOX_JWKS_PATH}`;

/** An in-memory CredentialStore that counts updates. */
export class MemoryCredentials implements CredentialStore {
  readonly byKey = new Map<string, PartnerCredential>();
  updates = 0;
  async get(subject: string): Promise<PartnerCredential | null> {
    return this.byKey.get(subject) ?? null;
  }
  async update(credential: PartnerCredential): Promise<void> {
    this.updates++;
    this.byKey.set(credential.subject, credential);
  }
  refreshing: CredentialStore['refreshing'] = (subject, provider, _externalRef, fn) =>
    refreshInPlace(this, subject, provider, fn);
}

export function ctx(subject: string): CallContext {
  return { subject, correlationId: randomUUID(), logger };
}

/** A client on an HTTP stack of its own, as a provider builds one; `close` ends the stack. */
function onOwnStack<C extends object>(
  options: OpenBankingClientOptions,
  credentials: CredentialStore,
  build: (transport: OpenBankingTransport) => C,
): C & { close(): Promise<void> } {
  const transport = new OpenBankingTransport(options, { credentials, logger }, PAYMENT_ENDPOINTS);
  return Object.assign(build(transport), { close: () => transport.close() });
}

/** The account client alone (wire verbs without mapping). */
export function accountClient(options: OpenBankingClientOptions, credentials: CredentialStore) {
  return onOwnStack(options, credentials, (transport) => new OpenBankingClient(transport, options));
}

/** The payment client alone. */
export function paymentClient(options: OpenBankingClientOptions, credentials: CredentialStore) {
  return onOwnStack(options, credentials, (transport) => new PisClient(transport));
}

/** The error a promise rejects with; fails when it resolves. */
export const failure = (p: Promise<unknown>) =>
  p.then(
    () => Promise.reject(new Error('expected the call to fail')),
    (e: unknown) => e,
  );

export interface Harness {
  sandbox: SandboxHandle;
  credentials: MemoryCredentials;
  provider: OpenBankingProvider;
  options: OpenBankingProviderOptions;
  clock: { now(): number; advance(ms: number): void };
  /** Connects a customer and stores the credential under `subject`. */
  connect(subject: string, psuId?: string, extra?: ConnectOptions): Promise<PartnerCredential>;
  /** How many requests the sandbox saw on a route key. */
  requests(key: string): number;
  close(): Promise<void>;
}

export async function startHarness(sandboxOptions: OpenBankingSandboxOptions = {}): Promise<Harness> {
  let time = SEED_BASE_DATE.getTime();
  const now = () => time;
  const tls = await sharedSandboxTls();
  const sandbox = await startOpenBankingSandbox({
    tls: { ca: tls.ca, ...tls.server },
    ...sandboxOptions,
    now,
  });
  const clientTls = { ca: tls.ca, ...tls.client };
  const options: OpenBankingProviderOptions = {
    baseUrl: sandbox.url,
    clientId: OB_SANDBOX_CLIENT_ID,
    clientSecret: OB_SANDBOX_CLIENT_SECRET,
    now,
    tls: clientTls,
    signing: {
      jwksUrl: new URL(OB_SANDBOX_JWKS_PATH, sandbox.url).toString(),
      issuer: OB_SANDBOX_ORG_ID,
      key: { pem: tls.signingKey, kid: null, issuer: null },
    },
    // The sandbox stands in for the customer: payments are approved at once.
    sandbox: { approveConsent: sandboxConsentApprover(sandbox.url, clientTls) },
  };
  const credentials = new MemoryCredentials();
  const provider = createOpenBankingProvider(options, { credentials, logger });
  return {
    sandbox,
    credentials,
    provider,
    options,
    clock: { now, advance: (ms) => void (time += ms) },
    async connect(subject, psuId = subject, extra = {}) {
      const credential = { subject, ...(await provider.connectCustomer(psuId, extra)) };
      credentials.byKey.set(subject, credential);
      return credential;
    },
    requests: (key) => sandbox.ledger().requests[key] ?? 0,
    async close() {
      await provider.close();
      await sandbox.close();
    },
  };
}
