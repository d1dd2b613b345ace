/**
 * Open Banking wire calls as domain verbs, on the provider's shared HTTP stack (transport.ts):
 * consents with the client-credentials token, account data with the customer's token (refreshed
 * shortly before expiry, or once after a 401), lists followed through Links.Next. Token lifecycles
 * live in tokens.ts.
 */
import { z } from 'zod';
import { ConsentRequiredError } from '../../domain/errors.js';
import type { PartnerHttp, PartnerRequest, PartnerResponse } from '../http.js';
import type { PartnerCredential } from '../../domain/providers.js';
import { contractViolation } from '../contract.js';
import { isConsentGone, isInvalidGrant, isUnauthorised, PERMISSION_FOR_ENDPOINT } from './errors.js';
import { callFields, type Call, type OpenBankingTokens, type PsuCall, type PsuTokens } from './tokens.js';
import type { OpenBankingHttpOptions, OpenBankingTransport } from './transport.js';
import {
  readAccountSchema,
  readBalanceSchema,
  readConsentResponseSchema,
  readTransactionSchema,
  type Permission,
  type ReadConsentResponse,
  type ReadTransaction,
  type WireAccount,
  type WireBalance,
  type WireTransaction,
} from './types.js';

export type { PsuTokens } from './tokens.js';

/** Where the bank's Account and Transaction API is, and how far lists are followed. */
export interface AccountApiOptions {
  /** Account and Transaction API base path. Default "/open-banking/v3.1/aisp". */
  aisPath?: string;
  /** Safety stop when following Links.Next. Default 100. */
  maxPages?: number;
}

/** The bank, our client, the HTTP limits, and the Account and Transaction API. */
export type OpenBankingClientOptions = OpenBankingHttpOptions & AccountApiOptions;

/** What an account-access consent asks the customer to grant. */
export interface ConsentRequest {
  permissions: readonly Permission[];
  expirationDateTime?: Date;
  transactionFromDateTime?: Date;
  transactionToDateTime?: Date;
}

type Holder = { credential: PartnerCredential };
type Req<T> = Omit<PartnerRequest<T>, 'correlationId' | 'logger' | 'signal' | 'auth'>;

/** The bank's API as domain verbs; returns wire types, which provider.ts maps. */
export class OpenBankingClient {
  private readonly http: PartnerHttp;
  private readonly tokens: OpenBankingTokens;
  private readonly base: string;

  constructor(
    transport: OpenBankingTransport,
    private readonly options: AccountApiOptions = {},
  ) {
    this.http = transport.http;
    this.tokens = transport.tokens;
    this.base = (options.aisPath ?? '/open-banking/v3.1/aisp').replace(/\/$/, '');
  }

  /** Creates an account-access consent (status AwaitingAuthorisation) for the customer to approve. */
  async createConsent(ctx: Call, request: ConsentRequest): Promise<ReadConsentResponse['Data']> {
    const Data: Record<string, unknown> = { Permissions: [...request.permissions] };
    if (request.expirationDateTime) Data.ExpirationDateTime = request.expirationDateTime.toISOString();
    if (request.transactionFromDateTime)
      Data.TransactionFromDateTime = request.transactionFromDateTime.toISOString();
    if (request.transactionToDateTime)
      Data.TransactionToDateTime = request.transactionToDateTime.toISOString();
    const res = await this.tppCall(ctx, {
      method: 'POST',
      path: `${this.base}/account-access-consents`,
      endpoint: 'POST /account-access-consents',
      json: { Data, Risk: {} },
      schema: readConsentResponseSchema,
    });
    return res.data.Data;
  }

  async getConsent(ctx: Call, consentId: string): Promise<ReadConsentResponse['Data']> {
    const res = await this.tppCall(ctx, {
      method: 'GET',
      path: `${this.base}/account-access-consents/${encodeURIComponent(consentId)}`,
      endpoint: 'GET /account-access-consents/{ConsentId}',
      schema: readConsentResponseSchema,
    });
    return res.data.Data;
  }

  /**
   * Deletes an account-access consent at the bank (the customer revoked it). A consent the bank no
   * longer knows is already gone, which is success too; other failures throw.
   */
  async deleteConsent(ctx: Call, consentId: string): Promise<void> {
    try {
      await this.tppCall(ctx, {
        method: 'DELETE',
        path: `${this.base}/account-access-consents/${encodeURIComponent(consentId)}`,
        endpoint: 'DELETE /account-access-consents/{ConsentId}',
        // 204 No Content.
        schema: z.undefined(),
      });
    } catch (error) {
      if (!isConsentGone(error)) throw error;
    }
  }

  /** Exchanges the authorisation code the customer's approval produced for PSU tokens. */
  async exchangeCode(
    ctx: Call,
    code: string,
    journey?: { codeVerifier: string; redirectUri: string },
  ): Promise<PsuTokens> {
    return this.tokens.exchangeCode(ctx, code, journey);
  }

  /** Refreshes a customer's tokens and saves them; concurrent callers share one refresh. */
  async refreshPsuToken(ctx: PsuCall, credential: PartnerCredential): Promise<PartnerCredential> {
    return this.tokens.refresh(ctx, credential);
  }

  /** Every account the consent covers (follows Links.Next). */
  async listAccounts(ctx: PsuCall, credential: PartnerCredential): Promise<WireAccount[]> {
    return this.pages(ctx, credential, 'GET /accounts', readAccountSchema, (d) => d.Data.Account ?? []);
  }

