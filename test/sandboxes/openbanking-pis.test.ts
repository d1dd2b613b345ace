import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { PISP_BASE, SEED_BASE_DATE, type PaymentStatusEvent } from '../../sandboxes/openbanking/index.js';
import { fromRoot } from '../../store/paths.js';
import { OpenApiSpec } from './openapi.js';
import {
  consentBody,
  data,
  errorCode,
  OTHER_BASIC,
  OTHER_CLIENT,
  paymentBody,
  startPisSandbox,
  type Answer,
  type PisSandbox,
} from './openbanking-pis-wire.js';

const SPEC_FILE = fromRoot(
  '..',
  'shared',
  'partner-specs',
  'openbanking-v3.1.11',
  'payment-initiation-openapi.json',
);
const spec = OpenApiSpec.load(SPEC_FILE);

let time = SEED_BASE_DATE.getTime();
const events: PaymentStatusEvent[] = [];
let ob: PisSandbox;
beforeAll(async () => {
  ob = await startPisSandbox({
    now: () => time,
    clients: OTHER_CLIENT,
    onPaymentStatus: (event) => events.push(event),
  });
});
afterAll(async () => {
  await ob.close();
});

describe.skipIf(spec === null)('Open Banking sandbox PIS vs the OB v3.1.11 spec', () => {
  // x-jws-signature among them: every answer is signed (openbanking-signing.test.ts verifies them).
  const conforms = (path: string, method: string, status: number, answer: Answer) => {
    expect(answer.status, JSON.stringify(answer.body)).toBe(status);
    for (const header of spec!.requiredHeaders(path, method, status)) {
      expect(answer.headers[header], `${header} on ${method} ${path}`).toBeTruthy();
    }
    const schema = spec!.responseSchema(path, method, status);
    if (schema) expect(spec!.validate(schema, answer.body)).toEqual([]);
  };

  it('accepts the spec request bodies and answers consents, payments and details as the spec describes', async () => {
    const body = consentBody('12.34');
    expect(spec!.validate(spec!.requestSchema('/domestic-payment-consents', 'post'), body)).toEqual([]);
    const consent = await ob.createConsent(body, 'spec-consent-1');
    conforms('/domestic-payment-consents', 'post', 201, consent);
    const consentId = data<{ ConsentId: string }>(consent).ConsentId;
    const token = await ob.clientToken();
    conforms(
      '/domestic-payment-consents/{ConsentId}',
      'get',
      200,
      await ob.call('GET', `${PISP_BASE}/domestic-payment-consents/${consentId}`, { token }),
    );

    const payment = paymentBody(body, consentId);
    expect(spec!.validate(spec!.requestSchema('/domestic-payments', 'post'), payment)).toEqual([]);
    const created = await ob.submit(await ob.psuToken(consentId), payment, 'spec-payment-1');
    conforms('/domestic-payments', 'post', 201, created);
    const id = data<{ DomesticPaymentId: string }>(created).DomesticPaymentId;
    conforms(
      '/domestic-payments/{DomesticPaymentId}',
      'get',
      200,
      await ob.call('GET', `${PISP_BASE}/domestic-payments/${id}`, { token }),
    );
    conforms(
      '/domestic-payments/{DomesticPaymentId}/payment-details',
      'get',
      200,
      await ob.call('GET', `${PISP_BASE}/domestic-payments/${id}/payment-details`, { token }),
    );
  });

  it('answers errors as OBErrorResponse1 with the spec error codes', async () => {
    const missing = await ob.call('POST', `${PISP_BASE}/domestic-payment-consents`, {
      token: await ob.clientToken(),
      body: consentBody(),
    });
    conforms('/domestic-payment-consents', 'post', 400, missing);
    expect(errorCode(missing)).toBe('UK.OBIE.Header.Missing');
    const extra = await ob.createConsent({ ...consentBody(), Extra: true }, 'spec-consent-extra');
    conforms('/domestic-payment-consents', 'post', 400, extra);
    expect(errorCode(extra)).toBe('UK.OBIE.Field.Unexpected');
  });

  it('has enums that match the spec', () => {
    const schema = spec!.responseSchema('/domestic-payments/{DomesticPaymentId}', 'get', 200)!;
    const sample = (Status: string) => ({
      Data: {
        DomesticPaymentId: 'dp-1',
        ConsentId: 'pdc-1',
        CreationDateTime: '2025-03-14T12:00:00+00:00',
        Status,
        StatusUpdateDateTime: '2025-03-14T12:00:00+00:00',
        Initiation: consentBody().Data.Initiation,
      },
      Links: { Self: 'https://bank.example/x' },
    });
    for (const status of [
      'Pending',
      'AcceptedSettlementInProcess',
      'AcceptedSettlementCompleted',
      'Rejected',
    ]) {
      expect(spec!.validate(schema, sample(status))).toEqual([]);
    }
    expect(spec!.validate(schema, sample('Settled'))).not.toEqual([]);
  });
});

