import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createOpenBankingProvider, OpenBankingPayments } from '../../../datasources/openbanking/provider.js';
import { sandboxConsentApprover } from '../../../sandboxes/openbanking/index.js';
import { ctx, failure, logger, paymentClient, startHarness, type Harness } from './harness.js';
import { CREATE_PAYMENT, paymentRequest } from './pis-fixtures.js';

let h: Harness;
beforeAll(async () => {
  h = await startHarness();
  await h.connect('cust_alice');
  await h.connect('cust_bob');
});
afterAll(async () => {
  await h.close();
});

describe('Open Banking payments waiting for the customer at the bank (redirect mode)', () => {
  it('answers REQUIRES_ACTION with the bank authorisation URL, polls the consent and drops it on cancel', async () => {
    const bank = createOpenBankingProvider(
      {
        ...h.options,
        // A real bank: nothing stands in for the customer.
        sandbox: null,
        authorisationEndpoint: 'https://bank.example/authorize',
        returnUrl: 'https://app.example/payments/return',
      },
      { credentials: h.credentials, logger },
    );
    try {
      h.sandbox.resetLedger();
      const payment = await bank.payments.createPayment(ctx('cust_alice'), paymentRequest('4.00'));
      expect(payment).toMatchObject({ status: 'REQUIRES_ACTION', nextAction: { type: 'REDIRECT_TO_BANK' } });
      expect(payment.partnerId).toMatch(/^consent:pdc-/);
      const url = new URL(payment.nextAction!.url!);
      expect(url.origin).toBe('https://bank.example');
      expect(url.searchParams.get('openbanking_intent_id')).toBe(payment.partnerId.slice('consent:'.length));
      expect(url.searchParams.get('redirect_uri')).toBe('https://app.example/payments/return');
      expect(h.requests(CREATE_PAYMENT)).toBe(0);

      const polled = await bank.payments.getPayments(ctx('cust_alice'), [payment.partnerId]);
      expect(polled.get(payment.partnerId)).toMatchObject({
        status: 'REQUIRES_ACTION',
        amount: { minor: 400n },
      });
      expect((await bank.payments.getPayments(ctx('cust_bob'), [payment.partnerId])).size).toBe(0);

      const cancelled = await bank.payments.cancelPayment(
        ctx('cust_alice'),
        payment.partnerId,
        'trb1-cancel-1',
      );
      expect(cancelled).toMatchObject({ status: 'CANCELLED', nextAction: null });
      expect(h.sandbox.ledger().movements).toEqual([]);
    } finally {
      await bank.close();
    }
  });

  it('cannot connect a customer without their approval at the bank, and asks the bank for nothing', async () => {
    const bank = createOpenBankingProvider(
      { ...h.options, sandbox: null },
      { credentials: h.credentials, logger },
    );
    try {
      h.sandbox.resetLedger();
      const error = await failure(bank.connectCustomer('cust_alice'));
      expect(String(error)).toMatch(/needs the customer's approval at the bank: pass `authorise`/);
      expect(h.sandbox.ledger().requests).toEqual({});
      const approved = await bank.connectCustomer('cust_alice', {
        authorise: sandboxConsentApprover(h.sandbox.url, h.options.tls),
      });
      expect(approved.externalRef).toMatch(/^aac-/);
    } finally {
      await bank.close();
    }
  });
});

describe('Open Banking payments the customer declines', () => {
  it('is a DECLINED refusal with no payment, and nothing reaches the payment endpoint', async () => {
    const client = paymentClient(h.options, h.credentials);
    const declining = new OpenBankingPayments(
      client,
      async () => ({
        AccountId: 'alice-current-01',
        Currency: 'GBP',
        AccountType: 'Personal',
        AccountSubType: 'CurrentAccount',
        Account: [{ SchemeName: 'UK.OBIE.SortCodeAccountNumber', Identification: '40400412345678' }],
      }),
      {
        clientId: h.options.clientId,
        approveConsent: sandboxConsentApprover(h.sandbox.url, h.options.tls, 'reject'),
        authorisationEndpoint: 'https://bank.example/authorize',
        returnUrl: null,
      },
    );
    try {
      h.sandbox.resetLedger();
      const outcome = await declining.createBankPayment(ctx('cust_alice'), paymentRequest('6.00'));
      expect(outcome).toMatchObject({ ok: false, payment: null, refusal: { code: 'DECLINED' } });
      const thrown = await failure(declining.createPayment(ctx('cust_alice'), paymentRequest('6.00')));
      expect(thrown).toMatchObject({ userErrorCode: 'DECLINED', payment: null });
      expect(h.requests(CREATE_PAYMENT)).toBe(0);
    } finally {
      await client.close();
    }
  });
});
