import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { encodeId } from '../../../domain/ids.js';
import { PaymentRefusedError } from '../../../datasources/openbanking/provider.js';
import { NotFoundError, NotSupportedError, PartnerError } from '../../../domain/errors.js';
import { ctx, failure, startHarness, type Harness } from './harness.js';
import { CREATE_PAYMENT, GET_PAYMENT, paymentRequest } from './pis-fixtures.js';

let h: Harness;
beforeAll(async () => {
  h = await startHarness();
  await h.connect('cust_alice');
  await h.connect('cust_bob');
});
afterAll(async () => {
  await h.close();
});

const alice = () => ctx('cust_alice');

describe('Open Banking payments against the sandbox', () => {
  it('runs over mutual TLS', () => {
    expect(h.sandbox.url).toMatch(/^https:\/\//);
  });

  it('creates a payment (consent, approval, payment) and settles it through polling', async () => {
    h.sandbox.resetLedger();
    const request = paymentRequest('12.30');
    const payment = await h.provider.payments.createPayment(alice(), request);
    expect(payment).toMatchObject({
      provider: 'openbanking',
      ownerId: 'cust_alice',
      status: 'PROCESSING',
      amount: { minor: 1230n, currency: 'GBP' },
      debtorAccountId: encodeId('Account', 'openbanking', 'alice-current-01'),
      creditor: { name: 'ACME Supplies Ltd', sortCode: '601613', accountNumber: '31926819', iban: null },
      reference: 'Invoice 42',
      failureReason: null,
      nextAction: null,
    });
    expect(payment.id).toBe(encodeId('Payment', 'openbanking', payment.partnerId));
    expect(h.sandbox.ledger().movements).toEqual([
      expect.objectContaining({
        id: payment.partnerId,
        amount: '12.30',
        idempotencyKey: request.partnerIdempotencyKey,
      }),
    ]);

    const polled = await h.provider.payments.getPayments(alice(), [payment.partnerId]);
    expect(polled.get(payment.partnerId)?.status).toBe('PROCESSING');
    h.clock.advance(2_000);
    const settled = (await h.provider.payments.getPayments(alice(), [payment.partnerId])).get(
      payment.partnerId,
    )!;
    expect(settled.status).toBe('SETTLED');
    expect(settled.events.map((event) => event.status)).toEqual(['PROCESSING', 'SETTLED']);
  });

  it('sends the same partner key again on a retry and gets the same payment, exactly once', async () => {
    h.sandbox.resetLedger();
    const request = paymentRequest('3.00');
    const first = await h.provider.payments.createPayment(alice(), request);
    const again = await h.provider.payments.createPayment(alice(), request);
    const concurrent = await Promise.all(
      Array.from({ length: 5 }, () => h.provider.payments.createPayment(alice(), request)),
    );
    expect(new Set([again, ...concurrent].map((payment) => payment.partnerId))).toEqual(
      new Set([first.partnerId]),
    );
    expect(h.sandbox.ledger().movements).toHaveLength(1);
    expect(h.requests(CREATE_PAYMENT)).toBe(7);
  });

  it('reports a rejection for insufficient funds as a FAILED payment and a typed outcome, moving no money', async () => {
    h.sandbox.resetLedger();
    const outcome = await h.provider.payments.createBankPayment(alice(), paymentRequest('5000.00'));
    expect(outcome).toMatchObject({
      ok: false,
      refusal: { code: 'INSUFFICIENT_FUNDS' },
      payment: { status: 'FAILED', failureReason: 'INSUFFICIENT_FUNDS' },
    });
    const viaContract = await h.provider.payments.createPayment(alice(), paymentRequest('5000.00'));
    expect(viaContract).toMatchObject({ status: 'FAILED', failureReason: 'INSUFFICIENT_FUNDS' });
    const polled = await h.provider.payments.getPayments(alice(), [viaContract.partnerId]);
    expect(polled.get(viaContract.partnerId)).toMatchObject({
      status: 'FAILED',
      failureReason: 'INSUFFICIENT_FUNDS',
    });
    expect(h.sandbox.ledger().movements).toEqual([]);
  });

  it("shows a payment only to the subject who initiated it; another's looks unknown", async () => {
    const payment = await h.provider.payments.createPayment(alice(), paymentRequest('1.00'));
    const ids = [payment.partnerId, 'dp-unknown', 'not a valid id!', 'consent:pdc-unknown'];
    expect([...(await h.provider.payments.getPayments(alice(), ids)).keys()]).toEqual([payment.partnerId]);
    expect((await h.provider.payments.getPayments(ctx('cust_bob'), ids)).size).toBe(0);
    expect(
      await failure(h.provider.payments.cancelPayment(ctx('cust_bob'), payment.partnerId)),
    ).toBeInstanceOf(NotFoundError);
  });

  it('turns an answer about another amount into PARTNER_CONTRACT_VIOLATION, on create and on read', async () => {
    h.sandbox.setFaults([{ match: CREATE_PAYMENT, kind: 'contract', times: 1 }]);
    const created = await failure(h.provider.payments.createPayment(alice(), paymentRequest('2.00')));
    expect(created).toBeInstanceOf(PartnerError);
    expect(created).toMatchObject({
      code: 'PARTNER_CONTRACT_VIOLATION',
      endpoint: 'POST /domestic-payments',
    });
    expect((created as PartnerError).issues?.[0]).toMatch(/InstructedAmount\.Amount: 3\.00, asked for 2\.00/);

    const payment = await h.provider.payments.createPayment(alice(), paymentRequest('2.50'));
    h.sandbox.setFaults([{ match: GET_PAYMENT, kind: 'contract', times: 1 }]);
    const read = await failure(h.provider.payments.getPayments(alice(), [payment.partnerId]));
    expect(read).toMatchObject({ code: 'PARTNER_CONTRACT_VIOLATION' });
    h.sandbox.setFaults([]);
  });

  it('cannot cancel a submitted payment (NOT_CANCELLABLE, with the payment) and has no refunds', async () => {
    const payment = await h.provider.payments.createPayment(alice(), paymentRequest('1.25'));
    const refused = await failure(
      h.provider.payments.cancelPayment(alice(), payment.partnerId, 'trb1-cancel'),
    );
    expect(refused).toBeInstanceOf(PaymentRefusedError);
    expect(refused).toMatchObject({
      userErrorCode: 'NOT_CANCELLABLE',
      payment: { partnerId: payment.partnerId },
    });
    const outcome = await h.provider.payments.cancelBankPayment(alice(), payment.partnerId);
    expect(outcome).toMatchObject({ ok: false, refusal: { code: 'NOT_CANCELLABLE' } });
    const refund = await failure(h.provider.payments.refundPayment());
    expect(refund).toBeInstanceOf(NotSupportedError);
  });

  it('refuses accounts the subject does not hold and currencies the account does not hold', async () => {
    const foreign = await h.provider.payments.createBankPayment(
      alice(),
      paymentRequest('1.00', { debtorPartnerAccountId: 'bob-current-01' }),
    );
    expect(foreign).toMatchObject({ ok: false, payment: null, refusal: { code: 'INVALID_ACCOUNT' } });
    const euros = await h.provider.payments.createBankPayment(
      alice(),
      paymentRequest('1.00', { currency: 'EUR' }),
    );
    expect(euros).toMatchObject({
      ok: false,
      refusal: { code: 'UNSUPPORTED_CURRENCY', field: ['input', 'amount'] },
    });
    const thrown = await failure(
      h.provider.payments.createPayment(
        alice(),
        paymentRequest('1.00', { debtorPartnerAccountId: 'bob-current-01' }),
      ),
    );
    expect(thrown).toMatchObject({ userErrorCode: 'INVALID_ACCOUNT', field: ['input', 'debtorAccountId'] });
  });

  it('asserts the partner key fits the 40 characters of x-idempotency-key', async () => {
    const tooLong = paymentRequest('1.00', { partnerIdempotencyKey: 'k'.repeat(41) });
    expect(String(await failure(h.provider.payments.createPayment(alice(), tooLong)))).toMatch(
      /40 characters/,
    );
  });
});
