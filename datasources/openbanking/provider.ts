/**
 * The Open Banking provider: accounts, balances and transactions of one subject through the bank's
 * bulk endpoints (one /accounts, one /balances, one /transactions call per request, plus pages,
 * whatever the number of accounts), domestic payments (pis.ts), and the onboarding helper that
 * connects a customer. With `tls`, every call presents the client certificate (mutual TLS).
 */
import { randomUUID } from 'node:crypto';
import type { Logger } from 'pino';
import { authoriseInSandbox } from '../../sandboxes/openbanking/authorise.js';
import { ConsentRequiredError } from '../../domain/errors.js';
import type { Balance, Transaction } from '../../domain/model.js';
import type {
  AccountsProvider,
  CallContext,
  CredentialStore,
  PartnerCredential,
  Provider,
} from '../../domain/providers.js';
import { OpenBankingClient, type OpenBankingClientOptions } from './client.js';
import { contractViolation, type CanonicalPermission } from './errors.js';
import { MappingError, mapAccounts, mapBalances, mapTransactions, type MapContext } from './mapper.js';
import { PisClient } from './pis-client.js';
import { OpenBankingPayments } from './pis.js';
import type { Permission } from './types.js';

export type { Permission as OpenBankingPermission } from './types.js';
export { OpenBankingPayments, type OpenBankingPaymentsOptions } from './pis.js';
export {
  PaymentRefusedError,
  type BankCancelOutcome,
  type BankPaymentOutcome,
  type BankPaymentRefusal,
  type BankPaymentRefusalCode,
} from './pis-outcomes.js';
export { CONSENT_STATUS, PAYMENT_STATUS, subjectBinding } from './pis-mapper.js';
export { loadClientTls } from './tls.js';

/** What connectCustomer asks for by default: everything the accounts graph shows, never ReadPAN. */
export const DEFAULT_PERMISSIONS: readonly Permission[] = [
  'ReadAccountsDetail',
  'ReadBalances',
  'ReadTransactionsDetail',
  'ReadTransactionsCredits',
  'ReadTransactionsDebits',
];

/** Client options plus what connectCustomer asks for. */
export type OpenBankingProviderOptions = OpenBankingClientOptions & {
  /** Permissions connectCustomer requests. Default DEFAULT_PERMISSIONS. */
  permissions?: readonly Permission[];
  /**
   * How customers approve payments: 'sandbox' (the sandbox stands in, the payment is made at once) or
   * 'redirect' (createPayment answers REQUIRES_ACTION with the bank's authorisation URL). Default redirect.
   */
  paymentAuthorisation?: 'sandbox' | 'redirect';
  /** The bank's authorisation endpoint (redirect mode). Default `${baseUrl}/authorize`. */
  authorisationEndpoint?: string;
  /** Where the bank sends the customer back after approving a payment (redirect mode). */
  returnUrl?: string | null;
  /** Timeouts of Payment Initiation calls (a payment may wait on the scheme). Default `timeouts`. */
  paymentTimeouts?: OpenBankingClientOptions['timeouts'];
};

/** Options of one onboarding run. */
export interface ConnectOptions {
  permissions?: readonly Permission[];
  /** Consent lifetime; absent = open-ended. */
  expiresAt?: Date;
  /** How the customer approves the consent. Default: the sandbox's stand-in for the bank's journey. */
  authorise?: (consentId: string, psuId: string) => Promise<string>;
  correlationId?: string;
}

/** The Open Banking entry of the registry. */
export interface OpenBankingProvider extends Provider {
  readonly name: 'openbanking';
  readonly accounts: AccountsProvider;
  readonly payments: OpenBankingPayments;
  /**
   * Onboards a customer: consent -> customer approval -> code exchange. Returns the credential to
   * store for the subject (the caller adds `subject`). Used by dev seeding and tests.
   */
  connectCustomer(psuId: string, options?: ConnectOptions): Promise<Omit<PartnerCredential, 'subject'>>;
}

