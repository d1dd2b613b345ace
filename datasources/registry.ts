/**
 * The registry: one line per partner. Adding a partner is a folder under datasources/ and a line in
 * FACTORIES; nothing else in the process names a partner.
 *
 * A partner is reached at its configured URL, or — in development, when unconfigured — at the local
 * sandbox the start command launched. A partner with neither is simply absent.
 */
import type { Logger } from 'pino';
import type { Config, PartnerEndpointConfig } from '../server/config.js';
import type { Metrics } from '../server/metrics.js';
import { NotSupportedError } from '../domain/errors.js';
import { FallbackCache, withFallback } from './cache.js';
import type { ProviderName } from '../domain/model.js';
import { openBankingFromSettings } from './openbanking/index.js';
import { plaidFromSettings } from './plaid/index.js';
import { stripeFromSettings } from './stripe/index.js';
import type { Db } from '../store/db.js';
import { routedCredentials, withRequestCredentials } from './request-credentials.js';
import { PartnerPolicy, policySettings, type PartnerHealth } from './resilience.js';
import type {
  AccountsProvider,
  CallContext,
  CredentialStore,
  PaymentsProvider,
  Provider,
  SandboxLink,
} from '../domain/providers.js';

/** Everything a provider factory gets: where the partner is, how to call it, whose credentials. */
export interface ProviderSettings {
  endpoint: PartnerEndpointConfig;
  http: Config['http'];
  /** True when talking to the local sandbox (enables sandbox-only flows). */
  sandbox: boolean;
  /** Where customers return after authorising a payment at the partner. */
  returnUrl?: string | null;
  /**
   * The partner's resilience policy: pass it to PartnerHttp (`policy`), or run each SDK attempt
   * through `policy.execute(fn, { kind, endpoint })`. One per partner, shared by all its clients.
   * The registry always sets it; absent (tests building a provider alone) means one plain attempt.
   */
  policy?: PartnerPolicy;
}

export interface ProviderDeps {
  credentials: CredentialStore;
  /** For providers that keep partner state in the store (Plaid's sync cursor); SQL stays in store/. */
  db: Db;
  logger: Logger;
}

/** What the registry itself needs besides the providers' deps. */
export interface RegistryDeps extends ProviderDeps {
  /** Where policies and the fallback cache report; absent in unit tests. */
  metrics?: Metrics;
}

type ProviderFactory = (settings: ProviderSettings, deps: ProviderDeps) => Provider;

const FACTORIES: Partial<Record<ProviderName, ProviderFactory>> = {
  openbanking: openBankingFromSettings,
  plaid: plaidFromSettings,
  stripe: stripeFromSettings,
};

export type SandboxEndpoints = Partial<Record<ProviderName, PartnerEndpointConfig>>;

export interface Registry {
  /** Names of the partners this process can reach. */
  names(): ProviderName[];
  hasAccounts(name: ProviderName): boolean;
  /** The accounts capability of a partner; NotSupportedError when it has none. */
  accounts(name: ProviderName): AccountsProvider;
  payments(name: ProviderName): PaymentsProvider;
  /** Partners whose sandbox can link a demo customer. */
  sandboxLinkable(): ProviderName[];
  connectSandboxCustomer(name: ProviderName, customerId: string): Promise<SandboxLink>;
  /** Provider.refreshLink of a partner; NotSupportedError when it keeps nothing to refresh. */
  refreshLink(name: ProviderName, ctx: CallContext, externalRef: string): Promise<boolean>;
  /** Breaker state and the last minute of calls, per partner (the `partnerHealth` query). */
  health(): PartnerHealth[];
  close(): Promise<void>;
}

export function createRegistry(config: Config, deps: RegistryDeps, sandboxes: SandboxEndpoints): Registry {
  const { metrics, ...rest } = deps;
  // A call carrying the request's credential store (CallContext.credentials) is answered from it.
  const providerDeps = { ...rest, credentials: routedCredentials(rest.credentials) };
  const providers = new Map<
    ProviderName,
    { provider: Provider; sandbox: boolean; policy: PartnerPolicy; accounts?: AccountsProvider }
  >();
  // Every read goes through the fallback: remembered when it succeeds, served CACHED when the partner fails.
  const cache = new FallbackCache(config.cache, metrics?.cacheObserver());
  metrics?.watchCache(cache);
  const settings = policySettings(config);
  for (const [name, factory] of Object.entries(FACTORIES) as [ProviderName, ProviderFactory][]) {
    const configured = config.partners[name as keyof Config['partners']] ?? null;
    const endpoint = configured ?? sandboxes[name];
    if (!endpoint) {
      deps.logger.warn({ partner: name }, 'partner not configured and no sandbox running; it is disabled');
      continue;
    }
    const sandbox = configured === null;
    const observer = metrics?.partnerObserver(name);
    const policy = new PartnerPolicy(name, settings, {
      logger: deps.logger,
      ...(observer ? { observer } : {}),
    });
    const provider = factory(
      { endpoint, http: config.http, sandbox, policy, returnUrl: config.paymentReturnUrl },
      providerDeps,
    );
    const accounts = provider.accounts
      ? withRequestCredentials(withFallback(provider.accounts, cache))
      : undefined;
    providers.set(name, { provider, sandbox, policy, ...(accounts ? { accounts } : {}) });
  }

  const entryOf = (name: ProviderName) => {
    const entry = providers.get(name);
    if (!entry) throw new NotSupportedError(name, 'anything in this deployment (it is not configured)');
    return entry;
  };
  const get = (name: ProviderName): Provider => entryOf(name).provider;

  return {
    names: () => [...providers.keys()],
    hasAccounts: (name) => providers.get(name)?.provider.accounts !== undefined,
    accounts(name) {
      const capability = entryOf(name).accounts;
      if (!capability) throw new NotSupportedError(name, 'accounts');
      return capability;
    },
    payments(name) {
      const capability = get(name).payments;
      if (!capability) throw new NotSupportedError(name, 'payments');
      return capability;
    },
    sandboxLinkable: () =>
      [...providers]
        .filter(([, entry]) => entry.sandbox && entry.provider.connectSandboxCustomer)
        .map(([name]) => name),
    async connectSandboxCustomer(name, customerId) {
      const entry = providers.get(name);
      if (!entry?.sandbox || !entry.provider.connectSandboxCustomer) {
        throw new NotSupportedError(name, 'linking customers without the customer (sandbox only)');
      }
      return entry.provider.connectSandboxCustomer(customerId);
    },
    refreshLink(name, ctx, externalRef) {
      const provider = get(name);
      if (!provider.refreshLink) throw new NotSupportedError(name, 'refreshing a link from a webhook');
      return provider.refreshLink(ctx, externalRef);
    },
    health: () => [...providers.values()].map((entry) => entry.policy.health()),
    async close() {
      await Promise.all([...providers.values()].map((entry) => entry.provider.close()));
    },
  };
}
