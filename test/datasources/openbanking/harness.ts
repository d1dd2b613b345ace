/**
 * Shared set-up of the Open Banking client suites: a sandbox and a provider on one controllable
 * clock, talking mutual TLS with the shared local CA set, an in-memory CredentialStore, and small helpers.
 */
import { randomUUID } from 'node:crypto';
import { pino } from 'pino';
import {
  createOpenBankingProvider,
  type ConnectOptions,
  type OpenBankingProvider,
  type OpenBankingProviderOptions,
} from '../../../datasources/openbanking/provider.js';
import type { CallContext, CredentialStore, PartnerCredential } from '../../../domain/providers.js';
import { sharedSandboxTls } from '../../../sandboxes/certs.js';
import type { SandboxHandle } from '../../../sandboxes/kit/sandbox.js';
import {
  AISP_BASE,
  OB_SANDBOX_CLIENT_ID,
  OB_SANDBOX_CLIENT_SECRET,
  SEED_BASE_DATE,
  startOpenBankingSandbox,
  type OpenBankingSandboxOptions,
} from '../../../sandboxes/openbanking/index.js';

export const logger = pino({ level: 'silent' });

export const ACCOUNTS = `GET ${AISP_BASE}/accounts`;
export const BALANCES = `GET ${AISP_BASE}/balances`;
export const TRANSACTIONS = `GET ${AISP_BASE}/transactions`;
export const TOKEN = 'POST /token';

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
}

export function ctx(subject: string): CallContext {
  return { subject, correlationId: randomUUID(), logger };
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
  const options: OpenBankingProviderOptions = {
    baseUrl: sandbox.url,
    clientId: OB_SANDBOX_CLIENT_ID,
    clientSecret: OB_SANDBOX_CLIENT_SECRET,
    now,
    tls: { ca: tls.ca, ...tls.client },
    paymentAuthorisation: 'sandbox',
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