/** Builds the Open Banking provider. */
export function createOpenBankingProvider(
  options: OpenBankingProviderOptions,
  deps: { credentials: CredentialStore; logger: Logger },
): OpenBankingProvider {
  const client = new OpenBankingClient(options, deps);
  const now = options.now ?? Date.now;
  const sandboxApproval = (consentId: string, psuId: string) =>
    authoriseInSandbox(options.baseUrl, consentId, psuId, { tls: options.tls });

  async function credentialFor(
    ctx: CallContext,
    permission: CanonicalPermission,
  ): Promise<PartnerCredential> {
    const credential = await deps.credentials.get(ctx.subject, 'openbanking');
    if (!credential) throw new ConsentRequiredError('openbanking', permission);
    return credential;
  }

  function mapped<T>(ctx: CallContext, endpoint: string, map: (mc: MapContext) => T): T {
    try {
      return map({ ownerId: ctx.subject, asOf: new Date(now()) });
    } catch (error) {
      if (error instanceof MappingError)
        throw contractViolation(ctx.logger, ctx.correlationId, endpoint, error.issues);
      throw error;
    }
  }

  const accounts: AccountsProvider = {
    name: 'openbanking',
    async listAccounts(ctx) {
      const credential = await credentialFor(ctx, 'accounts:read');
      const wire = await client.listAccounts(ctx, credential);
      return mapped(ctx, 'GET /accounts', (mc) => mapAccounts(wire, mc));
    },
    async getBalances(ctx, partnerAccountIds) {
      const result = new Map<string, Balance>();
      if (partnerAccountIds.length === 0) return result;
      const credential = await credentialFor(ctx, 'balances:read');
      const wanted = new Set(partnerAccountIds);
      const wire = await client.listBalances(ctx, credential);
      const all = mapped(ctx, 'GET /balances', (mc) =>
        mapBalances(
          wire.filter((b) => wanted.has(b.AccountId)),
          mc,
        ),
      );
      for (const id of partnerAccountIds) {
        const balance = all.get(id);
        if (balance) result.set(id, balance);
      }
      return result;
    },
    async listTransactions(ctx, partnerAccountIds, query) {
      if (partnerAccountIds.length === 0) return [];
      const credential = await credentialFor(ctx, 'transactions:read');
      const wanted = new Set(partnerAccountIds);
      const wire = await client.listTransactions(ctx, credential, query);
      const mine = wire.filter((tx) => wanted.has(tx.AccountId));
      const list = mapped(ctx, 'GET /transactions', (mc) => mapTransactions(mine, mc));
      return list
        .filter((tx) => inRange(tx, query.from, query.to))
        .sort(
          (a, b) => b.bookedAt.getTime() - a.bookedAt.getTime() || a.partnerId.localeCompare(b.partnerId),
        );
    },
  };

  const pis = new PisClient(
    options.paymentTimeouts ? { ...options, timeouts: options.paymentTimeouts } : options,
    deps,
  );
  const payments = new OpenBankingPayments(
    pis,
    async (ctx, accountId) => client.getAccount(ctx, await credentialFor(ctx, 'accounts:read'), accountId),
    {
      clientId: options.clientId,
      authorisation: options.paymentAuthorisation ?? 'redirect',
      authorise: sandboxApproval,
      authorisationEndpoint:
        options.authorisationEndpoint ?? new URL('/authorize', options.baseUrl).toString(),
      returnUrl: options.returnUrl ?? null,
    },
  );

  return {
    name: 'openbanking',
    accounts,
    payments,
    async connectCustomer(psuId, connect = {}) {
      const ctx = {
        correlationId: connect.correlationId ?? randomUUID(),
        logger: deps.logger.child({ partner: 'openbanking' }),
      };
      const consent = await client.createConsent(ctx, {
        permissions: connect.permissions ?? options.permissions ?? DEFAULT_PERMISSIONS,
        ...(connect.expiresAt ? { expirationDateTime: connect.expiresAt } : {}),
      });
      const authorise = connect.authorise ?? sandboxApproval;
      const code = await authorise(consent.ConsentId, psuId);
      const tokens = await client.exchangeCode(ctx, code);
      return { provider: 'openbanking', externalRef: consent.ConsentId, ...tokens };
    },
    async close() {
      await Promise.all([client.close(), pis.close()]);
    },
  };
}

function inRange(tx: Transaction, from: Date | undefined, to: Date | undefined): boolean {
  const at = tx.bookedAt.getTime();
  return (from === undefined || at >= from.getTime()) && (to === undefined || at <= to.getTime());
}