  /** One account; NotFoundError when the customer does not hold it. */
  async getAccount(
    ctx: PsuCall,
    credential: PartnerCredential,
    accountId: string,
  ): Promise<WireAccount | null> {
    const res = await this.psuCall(
      ctx,
      { credential },
      {
        method: 'GET',
        path: `${this.base}/accounts/${encodeURIComponent(accountId)}`,
        endpoint: 'GET /accounts/{AccountId}',
        schema: readAccountSchema,
      },
    );
    return res.data.Data.Account?.[0] ?? null;
  }

  /** Balances of every account the consent covers, in one bulk call (plus pages). */
  async listBalances(ctx: PsuCall, credential: PartnerCredential): Promise<WireBalance[]> {
    return this.pages(ctx, credential, 'GET /balances', readBalanceSchema, (d) => d.Data.Balance);
  }

  /** Transactions of every account the consent covers, in one bulk call (plus pages). */
  async listTransactions(
    ctx: PsuCall,
    credential: PartnerCredential,
    range: { from?: Date; to?: Date },
  ): Promise<WireTransaction[]> {
    // The spec says ASPSPs ignore any timezone, so send UTC wall-clock time without one; whole
    // seconds, widened outwards, and the caller filters exactly.
    const query = {
      fromBookingDateTime: range.from ? utcSeconds(range.from, 'floor') : undefined,
      toBookingDateTime: range.to ? utcSeconds(range.to, 'ceil') : undefined,
    };
    const pick = (d: ReadTransaction) => d.Data.Transaction ?? [];
    return this.pages(ctx, credential, 'GET /transactions', readTransactionSchema, pick, query);
  }

  /** Follows Links.Next from the first page; the first request carries the query, links carry their own. */
  private async pages<P extends { Links?: { Next?: string | undefined } | undefined }, T>(
    ctx: PsuCall,
    credential: PartnerCredential,
    endpoint: string,
    schema: Req<P>['schema'],
    pick: (page: P) => T[],
    query: Record<string, string | undefined> = {},
  ): Promise<T[]> {
    const holder: Holder = { credential };
    const maxPages = this.options.maxPages ?? 100;
    const seen = new Set<string>();
    const out: T[] = [];
    let next: string | undefined = this.base + endpoint.slice(endpoint.indexOf(' ') + 1);
    for (let page = 0; next !== undefined; page++) {
      if (page >= maxPages || seen.has(next)) {
        const reason = page >= maxPages ? `more than ${maxPages} pages` : 'Links.Next repeats a page';
        throw contractViolation({
          partner: 'openbanking',
          endpoint,
          issues: [`Links.Next: ${reason}`],
          call: ctx,
        });
      }
      seen.add(next);
      const res: PartnerResponse<P> = await this.psuCall(ctx, holder, {
        method: 'GET',
        path: next,
        endpoint,
        schema,
        ...(page === 0 ? { query } : {}),
      });
      out.push(...pick(res.data));
      next = res.data.Links?.Next;
    }
    return out;
  }

  /** A PSU call: refresh first if the token is about to expire, and once more after a 401. */
  private async psuCall<T>(ctx: PsuCall, holder: Holder, req: Req<T>): Promise<PartnerResponse<T>> {
    const permission = PERMISSION_FOR_ENDPOINT[req.endpoint] ?? 'accounts:read';
    const refresh = async () => {
      try {
        holder.credential = await this.tokens.refresh(ctx, holder.credential);
      } catch (error) {
        // The bank no longer honours the customer's grant: only a new consent brings data back.
        if (isInvalidGrant(error) || error instanceof ConsentRequiredError) {
          throw new ConsentRequiredError('openbanking', permission);
        }
        throw error;
      }
    };
    const send = () =>
      this.http.request({ ...req, ...callFields(ctx), auth: () => bearer(holder.credential.accessToken) });
    if (this.tokens.expiresSoon(holder.credential)) await refresh();
    try {
      return await send();
    } catch (error) {
      if (!isUnauthorised(error)) throw error;
    }
    await refresh();
    try {
      return await send();
    } catch (error) {
      if (isUnauthorised(error)) throw new ConsentRequiredError('openbanking', permission);
      throw error;
    }
  }

  /** A TPP call with the client-credentials token, fetched again once if the bank rejects it. */
  private async tppCall<T>(ctx: Call, req: Req<T>): Promise<PartnerResponse<T>> {
    let token = await this.tokens.clientCredentials(ctx, 'accounts');
    try {
      return await this.http.request({ ...req, ...callFields(ctx), auth: () => bearer(token) });
    } catch (error) {
      if (!isUnauthorised(error)) throw error;
    }
    token = await this.tokens.clientCredentials(ctx, 'accounts', token);
    return this.http.request({ ...req, ...callFields(ctx), auth: () => bearer(token) });
  }
}

function bearer(token: string): Record<string, string> {
  return { authorization: `Bearer ${token}` };
}

function utcSeconds(date: Date, direction: 'floor' | 'ceil'): string {
  const ms =
    direction === 'floor'
      ? Math.floor(date.getTime() / 1000) * 1000
      : Math.ceil(date.getTime() / 1000) * 1000;
  return new Date(ms).toISOString().slice(0, 19);
}
