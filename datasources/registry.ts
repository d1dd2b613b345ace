/**
 * The registry: the providers of every partner in the module list (modules.ts) that this process can
 * reach, each behind its own resilience policy, with partner reads behind the cached fallback.
 *
 * A partner is reached at its configured URL, or, in development when unconfigured, at the local
 * sandbox the development layer started (and handed in with its hooks). A partner with neither is
 * simply absent.
 */
import type { Logger } from 'pino';
import { NotSupportedError } from '../domain/errors.js';
import type { ProviderName } from '../domain/model.js';
import type {
  AccountsProvider,
  CallContext,
  PaymentsProvider,
  ConsentsProvider,
  Provider,
  RefreshOutcome,
  SandboxLink,
} from '../domain/providers.js';
import { FallbackCache, withFallback, type CacheObserver, type CacheSettings } from './cache.js';
import type {
  PartnerEndpoint,
  PartnerModule,
  PartnerSettings,
  ProviderDeps,
  SandboxHooks,
} from './module.js';
import {
  PartnerPolicy,
  policySettings,
  type MinuteBucket,
  type PartnerHealth,
  type PolicyObserver,
} from './resilience.js';

/** A local sandbox standing in for an unconfigured partner (development and tests only). */
export interface SandboxEndpoint {
  endpoint: PartnerEndpoint;
  hooks: SandboxHooks;
}

export type SandboxEndpoints = Partial<Record<ProviderName, SandboxEndpoint>>;

/** Where policies and the fallback cache report (server/metrics.ts implements it). */
export interface RegistryObservers {
  partnerObserver(partner: ProviderName): PolicyObserver;
  cacheObserver(): CacheObserver;
  watchCache(cache: FallbackCache): void;
}

/** What the registry is built from: the modules, what the environment says of each, and the process. */
export interface RegistrySettings {
  modules: readonly PartnerModule[];
  partners: Readonly<Record<ProviderName, PartnerSettings>>;
  cache: CacheSettings;
  /** Where customers return after authorising a payment at a partner. */
  returnUrl: string | null;
  /** Development: the sandboxes standing in for unconfigured partners. */
  sandboxes?: SandboxEndpoints;
}

export interface RegistryDeps extends ProviderDeps {
  /** Absent in unit tests. */
  observers?: RegistryObservers;
}

export interface Registry {
  /** Names of the partners this process can reach. */
  names(): ProviderName[];
  /** Whether the partner is reachable here and has the accounts capability. */
  hasAccounts(name: ProviderName): boolean;
  /** The accounts capability of a partner (behind the cached fallback); NotSupportedError when it has none. */
  accounts(name: ProviderName): AccountsProvider;
  payments(name: ProviderName): PaymentsProvider;
  /**
   * The consent lifecycle at a partner; null when the partner has none (nothing to grant or delete
   * there); NotSupportedError when the partner is not reachable in this deployment.
   */
  consents(name: ProviderName): ConsentsProvider | null;
  /** Partners whose sandbox can link a demo customer. */
  sandboxLinkable(): ProviderName[];
  connectSandboxCustomer(name: ProviderName, customerId: string): Promise<SandboxLink>;
  /** Provider.refreshLink of a partner; NotSupportedError when it keeps nothing to refresh. */
  refreshLink(name: ProviderName, ctx: CallContext, externalRef: string): Promise<boolean>;
  /** Provider.refreshStale of every partner that keeps local copies, with what each did. */
  refreshStale(logger: Logger, before: Date, limit: number): Promise<Map<ProviderName, RefreshOutcome>>;
  /**
   * Erasure: drops the subject's partner data held in this process's cache and every partner's local
   * copies; returns how many links' local data each partner dropped.
   */
  eraseSubject(subject: string): Promise<Map<ProviderName, number>>;
  /** Forgets the subject's partner data held in this process (another replica erased them). */
  forgetSubject(subject: string): void;
  /** The endpoint the partner is reached at here (configured or sandbox); null when absent. */
  endpoint(name: ProviderName): PartnerEndpoint | null;
  /** Breaker state and the last minute of calls, per partner (the `partnerHealth` query). */
  health(): PartnerHealth[];
  /** The last hour of calls per minute, per partner (the operations console). */
  history(): Map<ProviderName, MinuteBucket[]>;
  close(): Promise<void>;
}

