/**
 * The Plaid provider: accounts, balances and transactions of a subject's linked Item.
 *
 * The Item's access token comes from the CredentialStore (sealed at rest in consents); nothing here
 * stores a token. Accounts and balances are one partner call each, whatever the number of accounts.
 * Transactions are served from a local copy that /transactions/sync keeps current from a persisted
 * cursor (sync.ts). The sync is off the read path: Plaid's SYNC_UPDATES_AVAILABLE webhook
 * (`refreshLink`) and the scheduled refresh of old copies (`refreshStale`) keep it current, and a read
 * answers from the copy, marked `CACHED` as of its last sync, in one statement. A read syncs first only
 * before the Item's first sync, or when the client asked for data younger than the copy
 * (`CallContext.maxAgeSeconds`, e.g. `Cache-Control: no-cache`); such a live read makes no statement
 * when Plaid reports nothing new since the copy this replica last read (replica-memory.ts), and
 * concurrent live reads share one sync. If Plaid fails then, the failure is
 * the answer, and the cached fallback above the provider (datasources/cache.ts) decides what to serve,
 * as for every other partner read.
 */
import { randomUUID } from 'node:crypto';
import type { Logger } from 'pino';
import type { PlaidSyncStore } from './store.js';
import { ConsentRequiredError, InputError, PartnerError } from '../../domain/errors.js';
import type { Freshness } from '../../domain/model.js';
import {
  credentialsFor,
  type AccountsProvider,
  type CallContext,
  type ConsentsProvider,
  type CredentialStore,
  type PartnerCredential,
  type Provider,
  type SandboxLink,
} from '../../domain/providers.js';
import { contractViolation } from '../contract.js';
import { PlaidClient, type PlaidCall, type PlaidClientOptions } from './client.js';
import { mapReported } from './errors.js';
import { toAccounts, toBalances, toTransaction } from './mapper.js';
import { sameRead, type PlaidCopy, type PlaidCopyRead } from './copy.js';
import { syncItem, type SyncSettings, type SyncTarget } from './sync.js';
import type { AccountsGetResponse } from './types.js';

export { PlaidClient, type PlaidClientOptions } from './client.js';

/** Configuration of the Plaid provider (the client's, plus how transactions are synced). */
export interface PlaidOptions extends PlaidClientOptions {
  /** Updates per /transactions/sync page, 1..500. Default 500 (Plaid's maximum). */
  syncPageSize?: number;
  /** Restarts after TRANSACTIONS_SYNC_MUTATION_DURING_PAGINATION before failing. Default 3. */
  maxSyncRestarts?: number;
  /** Pages one sync may take before it is treated as a runaway. Default 1000. */
  maxSyncPages?: number;
  /** Clock for freshness stamps; exists for tests. */
  now?: () => Date;
}

/** What the provider is built with. */
export interface PlaidDeps {
  credentials: CredentialStore;
  sync: PlaidSyncStore;
  /** Root logger; used for calls made outside a request (sandbox links). */
  logger: Logger;
}

/** What a Plaid Item grants, in canonical permissions. */
export const PLAID_PERMISSIONS = ['accounts:read', 'balances:read', 'transactions:read'] as const;

