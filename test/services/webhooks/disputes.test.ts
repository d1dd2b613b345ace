/**
 * The webhook handler on dispute events, with a stub partner and a real store: the dispute is pulled and
 * linked to its ledger payment, each change is audited and observed once, an unknown payment is retried
 * and then ignored, and a failed payment pull records nothing (so the retry records the change).
 */
import { pino } from 'pino';
import { afterAll, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import type { Dispute, Payment } from '../../../domain/model.js';
import { encodeId } from '../../../domain/ids.js';
import type { Db } from '../../../store/db.js';
import { DisputeRepository } from '../../../store/disputes.js';
import { PaymentRepository } from '../../../store/payments.js';
import type { WebhookEventRecord } from '../../../store/webhooks.js';
import { paymentWebhookHandler, RetryLater } from '../../../services/webhooks/handler.js';
import { testBackends } from '../../helpers/db.js';

const logger = pino({ level: 'silent' });
const KNOWN = 'pi_known';

function ledgerPayment(partnerId: string): Payment {
  const at = new Date('2026-01-10T10:00:00Z');
  return {
    id: encodeId('Payment', 'stripe', partnerId),
    provider: 'stripe',
    partnerId,
    ownerId: 'cust_alice',
    status: 'SETTLED',
    amount: { minor: 2500n, currency: 'GBP' },
    debtorAccountId: null,
    creditor: null,
    reference: 'Disputed',
    createdAt: at,
    updatedAt: at,
    failureReason: null,
    nextAction: null,
    events: [],
    refunds: [],
  };
}

let serial = 0;
function event(attempts = 1): WebhookEventRecord {
  serial += 1;
  const now = new Date();
  return {
    id: `00000000-0000-4000-8000-${String(serial).padStart(12, '0')}`,
    provider: 'stripe',
    partnerEventId: `evt_${serial}`,
    type: 'charge.dispute.created',
    resource: { kind: 'dispute', partnerId: 'dp_1' },
    verification: 'stripe-signature-v1',
    status: 'processing',
    attempts,
    nextAttemptAt: now,
    lastError: null,
    occurredAt: now,
    receivedAt: now,
    processedAt: null,
    duplicates: 0,
  };
}

describe('dispute events', () => {
  let db: Db;
  let store: DisputeRepository;
  let partner: { dispute: Dispute | null; paymentFails: boolean };
  let observed: string[];
  let reads: number;

  const handler = () =>
    paymentWebhookHandler({
      db,
      payments: { applyStatus: async () => ({ from: 'SETTLED', to: 'SETTLED', changed: false }) },
      fetchPayment: async (_provider, partnerId) => {
        if (partner.paymentFails) throw new Error('Stripe is down');
        return ledgerPayment(partnerId);
      },
      disputes: {
        disputes: store,
        fetchDispute: async () => {
          reads += 1;
          return partner.dispute && { ...partner.dispute, updatedAt: new Date(Date.now() + reads) };
        },
        observe: (_dispute, change) => observed.push(`${change.outcome}:${change.to}`),
      },
    });

  const dispute = (overrides: Partial<Dispute> = {}): Dispute => ({
    id: 'dp_1',
    provider: 'stripe',
    partnerId: 'dp_1',
    partnerPaymentId: KNOWN,
    amount: { minor: 2500n, currency: 'GBP' },
    reason: 'FRAUDULENT',
    status: 'NEEDS_RESPONSE',
    evidenceDueBy: new Date('2026-01-24T10:00:00Z'),
    openedAt: new Date('2026-01-10T10:05:00Z'),
    updatedAt: new Date('2026-01-10T10:05:00Z'),
    ...overrides,
  });

  beforeAll(async () => {
    db = await testBackends()[0]!.open();
    store = new DisputeRepository(db);
    await new PaymentRepository(db).insert(db, ledgerPayment(KNOWN));
  });
  beforeEach(async () => {
    await db.query('DELETE FROM disputes');
    partner = { dispute: dispute(), paymentFails: false };
    observed = [];
    reads = 0;
  });
  afterAll(async () => db?.close());

  it('pulls the dispute, stores it on its payment and audits the opening once', async () => {
    const first = await handler().handle(event(), logger);
    expect(first).toMatchObject({
      outcome: 'processed',
      audit: {
        action: 'dispute.opened',
        subject: 'cust_alice',
        target: encodeId('Payment', 'stripe', KNOWN),
        details: { dispute: 'dp_1', outcome: 'opened', from: null, to: 'NEEDS_RESPONSE' },
      },
    });
    const again = await handler().handle(event(), logger);
    expect(again.audit?.action).toBe('webhook.processed');
    expect(observed).toEqual(['opened:NEEDS_RESPONSE']);
    const stored = await store.byPayments('cust_alice', [encodeId('Payment', 'stripe', KNOWN)]);
    expect([...stored.values()].flat().map((d) => d.status)).toEqual(['NEEDS_RESPONSE']);
  });

  it('records the decision the partner reports now, whatever the event type', async () => {
    await handler().handle(event(), logger);
    partner.dispute = dispute({ status: 'LOST', evidenceDueBy: null });
    const decided = await handler().handle(event(), logger);
    expect(decided.audit).toMatchObject({
      action: 'dispute.updated',
      details: { from: 'NEEDS_RESPONSE', to: 'LOST' },
    });
    expect(observed).toEqual(['opened:NEEDS_RESPONSE', 'updated:LOST']);
  });

  it('retries a dispute on a payment the ledger does not hold, then ignores it', async () => {
    partner.dispute = dispute({ partnerPaymentId: 'pi_elsewhere' });
    await expect(handler().handle(event(1), logger)).rejects.toBeInstanceOf(RetryLater);
    await expect(handler().handle(event(2), logger)).rejects.toBeInstanceOf(RetryLater);
    expect(await handler().handle(event(3), logger)).toMatchObject({ outcome: 'ignored' });
    expect(await store.list({ limit: 10 })).toEqual([]);
  });

  it('retries when the partner does not return the dispute, and ignores one that names no payment', async () => {
    partner.dispute = null;
    await expect(handler().handle(event(), logger)).rejects.toBeInstanceOf(RetryLater);
    partner.dispute = dispute({ partnerPaymentId: null });
    expect(await handler().handle(event(), logger)).toMatchObject({ outcome: 'ignored' });
  });

  it('records nothing when the payment pull fails, so the retry records and audits the change', async () => {
    partner.paymentFails = true;
    await expect(handler().handle(event(), logger)).rejects.toThrow('Stripe is down');
    expect(await store.list({ limit: 10 })).toEqual([]);
    partner.paymentFails = false;
    expect((await handler().handle(event(2), logger)).audit?.action).toBe('dispute.opened');
  });
});