describe('Open Banking sandbox PIS behaviour', () => {
  it('walks consent -> approval -> payment -> settlement, consuming the consent and recording one movement', async () => {
    ob.sandbox.resetLedger();
    const { consent, consentId, payment, key } = await ob.pay('10.00');
    expect(data(consent)).toMatchObject({ Status: 'AwaitingAuthorisation' });
    expect(data(payment)).toMatchObject({ Status: 'AcceptedSettlementInProcess', ConsentId: consentId });
    const token = await ob.clientToken();
    const read = await ob.call('GET', `${PISP_BASE}/domestic-payment-consents/${consentId}`, { token });
    expect(data(read)).toMatchObject({ Status: 'Consumed' });
    const id = data<{ DomesticPaymentId: string }>(payment).DomesticPaymentId;
    expect(ob.sandbox.ledger().movements).toEqual([
      expect.objectContaining({ id, amount: '10.00', currency: 'GBP', idempotencyKey: key }),
    ]);

    time += 2_000;
    const settled = await ob.call('GET', `${PISP_BASE}/domestic-payments/${id}`, { token });
    expect(data(settled)).toMatchObject({ Status: 'AcceptedSettlementCompleted' });
    expect(events.filter((e) => e.DomesticPaymentId === id).map((e) => e.Status)).toEqual([
      'AcceptedSettlementInProcess',
      'AcceptedSettlementCompleted',
    ]);
  });

  it('rejects a payment the debtor account cannot fund, with reason AM04 and no money moved', async () => {
    ob.sandbox.resetLedger();
    const { payment } = await ob.pay('5000.00');
    expect(data(payment)).toMatchObject({ Status: 'Rejected' });
    const id = data<{ DomesticPaymentId: string }>(payment).DomesticPaymentId;
    const details = await ob.call('GET', `${PISP_BASE}/domestic-payments/${id}/payment-details`, {
      token: await ob.clientToken(),
    });
    expect(data<{ PaymentStatus: unknown[] }>(details).PaymentStatus[0]).toMatchObject({
      Status: 'Rejected',
      StatusDetail: {
        StatusReason: 'ProprietaryRejection',
        StatusReasonDescription: expect.stringMatching(/^AM04/),
      },
    });
    expect(ob.sandbox.ledger().movements).toEqual([]);
  });

  it('spends the balance: payments that fit alone are rejected once the money is gone', async () => {
    const other = await startPisSandbox({ now: () => time });
    try {
      const first = await other.pay('300.00');
      const second = await other.pay('100.00');
      expect(data(first.payment)).toMatchObject({ Status: 'AcceptedSettlementInProcess' });
      expect(data(second.payment)).toMatchObject({ Status: 'Rejected' });
    } finally {
      await other.close();
    }
  });

  it('refuses a payment that does not match its consent, a token of another consent, and a second payment', async () => {
    const { body, consentId, token } = await ob.pay('1.00');
    const changed = paymentBody(consentBody('2.00'), consentId);
    const mismatch = await ob.submit(token, changed, 'mismatch-1');
    expect([mismatch.status, errorCode(mismatch)]).toEqual([400, 'UK.OBIE.Resource.ConsentMismatch']);
    const again = await ob.submit(token, paymentBody(body, consentId), 'second-payment');
    expect([again.status, errorCode(again)]).toEqual([403, 'UK.OBIE.Resource.InvalidConsentStatus']);
    const otherConsent = await ob.createConsent(consentBody('3.00'), 'other-consent');
    const otherId = data<{ ConsentId: string }>(otherConsent).ConsentId;
    const wrongToken = await ob.submit(token, paymentBody(consentBody('3.00'), otherId), 'wrong-token');
    expect([wrongToken.status, errorCode(wrongToken)]).toEqual([400, 'UK.OBIE.Resource.ConsentMismatch']);
  });

  it('requires the payments scope, a PSU token to pay, and a client token to read', async () => {
    const accountsToken = await ob.clientToken('accounts');
    const refused = await ob.createConsent(consentBody(), 'scope-1', accountsToken);
    expect(refused.status).toBe(403);
    const consent = await ob.createConsent(consentBody(), 'scope-2');
    const consentId = data<{ ConsentId: string }>(consent).ConsentId;
    const clientPaying = await ob.submit(
      await ob.clientToken(),
      paymentBody(consentBody(), consentId),
      'scope-3',
    );
    expect(clientPaying.status).toBe(401);
  });

  it('checks the idempotency key, schemes, identifications and amounts', async () => {
    const long = await ob.createConsent(consentBody(), 'k'.repeat(41));
    expect([long.status, errorCode(long)]).toEqual([400, 'UK.OBIE.Header.Invalid']);
    const scheme = await ob.createConsent(
      consentBody('1.00', {
        CreditorAccount: { ...consentBody().Data.Initiation.CreditorAccount, SchemeName: 'UK.OBIE.PAN' },
      }),
      'scheme-1',
    );
    expect(errorCode(scheme)).toBe('UK.OBIE.Unsupported.Scheme');
    const decimals = await ob.createConsent(consentBody('1.001'), 'decimals-1');
    expect([decimals.status, errorCode(decimals)]).toEqual([400, 'UK.OBIE.Field.Invalid']);
    const zero = await ob.createConsent(consentBody('0.00'), 'zero-1');
    expect(zero.status).toBe(400);
  });

  it('rejects the consent when the customer declines or does not hold the debtor account', async () => {
    const { authoriseInSandbox } = await import('../../sandboxes/openbanking/index.js');
    const token = await ob.clientToken();
    for (const [psu, decision] of [
      ['cust_bob', 'approve'],
      ['cust_alice', 'reject'],
    ] as const) {
      const consent = await ob.createConsent(consentBody(), `decline-${psu}-${decision}`);
      const consentId = data<{ ConsentId: string }>(consent).ConsentId;
      await expect(
        authoriseInSandbox(ob.sandbox.url, consentId, psu, { tls: ob.clientTls, decision }),
      ).rejects.toMatchObject({ denied: true });
      const read = await ob.call('GET', `${PISP_BASE}/domestic-payment-consents/${consentId}`, { token });
      expect(data(read)).toMatchObject({ Status: 'Rejected' });
    }
  });

  it("answers another client's payment like an unknown one, and moves payments through the control route", async () => {
    const { payment } = await ob.pay('1.50');
    const id = data<{ DomesticPaymentId: string }>(payment).DomesticPaymentId;
    const unknown = await ob.call('GET', `${PISP_BASE}/domestic-payments/dp-nope`, {
      token: await ob.clientToken(),
    });
    expect([unknown.status, errorCode(unknown)]).toEqual([400, 'UK.OBIE.Resource.NotFound']);
    const otherToken = await ob.clientToken('payments', OTHER_BASIC);
    const foreign = await ob.call('GET', `${PISP_BASE}/domestic-payments/${id}`, { token: otherToken });
    expect(foreign.body).toMatchObject({ Errors: [{ ErrorCode: 'UK.OBIE.Resource.NotFound' }] });
    expect(foreign.status).toBe(unknown.status);
    const moved = await ob.call('POST', `/__sandbox/domestic-payments/${id}/status`, {
      body: { Status: 'Rejected' },
    });
    expect([moved.status, data(moved).Status]).toEqual([200, 'Rejected']);
    expect(events.at(-1)).toMatchObject({ DomesticPaymentId: id, Status: 'Rejected' });
    const bad = await ob.call('POST', `/__sandbox/domestic-payments/${id}/status`, {
      body: { Status: 'Settled' },
    });
    expect(bad.status).toBe(400);
  });
});
