import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import {
  createOpenBankingProvider,
  type OpenBankingProvider,
} from '../../../datasources/openbanking/provider.js';
import { ACCOUNTS, ctx, failure, logger, startHarness, TOKEN, type Harness } from './harness.js';
import { CREATE_CONSENT, CREATE_PAYMENT, paymentRequest } from './pis-fixtures.js';

let h: Harness;
let bank: OpenBankingProvider;
beforeAll(async () => {
  h = await startHarness();
  await h.connect('cust_alice');
  // Account reads give up after 300 ms; payment calls may wait on the scheme for 5 s.
  const reads = { headersMs: 300, bodyMs: 300, totalMs: 300 };
  const payments = { headersMs: 5_000, bodyMs: 5_000, totalMs: 5_000 };
  bank = createOpenBankingProvider(
    { ...h.options, timeouts: reads, paymentTimeouts: payments },
    { credentials: h.credentials, logger },
  );
});
afterAll(async () => {
  await bank.close();
  await h.close();
});

describe('Open Banking HTTP stack shared by accounts and payments', () => {
  it('keeps the longer payment timeouts for payment calls and the read timeouts for account reads', async () => {
    h.sandbox.setFaults([
      { match: CREATE_CONSENT, kind: 'latency', ms: 800, times: 1 },
      { match: CREATE_PAYMENT, kind: 'latency', ms: 800, times: 1 },
    ]);
    const payment = await bank.payments.createPayment(ctx('cust_alice'), paymentRequest('1.25'));
    expect(payment.status).toBe('PROCESSING');

    h.sandbox.setFaults([{ match: ACCOUNTS, kind: 'latency', ms: 800, times: 1 }]);
    expect(await failure(bank.accounts.listAccounts(ctx('cust_alice')))).toMatchObject({
      code: 'PARTNER_TIMEOUT',
      endpoint: 'GET /accounts',
    });
    h.sandbox.setFaults([]);
  });

  it('fetches one client token per scope for account and payment calls together', async () => {
    const fresh = createOpenBankingProvider(h.options, { credentials: h.credentials, logger });
    try {
      h.sandbox.resetLedger();
      await Promise.all([
        fresh.connectCustomer('cust_alice'),
        fresh.connectCustomer('cust_alice'),
        fresh.payments.createPayment(ctx('cust_alice'), paymentRequest('0.75')),
        fresh.payments.createPayment(ctx('cust_alice'), paymentRequest('0.80')),
      ]);
      // One "accounts" and one "payments" client-credentials grant, plus one code exchange per consent.
      expect(h.requests(TOKEN)).toBe(2 + 4);
    } finally {
      await fresh.close();
    }
  });
});
