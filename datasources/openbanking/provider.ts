/**
 * The Open Banking provider: accounts, balances and transactions of one subject through the bank's
 * bulk endpoints (one /accounts, one /balances, one /transactions call per request, plus pages,
 * whatever the number of accounts), domestic payments (pis.ts), and the onboarding helper that
 * connects a customer. With `tls`, every call presents the client certificate (mutual TLS). Account
 * and payment calls share one HTTP stack (transport.ts), closed once by `close`.
 */
import { randomUUID } from 'node:crypto';
import type { Logger } from 'pino';
import { ConsentRequiredError } from '../../domain/errors.js';
import type { Balance, Transaction } from '../../domain/model.js';
import {
  credentialsFor,
  type AccountsProvider,
  type CallContext,
  type CredentialStore,
  type ConsentsProvider,
  type PartnerCredential,
  type Provider,
} from '../../domain/providers.js';
import { openBankingConsents } from './consents.js';
import { contractViolation } from '../contract.js';
import type { SandboxHooks } from '../module.js';
import { OpenBankingClient, type OpenBankingClientOptions } from './client.js';
import type { CanonicalPermission } from './errors.js';
import { MappingError, mapAccounts, mapBalances, mapTransactions, type MapContext } from './mapper.js';
import { PAYMENT_ENDPOINTS, PisClient } from './pis-client.js';
import { OpenBankingPayments, type ConsentApproval } from './pis.js';
import { OpenBankingTransport } from './transport.js';
import type { Permission } from './types.js';

export type { Permission as OpenBankingPermission } from './types.js';
export { OpenBankingPayments, type ConsentApproval, type OpenBankingPaymentsOptions } from './pis.js';
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

/** Client options plus how customers approve consents and what connectCustomer asks for. */
export type OpenBankingProviderOptions = OpenBankingClientOptions & {
  /** Permissions connectCustomer requests. Default DEFAULT_PERMISSIONS. */
  permissions?: readonly Permission[];
  /**
   * Set only against the local sandbox: its stand-in for the customer approves consents, so payments
   * are made at once and connectCustomer needs no `authorise`. Absent (a real bank): createPayment
   * answers REQUIRES_ACTION with the bank's authorisation URL.
   */
  sandbox?: SandboxHooks | null;
  /** The bank's authorisation endpoint, where customers approve. Default `${baseUrl}/authorize`. */
  authorisationEndpoint?: string;
  /** Where the bank sends the customer back after approving a payment. */
  returnUrl?: string | null;
  /** Payment Initiation API base path. Default "/open-banking/v3.1/pisp". */
  pisPath?: string;
};

/** Options of one onboarding run. */
export interface ConnectOptions {
  permissions?: readonly Permission[];
  /** Consent lifetime; absent = open-ended. */
  expiresAt?: Date;
  /** How the customer approves the consent. Default: the sandbox's stand-in (`sandbox.approveConsent`). */
  authorise?: ConsentApproval;
  correlationId?: string;
}

/** The Open Banking entry of the registry. */
export interface OpenBankingProvider extends Provider {
  readonly name: 'openbanking';
  readonly accounts: AccountsProvider;
  readonly payments: OpenBankingPayments;
  readonly consents: ConsentsProvider;
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
  const transport = new OpenBankingTransport(options, deps, PAYMENT_ENDPOINTS);
  const client = new OpenBankingClient(transport, options);
  const now = options.now ?? Date.now;
  const approveConsent = options.sandbox?.approveConsent?.bind(options.sandbox) ?? null;

  async function credentialFor(
    ctx: CallContext,
    permission: CanonicalPermission,
  ): Promise<PartnerCredential> {
    const credential = await credentialsFor(ctx, deps.credentials).get(ctx.subject, 'openbanking');
    if (!credential) throw new ConsentRequiredError('openbanking', permission);
    return credential;
  }

  function mapped<T>(ctx: CallContext, endpoint: string, map: (mc: MapContext) => T): T {
    try {
      return map({ ownerId: ctx.subject, asOf: new Date(now()) });
    } catch (error) {
      if (error instanceof MappingError)
        throw contractViolation({ partner: 'openbanking', endpoint, issues: error.issues, call: ctx });
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

  const payments = new OpenBankingPayments(
    new PisClient(transport, options),
    async (ctx, accountId) => client.getAccount(ctx, await credentialFor(ctx, 'accounts:read'), accountId),
    {
      clientId: options.clientId,
      approveConsent,
      authorisationEndpoint:
        options.authorisationEndpoint ?? new URL('/authorize', options.baseUrl).toString(),
      returnUrl: options.returnUrl ?? null,
    },
  );

  const authorisationEndpoint =
    options.authorisationEndpoint ?? new URL('/authorize', options.baseUrl).toString();
  const consents = openBankingConsents(client, {
    clientId: options.clientId,
    clientSecret: options.clientSecret,
    authorisationEndpoint,
    now,
  });

  return {
    name: 'openbanking',
    accounts,
    payments,
    consents,
    async connectCustomer(psuId, connect = {}) {
      const authorise = connect.authorise ?? approveConsent;
      if (!authorise) {
        throw new Error(
          "connecting a customer needs the customer's approval at the bank: pass `authorise`, or run against the sandbox",
        );
      }
      const ctx = {
        correlationId: connect.correlationId ?? randomUUID(),
        logger: deps.logger.child({ partner: 'openbanking' }),
      };
      const consent = await client.createConsent(ctx, {
        permissions: connect.permissions ?? options.permissions ?? DEFAULT_PERMISSIONS,
        ...(connect.expiresAt ? { expirationDateTime: connect.expiresAt } : {}),
      });
      const decision = await authorise(consent.ConsentId, psuId);
      if (!decision.approved) {
        throw new Error(`the customer did not approve the Open Banking consent: ${decision.reason}`);
      }
      const tokens = await client.exchangeCode(ctx, decision.code);
      return { provider: 'openbanking', externalRef: consent.ConsentId, ...tokens };
    },
    close: () => transport.close(),
  };
}

function inRange(tx: Transaction, from: Date | undefined, to: Date | undefined): boolean {
  const at = tx.bookedAt.getTime();
  return (from === undefined || at >= from.getTime()) && (to === undefined || at <= to.getTime());
}