interface Entry {
  provider: Provider;
  endpoint: PartnerEndpoint;
  sandbox: boolean;
  policy: PartnerPolicy;
  accounts?: AccountsProvider;
}

export function createRegistry(settings: RegistrySettings, deps: RegistryDeps): Registry {
  const { observers, ...providerDeps } = deps;
  const entries = new Map<ProviderName, Entry>();
  // Every read goes through the fallback: remembered when it succeeds, served CACHED when the partner fails.
  const cache = new FallbackCache(settings.cache, observers?.cacheObserver());
  observers?.watchCache(cache);
  for (const module of settings.modules) {
    const partner = settings.partners[module.name];
    if (!partner) throw new Error(`No settings for partner ${module.name}.`);
    const sandbox = partner.endpoint ? null : (settings.sandboxes?.[module.name] ?? null);
    const endpoint = partner.endpoint ?? sandbox?.endpoint;
    if (!endpoint) {
      deps.logger.warn(
        { partner: module.name },
        'partner not configured and no sandbox running; it is disabled',
      );
      continue;
    }
    const observer = observers?.partnerObserver(module.name);
    const policy = new PartnerPolicy(module.name, policySettings(partner.calls), {
      logger: deps.logger,
      ...(observer ? { observer } : {}),
    });
    const provider = module.createProvider(
      {
        endpoint,
        calls: partner.calls,
        returnUrl: settings.returnUrl,
        policy,
        sandbox: sandbox?.hooks ?? null,
      },
      providerDeps,
    );
    const accounts = provider.accounts ? withFallback(provider.accounts, cache) : undefined;
    entries.set(module.name, {
      provider,
      endpoint,
      sandbox: sandbox !== null,
      policy,
      ...(accounts ? { accounts } : {}),
    });
  }

  const entryOf = (name: ProviderName): Entry => {
    const entry = entries.get(name);
    if (!entry) throw new NotSupportedError(name, 'anything in this deployment (it is not configured)');
    return entry;
  };

  return {
    names: () => [...entries.keys()],
    hasAccounts: (name) => entries.get(name)?.accounts !== undefined,
    accounts(name) {
      const capability = entryOf(name).accounts;
      if (!capability) throw new NotSupportedError(name, 'accounts');
      return capability;
    },
    payments(name) {
      const capability = entryOf(name).provider.payments;
      if (!capability) throw new NotSupportedError(name, 'payments');
      return capability;
    },
    consents: (name) => entryOf(name).provider.consents ?? null,
    sandboxLinkable: () =>
      [...entries]
        .filter(([, entry]) => entry.sandbox && entry.provider.connectSandboxCustomer)
        .map(([name]) => name),
    async connectSandboxCustomer(name, customerId) {
      const entry = entries.get(name);
      if (!entry?.sandbox || !entry.provider.connectSandboxCustomer) {
        throw new NotSupportedError(name, 'linking customers without the customer (sandbox only)');
      }
      return entry.provider.connectSandboxCustomer(customerId);
    },
    refreshLink(name, ctx, externalRef) {
      const provider = entryOf(name).provider;
      if (!provider.refreshLink) throw new NotSupportedError(name, 'refreshing a link from a webhook');
      return provider.refreshLink(ctx, externalRef);
    },
    async refreshStale(logger, before, limit) {
      const outcomes = new Map<ProviderName, RefreshOutcome>();
      for (const [name, entry] of entries) {
        if (entry.provider.refreshStale) {
          outcomes.set(name, await entry.provider.refreshStale(logger, before, limit));
        }
      }
      return outcomes;
    },
    async eraseSubject(subject) {
      cache.forgetSubject(subject);
      const dropped = new Map<ProviderName, number>();
      for (const [name, entry] of entries) {
        if (entry.provider.eraseSubject) dropped.set(name, await entry.provider.eraseSubject(subject));
      }
      return dropped;
    },
    forgetSubject(subject) {
      cache.forgetSubject(subject);
      for (const entry of entries.values()) entry.provider.forgetSubject?.(subject);
    },
    endpoint: (name) => entries.get(name)?.endpoint ?? null,
    health: () => [...entries.values()].map((entry) => entry.policy.health()),
    history: () => new Map([...entries].map(([name, entry]) => [name, entry.policy.history()])),
    async close() {
      await Promise.all([...entries.values()].map((entry) => entry.provider.close()));
    },
  };
}
