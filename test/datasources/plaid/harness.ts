/**
 * The Plaid provider wired to a real loopback sandbox and an embedded database, the way the registry
 * wires it, with an in-memory CredentialStore and a logger whose lines the tests can read.
 */
import { pino } from 'pino';
import type { ProviderName } from '../../../domain/model.js';
import { createPlaidProvider, type PlaidOptions } from '../../../datasources/plaid/provider.js';
import type {
  AccountsProvider,
  CallContext,
  CredentialStore,
  PartnerCredential,
  Provider,
} from '../../../domain/providers.js';
import type { SandboxHandle } from '../../../sandboxes/kit/sandbox.js';
import {
  PLAID_SANDBOX_CLIENT_ID,
  PLAID_SANDBOX_SECRET,
  startPlaidSandbox,
  type CallRecord,
  type PlaidSandboxOptions,
} from '../../../sandboxes/plaid/index.js';
import type { Db } from '../../../store/db.js';
import { PlaidSyncRepository } from '../../../datasources/plaid/store.js';
import { refreshInPlace } from '../../helpers/credentials.js';
import { testBackends } from '../../helpers/db.js';

/** Credentials by subject, as the consents store would hand them out. */
export class MemoryCredentials implements CredentialStore {
  readonly bySubject = new Map<string, PartnerCredential>();
  async get(subject: string, provider: ProviderName): Promise<PartnerCredential | null> {
    const credential = this.bySubject.get(subject);
    return credential && credential.provider === provider ? credential : null;
  }
  async update(credential: PartnerCredential): Promise<void> {
    this.bySubject.set(credential.subject, credential);
  }
  refreshing: CredentialStore['refreshing'] = (subject, provider, _externalRef, fn) =>
    refreshInPlace(this, subject, provider, fn);
}

export interface Harness {
  sandbox: SandboxHandle;
  db: Db;
  store: PlaidSyncRepository;
  credentials: MemoryCredentials;
  provider: Provider;
  accounts: AccountsProvider;
  /** Every log line written so far, as JSON text. */
  logs: string[];
  ctx(subject: string, correlationId?: string): CallContext;
  /** Links the customer through the provider's sandbox flow and keeps the credential. */
  link(subject: string): Promise<PartnerCredential>;
  /** POSTs to a Plaid control route (`transactions`, `sync-mutation`, `item-error`). */
  control(route: string, body: unknown): Promise<Record<string, unknown>>;
  /** What the sandbox saw of each partner call. */
  calls(): Promise<CallRecord[]>;
  close(): Promise<void>;
}

export async function startHarness(
  options: { sandbox?: PlaidSandboxOptions; provider?: Partial<PlaidOptions> } = {},
): Promise<Harness> {
  const sandbox = await startPlaidSandbox(options.sandbox);
  const backend = testBackends().find((candidate) => candidate.kind === 'pglite');
  if (!backend) throw new Error('no PGlite backend');
  const db = await backend.open();
  const store = new PlaidSyncRepository(db);
  const credentials = new MemoryCredentials();
  const logs: string[] = [];
  const logger = pino({ level: 'debug' }, { write: (line: string) => void logs.push(line) });
  const provider = createPlaidProvider(
    {
      baseUrl: sandbox.url,
      clientId: PLAID_SANDBOX_CLIENT_ID,
      secret: PLAID_SANDBOX_SECRET,
      timeouts: { totalMs: 2_000, headersMs: 1_500, bodyMs: 1_500, connectMs: 1_000 },
      ...options.provider,
    },
    { credentials, sync: store, logger },
  );
  if (!provider.accounts) throw new Error('the Plaid provider has no accounts capability');
  let counter = 0;
  return {
    sandbox,
    db,
    store,
    credentials,
    provider,
    accounts: provider.accounts,
    logs,
    ctx: (subject, correlationId = `corr-${++counter}`) => ({
      subject,
      correlationId,
      logger: logger.child({ correlationId }),
    }),
    async link(subject) {
      if (!provider.connectSandboxCustomer)
        throw new Error('the Plaid provider cannot link sandbox customers');
      const link = await provider.connectSandboxCustomer(subject);
      const credential: PartnerCredential = {
        subject,
        provider: 'plaid',
        externalRef: link.externalRef,
        accessToken: link.accessToken,
        refreshToken: link.refreshToken,
        expiresAt: link.tokenExpiresAt,
      };
      credentials.bySubject.set(subject, credential);
      return credential;
    },
    async control(route, body) {
      const response = await fetch(`${sandbox.url}/__sandbox/plaid/${route}`, {
        method: 'POST',
        body: JSON.stringify(body),
      });
      const answer = (await response.json()) as Record<string, unknown>;
      if (!response.ok) throw new Error(`control ${route} failed: ${JSON.stringify(answer)}`);
      return answer;
    },
    async calls() {
      const response = await fetch(`${sandbox.url}/__sandbox/plaid/calls`);
      return ((await response.json()) as { calls: CallRecord[] }).calls;
    },
    async close() {
      await provider.close();
      await sandbox.close();
      await db.close();
    },
  };
}