/** Builds the Plaid registry entry. */
export function createPlaidProvider(options: PlaidOptions, deps: PlaidDeps): Provider {
  const client = new PlaidClient(options);
  const now = options.now ?? (() => new Date());
  const settings: SyncSettings = {
    pageSize: Math.min(500, Math.max(1, options.syncPageSize ?? 500)),
    maxRestarts: options.maxSyncRestarts ?? 3,
    maxPages: options.maxSyncPages ?? 1000,
  };
  const live = (): Freshness => ({ source: 'LIVE', asOf: now(), provider: 'plaid' });

  // One request may ask for several windows at once, and concurrent live reads ask for the same one:
  // they share one sync of the Item, not one each.
  const inflight = new Map<string, Promise<{ copy: PlaidCopy | null; read?: PlaidCopyRead }>>();
  const keyOf = (target: SyncTarget) => `${target.subject}\u0000${target.itemId}`;
  /**
   * Syncs the Item, or joins the sync already running. The copy comes back when the sync could read
   * along: to the caller that started it with `read` (its own accounts and window), and to each caller
   * that joined it with the same read. Others read the copy themselves once the sync is done.
   */
  const syncOnce = async (
    ctx: CallContext,
    target: SyncTarget,
    read?: PlaidCopyRead,
  ): Promise<PlaidCopy | null> => {
    const key = keyOf(target);
    const running = inflight.get(key);
    if (running) {
      const done = await running;
      return read && done.read && sameRead(done.read, read) ? done.copy : null;
    }
    const started = syncItem(client, deps.sync, settings, ctx, target, read).finally(() =>
      inflight.delete(key),
    );
    const shared = started.then((copy) => ({ copy, read }));
    // Joiners see the failure; the starter gets it from `started`.
    shared.catch(() => undefined);
    inflight.set(key, shared);
    return started;
  };

  const served = (copy: PlaidCopy, source: Freshness['source'], subject: string) => {
    const freshness: Freshness = { source, asOf: copy.syncedAt, provider: 'plaid' };
    return copy.transactions.map((transaction) => toTransaction(transaction, subject, freshness));
  };

  const linkOf = async (ctx: CallContext, permission: string): Promise<PartnerCredential> => {
    const credential = await credentialsFor(ctx, deps.credentials).get(ctx.subject, 'plaid');
    if (!credential) throw new ConsentRequiredError('plaid', permission);
    return credential;
  };

  /** The token must open the Item the subject linked; anything else would mix customers. */
  const checkItem = (
    ctx: CallContext,
    response: AccountsGetResponse,
    credential: PartnerCredential,
    endpoint: string,
  ) => {
    if (response.item.item_id !== credential.externalRef) {
      throw contractViolation({
        partner: 'plaid',
        endpoint,
        issues: ['item.item_id: not the Item linked for this subject'],
        call: ctx,
        level: 'error',
      });
    }
  };

  const refreshLink = async (ctx: CallContext, itemId: string): Promise<boolean> => {
    const credential = await credentialsFor(ctx, deps.credentials).get(ctx.subject, 'plaid');
    if (!credential || credential.externalRef !== itemId) return false;
    const target = { subject: ctx.subject, itemId, accessToken: credential.accessToken };
    // A sync already running may have read Plaid before the change being announced: let it finish,
    // then sync again (callers arriving from here on share that second sync).
    await inflight.get(keyOf(target))?.catch(() => undefined);
    await syncOnce(ctx, target);
    return true;
  };

  const accounts: AccountsProvider = {
    name: 'plaid',

    async listAccounts(ctx) {
      const credential = await linkOf(ctx, 'accounts:read');
      const endpoint = 'POST /accounts/get';
      const response = await client.getAccounts(ctx, credential.accessToken);
      checkItem(ctx, response, credential, endpoint);
      return mapReported(ctx, () => toAccounts(response.accounts, ctx.subject, live(), endpoint));
    },

    async getBalances(ctx, partnerAccountIds) {
      if (partnerAccountIds.length === 0) return new Map();
      const credential = await linkOf(ctx, 'balances:read');
      const endpoint = 'POST /accounts/balance/get';
      // No account filter: Plaid fails the whole call for an id not on the Item, and one call
      // returns every account anyway; accounts not asked for are dropped here.
      const response = await client.getBalances(ctx, credential.accessToken);
      checkItem(ctx, response, credential, endpoint);
      return mapReported(ctx, () =>
        toBalances(response.accounts, new Set(partnerAccountIds), live(), endpoint),
      );
    },

    async listTransactions(ctx, partnerAccountIds, query) {
      if (partnerAccountIds.length === 0) return [];
      const credential = await linkOf(ctx, 'transactions:read');
      const target = {
        subject: ctx.subject,
        itemId: credential.externalRef,
        accessToken: credential.accessToken,
      };
      const read = () => deps.sync.readCopy(ctx.subject, target.itemId, partnerAccountIds, query);
      // A client that asked for live data would find any copy too old: sync without reading it first.
      const copy = ctx.maxAgeSeconds === 0 ? null : await read();
      const tooOld =
        copy !== null &&
        ctx.maxAgeSeconds !== undefined &&
        now().getTime() - copy.syncedAt.getTime() > ctx.maxAgeSeconds * 1000;
      if (copy && !tooOld) return served(copy, 'CACHED', ctx.subject);
      const synced =
        (await syncOnce(ctx, target, { accountIds: partnerAccountIds, window: query })) ?? (await read());
      if (!synced) throw new ConsentRequiredError('plaid', 'transactions:read');
      return served(synced, 'LIVE', ctx.subject);
    },
  };

  /**
   * Plaid's consent lifecycle: a Link token for the app (Plaid Link is the customer's side, so there is
   * no redirect, state or PKCE at Plaid), the public token Link returns exchanged for the Item, and
   * /item/remove, after which the local copy of the Item's transactions is dropped too.
   */
  const consents: ConsentsProvider = {
    name: 'plaid',
    async start(ctx, request) {
      const unknown = request.permissions.filter(
        (permission) => !(PLAID_PERMISSIONS as readonly string[]).includes(permission),
      );
      if (unknown.length > 0) {
        throw new InputError(
          `Plaid grants ${PLAID_PERMISSIONS.join(', ')}; not ${unknown.join(', ')}.`,
          'permissions',
        );
      }
      if (request.expiresAt) {
        throw new InputError('A Plaid Item has no expiry of its own; leave expiresAt out.', 'expiresAt');
      }
      const { linkToken, expiration } = await client.createLinkToken(ctx, {
        customerRef: request.customerRef,
        redirectUri: null,
        // Webhooks reach Tributary through the dashboard's registration, not per Item.
        webhook: null,
      });
      return {
        partnerRef: linkToken,
        authorisationUrl: null,
        linkToken,
        answerBy: expiration,
        permissions: [...PLAID_PERMISSIONS],
        expiresAt: null,
      };
    },
    async complete(ctx, _pending, publicToken) {
      try {
        const { accessToken, itemId } = await client.exchangePublicToken(ctx, publicToken);
        // Plaid access tokens do not expire; the Item lives until it is removed.
        return { partnerRef: itemId, accessToken, refreshToken: null, tokenExpiresAt: null };
      } catch (error) {
        if (error instanceof PartnerError && error.partnerCode === 'INVALID_PUBLIC_TOKEN') {
          throw new InputError('Plaid refused the public token: expired, used or not from Link.', 'code');
        }
        throw error;
      }
    },
    async revoke(ctx, link) {
      // A grant revoked before Link finished holds no Item: nothing to remove at Plaid.
      if (link.accessToken) await client.removeItem(ctx, link.accessToken);
      await deps.sync.forgetItem(ctx.subject, link.partnerRef);
    },
  };

  return {
    name: 'plaid',
    accounts,
    consents,

    async connectSandboxCustomer(customerId: string): Promise<SandboxLink> {
      const call: PlaidCall = {
        correlationId: randomUUID(),
        logger: deps.logger.child({ partner: 'plaid' }),
      };
      const publicToken = await client.linkSandboxItem(call, customerId);
      const { accessToken, itemId } = await client.exchangePublicToken(call, publicToken);
      // Plaid access tokens do not expire; the Item lives until it is removed.
      return {
        externalRef: itemId,
        accessToken,
        refreshToken: null,
        tokenExpiresAt: null,
        permissions: [...PLAID_PERMISSIONS],
        expiresAt: null,
      };
    },

    async refreshStale(logger, before, limit) {
      const outcome = { refreshed: 0, forgotten: 0, failed: 0 };
      for (const item of await deps.sync.staleItems(before, limit)) {
        const ctx: CallContext = {
          subject: item.subject,
          correlationId: `refresh-${randomUUID()}`,
          logger,
        };
        try {
          if (await refreshLink(ctx, item.itemId)) outcome.refreshed += 1;
          else {
            // The subject no longer has this Item linked: its copy serves nobody and is dropped.
            await deps.sync.forgetItem(item.subject, item.itemId);
            outcome.forgotten += 1;
          }
        } catch (error) {
          outcome.failed += 1;
          logger.warn(
            { partner: 'plaid', err: error, itemId: item.itemId },
            'Scheduled refresh of a Plaid Item failed; the next run tries again.',
          );
        }
      }
      return outcome;
    },

    refreshLink,

    eraseSubject: (subject) => deps.sync.eraseSubject(subject),

    forgetSubject: (subject) => deps.sync.forgetSubject(subject),

    close: () => client.close(),
  };
}
