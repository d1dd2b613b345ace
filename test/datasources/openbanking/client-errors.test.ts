import { afterAll, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { createOpenBankingProvider } from '../../../datasources/openbanking/provider.js';
import { ConsentRequiredError, NotFoundError, PartnerError } from '../../../domain/errors.js';
import { PartnerPolicy, policySettings } from '../../../datasources/resilience.js';
import { AISP_BASE } from '../../../sandboxes/openbanking/index.js';
import { loadConfig } from '../../../server/config.js';
import {
  accountClient,
  ACCOUNTS,
  BALANCES,
  ctx,
  failure,
  logger,
  startHarness,
  TOKEN,
  TRANSACTIONS,
  MemoryCredentials,
  type Harness,
} from './harness.js';

let h: Harness;
beforeAll(async () => {
  h = await startHarness();
  await h.connect('cust_alice');
});
afterAll(() => h.close());
beforeEach(() => {
  h.sandbox.setFaults([]);
  h.sandbox.resetLedger();
});

describe('Open Banking errors', () => {
  it("refreshes no expired token while the bank's breaker is open: no lock, no stored-token read, no /token call", async () => {
    const calls = loadConfig({ NODE_ENV: 'test' }).partners.openbanking!.calls;
    const policy = new PartnerPolicy('openbanking', {
      ...policySettings(calls),
      retryAttempts: 0,
      breakerMinRequests: 2,
      breakerHalfOpenMs: 600_000,
    });
    const credentials = new MemoryCredentials();
    const provider = createOpenBankingProvider({ ...h.options, policy }, { credentials, logger });
    try {
      credentials.byKey.set('dora-outage', {
        subject: 'dora-outage',
        ...(await provider.connectCustomer('cust_alice')),
      });
      let refreshes = 0;
      const refreshing = credentials.refreshing;
      credentials.refreshing = (...args) => {
        refreshes++;
        return refreshing(...args);
      };
      h.sandbox.setFaults([{ kind: 'status', status: 503 }]);
      for (let i = 0; i < 4 && policy.health().breakerState !== 'OPEN'; i++)
        await failure(provider.accounts.listAccounts(ctx('dora-outage')));
      expect(policy.health().breakerState).toBe('OPEN');

      h.clock.advance(3_600_000); // The customer's access token has expired meanwhile.
      h.sandbox.resetLedger();
      const error = await failure(provider.accounts.listAccounts(ctx('dora-outage')));

      expect(error).toMatchObject({ code: 'PARTNER_UNAVAILABLE', unsent: 'breaker open' });
      expect(refreshes).toBe(0);
      expect(h.requests(TOKEN)).toBe(0);
    } finally {
      await provider.close();
    }
  });

  it('maps 403 (the consent lacks the permission) to CONSENT_REQUIRED naming it', async () => {
    await h.connect('alice-basic', 'cust_alice', { permissions: ['ReadAccountsBasic'] });
    const error = await failure(h.provider.accounts.getBalances(ctx('alice-basic'), ['alice-current-01']));
    expect(error).toBeInstanceOf(ConsentRequiredError);
    expect((error as ConsentRequiredError).extensions).toMatchObject({ permission: 'balances:read' });
    const accounts = await h.provider.accounts.listAccounts(ctx('alice-basic'));
    expect(accounts[0]?.maskedNumber).toBeNull();
  });

  it('maps 403 for an account outside the consent to NOT_FOUND, exactly what an unknown account id gets', async () => {
    const client = accountClient(h.options, h.credentials);
    const alice = h.credentials.byKey.get('cust_alice')!;
    expect((await client.getAccount(ctx('cust_alice'), alice, 'alice-savings-01'))?.AccountId).toBe(
      'alice-savings-01',
    );
    // The bank answers 403 UK.OBIE.Resource.ConsentMismatch (AccountId) for Bob's account and 400
    // UK.OBIE.Resource.NotFound for an id it does not know (test/sandboxes/openbanking.test.ts).
    const outside = await failure(client.getAccount(ctx('cust_alice'), alice, 'bob-current-01'));
    const unknown = await failure(client.getAccount(ctx('cust_alice'), alice, 'no-such-account'));
    expect(outside).toBeInstanceOf(NotFoundError);
    expect(unknown).toBeInstanceOf(NotFoundError);
    const seen = (error: unknown) => {
      const { constructor, message, extensions } = error as NotFoundError;
      return { constructor, message, extensions };
    };
    expect(seen(outside)).toEqual(seen(unknown));
    await client.close();
  });

  it('keeps a 403 about the consent itself (expired: InvalidConsentStatus) CONSENT_REQUIRED on the same endpoint', async () => {
    const expiring = await h.connect('alice-expiring', 'cust_alice', {
      expiresAt: new Date(h.clock.now() + 60_000),
    });
    const client = accountClient(h.options, h.credentials);
    h.sandbox.resetLedger();
    // Past the consent's ExpirationDateTime, well within the access token's lifetime (300 s).
    h.clock.advance(120_000);
    for (const accountId of ['alice-savings-01', 'bob-current-01']) {
      const error = await failure(client.getAccount(ctx('alice-expiring'), expiring, accountId));
      expect(error).toBeInstanceOf(ConsentRequiredError);
      expect((error as ConsentRequiredError).extensions).toMatchObject({ permission: 'accounts:read' });
    }
    expect(h.requests(`GET ${AISP_BASE}/accounts/{AccountId}`)).toBe(2);
    expect(h.requests(TOKEN)).toBe(0);
    await client.close();
  });

  it('maps 429 with Retry-After to a retryable PARTNER_RATE_LIMITED', async () => {
    h.sandbox.setFaults([{ match: BALANCES, kind: 'rate_limit', retryAfter: 7 }]);
    const error = await failure(h.provider.accounts.getBalances(ctx('cust_alice'), ['alice-current-01']));
    expect(error).toBeInstanceOf(PartnerError);
    expect(error).toMatchObject({
      code: 'PARTNER_RATE_LIMITED',
      retryable: true,
      retryAfterSeconds: 7,
      status: 429,
    });
  });

  it('maps 500 to a retryable PARTNER_UNAVAILABLE keeping the OB error code for the logs', async () => {
    h.sandbox.setFaults([{ match: ACCOUNTS, kind: 'status', status: 500 }]);
    const error = await failure(h.provider.accounts.listAccounts(ctx('cust_alice')));
    expect(error).toMatchObject({
      code: 'PARTNER_UNAVAILABLE',
      retryable: true,
      status: 500,
      partnerCode: 'UK.OBIE.UnexpectedError',
      endpoint: 'GET /accounts',
    });
  });

  it('maps malformed JSON to PARTNER_CONTRACT_VIOLATION', async () => {
    h.sandbox.setFaults([{ match: BALANCES, kind: 'malformed' }]);
    const error = await failure(h.provider.accounts.getBalances(ctx('cust_alice'), ['alice-current-01']));
    expect(error).toMatchObject({ code: 'PARTNER_CONTRACT_VIOLATION', retryable: false });
  });

  it('maps a body that breaks the contract to PARTNER_CONTRACT_VIOLATION naming the path', async () => {
    h.sandbox.setFaults([{ match: ACCOUNTS, kind: 'contract' }]);
    const error = (await failure(h.provider.accounts.listAccounts(ctx('cust_alice')))) as PartnerError;
    expect(error.code).toBe('PARTNER_CONTRACT_VIOLATION');
    expect(error.issues?.[0]).toMatch(/^Data\.Account\[0\]\.AccountId: /);
    h.sandbox.setFaults([{ match: TRANSACTIONS, kind: 'contract' }]);
    const txError = (await failure(
      h.provider.accounts.listTransactions(ctx('cust_alice'), ['alice-current-01'], {}),
    )) as PartnerError;
    expect(txError.issues?.[0]).toMatch(/^Data\.Transaction\[0\]\.CreditDebitIndicator: /);
  });

  it('maps a reset connection to PARTNER_UNAVAILABLE and a hang to PARTNER_TIMEOUT', async () => {
    h.sandbox.setFaults([{ match: ACCOUNTS, kind: 'reset', times: 1 }]);
    expect(await failure(h.provider.accounts.listAccounts(ctx('cust_alice')))).toMatchObject({
      code: 'PARTNER_UNAVAILABLE',
      retryable: true,
    });
    const impatient = createOpenBankingProvider(
      { ...h.options, timeouts: { headersMs: 200 } },
      { credentials: h.credentials, logger },
    );
    h.sandbox.setFaults([{ match: ACCOUNTS, kind: 'hang', times: 1 }]);
    expect(await failure(impatient.accounts.listAccounts(ctx('cust_alice')))).toMatchObject({
      code: 'PARTNER_TIMEOUT',
    });
    await impatient.close();
  });
});
