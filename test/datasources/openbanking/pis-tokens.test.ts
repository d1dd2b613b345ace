import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import {
  createOpenBankingProvider,
  type OpenBankingProvider,
} from '../../../datasources/openbanking/provider.js';
import { ctx, logger, startHarness, TOKEN, type Harness } from './harness.js';
import { paymentRequest } from './pis-fixtures.js';

let h: Harness;
let fresh: OpenBankingProvider;
let paymentId: string;
beforeAll(async () => {
  // Access tokens live 300 s on the sandbox clock; the provider renews 30 s before expiry.
  h = await startHarness({ accessTokenTtlSeconds: 300 });
  await h.connect('cust_alice');
  paymentId = (await h.provider.payments.createPayment(ctx('cust_alice'), paymentRequest('2.00'))).partnerId;
  // A second provider: its token cache is empty, like a replica that just started.
  fresh = createOpenBankingProvider(h.options, { credentials: h.credentials, logger });
});
afterAll(async () => {
  await fresh.close();
  await h.close();
});

describe('Open Banking payments token (client credentials, payments scope)', () => {
  it('fetches one token for 20 concurrent polls, reuses it, and fetches one more after expiry', async () => {
    h.sandbox.resetLedger();
    const poll = () => fresh.payments.getPayments(ctx('cust_alice'), [paymentId]);
    const first = await Promise.all(Array.from({ length: 20 }, poll));
    expect(first.every((found) => found.get(paymentId)?.status === 'PROCESSING')).toBe(true);
    expect(h.requests(TOKEN)).toBe(1);

    await Promise.all(Array.from({ length: 20 }, poll));
    expect(h.requests(TOKEN)).toBe(1);

    h.clock.advance(271_000);
    await Promise.all(Array.from({ length: 20 }, poll));
    expect(h.requests(TOKEN)).toBe(2);
  });

  it('needs one client token for 20 concurrent payments (plus each payment its own customer token)', async () => {
    const other = createOpenBankingProvider(h.options, { credentials: h.credentials, logger });
    try {
      // A fresh account-access token, so no customer token refresh is counted below.
      await h.connect('cust_alice');
      h.sandbox.resetLedger();
      const payments = await Promise.all(
        Array.from({ length: 20 }, () =>
          other.payments.createPayment(ctx('cust_alice'), paymentRequest('0.50')),
        ),
      );
      expect(new Set(payments.map((payment) => payment.partnerId)).size).toBe(20);
      // 1 client-credentials grant + 20 authorization_code grants (one per consent).
      expect(h.requests(TOKEN)).toBe(21);
      expect(h.sandbox.ledger().movements).toHaveLength(20);
    } finally {
      await other.close();
    }
  });
});
