import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { PISP_BASE, SEED_BASE_DATE } from '../../sandboxes/openbanking/index.js';
import {
  consentBody,
  data,
  errorCode,
  OTHER_BASIC,
  OTHER_CLIENT,
  paymentBody,
  startPisSandbox,
  type PisSandbox,
} from './openbanking-pis-wire.js';

const HOUR = 3_600_000;
let time = SEED_BASE_DATE.getTime();
let ob: PisSandbox;
beforeAll(async () => {
  ob = await startPisSandbox({ now: () => time, clients: OTHER_CLIENT });
});
afterAll(async () => {
  await ob.close();
});

const consentIdOf = (answer: Parameters<typeof data>[0]) => data<{ ConsentId: string }>(answer).ConsentId;
const paymentIdOf = (answer: Parameters<typeof data>[0]) =>
  data<{ DomesticPaymentId: string }>(answer).DomesticPaymentId;

describe('x-idempotency-key, the Open Banking way', () => {
  it('answers the same consent key and body ten times with 201 and one consent, as it is now', async () => {
    const body = consentBody('7.00');
    const first = await ob.createConsent(body, 'consent-key-10x');
    const consentId = consentIdOf(first);
    await ob.psuToken(consentId);
    const repeats = await Promise.all(
      Array.from({ length: 10 }, () => ob.createConsent(body, 'consent-key-10x')),
    );
    for (const answer of repeats) {
      expect(answer.status).toBe(201);
      // The current resource (now Authorised), not a copy of the first answer.
      expect(data(answer)).toMatchObject({ ConsentId: consentId, Status: 'Authorised' });
    }
  });

  it('creates one payment for the same payment key sent ten times, answering 201 with the current resource', async () => {
    ob.sandbox.resetLedger();
    const body = consentBody('8.00');
    const consentId = consentIdOf(await ob.createConsent(body, 'c-payment-10x'));
    const token = await ob.psuToken(consentId);
    const first = await ob.submit(token, paymentBody(body, consentId), 'payment-key-10x');
    expect(data(first)).toMatchObject({ Status: 'AcceptedSettlementInProcess' });
    time += 5_000;
    const repeats = await Promise.all(
      Array.from({ length: 10 }, () => ob.submit(token, paymentBody(body, consentId), 'payment-key-10x')),
    );
    for (const answer of repeats) {
      expect(answer.status).toBe(201);
      expect(data(answer)).toMatchObject({
        DomesticPaymentId: paymentIdOf(first),
        Status: 'AcceptedSettlementCompleted',
      });
    }
    const { movements, requests } = ob.sandbox.ledger();
    expect(movements).toHaveLength(1);
    expect(movements[0]).toMatchObject({ id: paymentIdOf(first), idempotencyKey: 'payment-key-10x' });
    expect(requests[`POST ${PISP_BASE}/domestic-payments`]).toBe(11);
  });

  it('creates one payment when the same key arrives concurrently', async () => {
    ob.sandbox.resetLedger();
    const body = consentBody('9.00');
    const consentId = consentIdOf(await ob.createConsent(body, 'c-concurrent'));
    const token = await ob.psuToken(consentId);
    const answers = await Promise.all(
      Array.from({ length: 10 }, () => ob.submit(token, paymentBody(body, consentId), 'payment-concurrent')),
    );
    expect(new Set(answers.map((answer) => paymentIdOf(answer))).size).toBe(1);
    expect(answers.every((answer) => answer.status === 201)).toBe(true);
    expect(ob.sandbox.ledger().movements).toHaveLength(1);
  });

  it('refuses a changed body under the same key with 400 UK.OBIE.Field.Invalid on the header', async () => {
    const first = await ob.createConsent(consentBody('10.00'), 'changed-body');
    const changed = await ob.createConsent(consentBody('10.01'), 'changed-body');
    expect([changed.status, errorCode(changed)]).toEqual([400, 'UK.OBIE.Field.Invalid']);
    expect(changed.body).toMatchObject({ Errors: [{ Path: 'x-idempotency-key' }] });

    const consentId = consentIdOf(first);
    const token = await ob.psuToken(consentId);
    const body = paymentBody(consentBody('10.00'), consentId);
    ob.sandbox.resetLedger();
    expect((await ob.submit(token, body, 'changed-payment')).status).toBe(201);
    const reordered = { Risk: body.Risk, Data: { Initiation: body.Data.Initiation, ConsentId: consentId } };
    expect((await ob.submit(token, reordered, 'changed-payment')).status).toBe(201);
    const other = { ...body, Risk: { ...body.Risk, PaymentContextCode: 'Other' } };
    const refused = await ob.submit(token, other, 'changed-payment');
    expect([refused.status, errorCode(refused)]).toEqual([400, 'UK.OBIE.Field.Invalid']);
    expect(ob.sandbox.ledger().movements).toHaveLength(1);
  });

  it('keeps a key for 24 hours, per client', async () => {
    const body = consentBody('11.00');
    const first = consentIdOf(await ob.createConsent(body, 'day-key'));
    time += 23 * HOUR;
    expect(consentIdOf(await ob.createConsent(body, 'day-key'))).toBe(first);
    const otherToken = await ob.clientToken('payments', OTHER_BASIC);
    const otherClient = await ob.createConsent(body, 'day-key', otherToken);
    expect(consentIdOf(otherClient)).not.toBe(first);
    time += 1 * HOUR + 1;
    const later = await ob.createConsent(body, 'day-key');
    expect(later.status).toBe(201);
    expect(consentIdOf(later)).not.toBe(first);
  });

  it('records no key for a request that failed, so the corrected request goes through', async () => {
    const invalid = await ob.createConsent(consentBody('1.001'), 'fix-and-retry');
    expect(invalid.status).toBe(400);
    const fixed = await ob.createConsent(consentBody('1.00'), 'fix-and-retry');
    expect(fixed.status).toBe(201);
  });
});
