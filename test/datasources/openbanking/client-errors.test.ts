import { afterAll, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { createOpenBankingProvider } from '../../../datasources/openbanking/provider.js';
import { ConsentRequiredError, NotFoundError, PartnerError } from '../../../domain/errors.js';
import {
  accountClient,
  ACCOUNTS,
  BALANCES,
  ctx,
  failure,
  logger,
  startHarness,
  TRANSACTIONS,
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
  it('maps 403 (the consent lacks the permission) to CONSENT_REQUIRED naming it', async () => {
    await h.connect('alice-basic', 'cust_alice', { permissions: ['ReadAccountsBasic'] });
    const error = await failure(h.provider.accounts.getBalances(ctx('alice-basic'), ['alice-current-01']));
    expect(error).toBeInstanceOf(ConsentRequiredError);
    expect((error as ConsentRequiredError).extensions).toMatchObject({ permission: 'balances:read' });
    const accounts = await h.provider.accounts.listAccounts(ctx('alice-basic'));
    expect(accounts[0]?.maskedNumber).toBeNull();
  });

  it('maps 404 for an account the customer does not hold to NOT_FOUND', async () => {
    const client = accountClient(h.options, h.credentials);
    const alice = h.credentials.byKey.get('cust_alice')!;
    expect((await client.getAccount(ctx('cust_alice'), alice, 'alice-savings-01'))?.AccountId).toBe(
      'alice-savings-01',
    );
    expect(await failure(client.getAccount(ctx('cust_alice'), alice, 'bob-current-01'))).toBeInstanceOf(
      NotFoundError,
    );
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
