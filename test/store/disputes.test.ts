/**
 * The disputes repository on every backend: a pulled copy is recorded once, moves on only when it is
 * newer and says something new (so replays and late, out-of-order copies never move a dispute back),
 * reads are bound to the payment's owner, and operators see open disputes first by evidence deadline.
 */
import { afterAll, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import type { Payment } from '../../domain/model.js';
import { encodeId } from '../../domain/ids.js';
import type { Db } from '../../store/db.js';
import { DisputeRepository, type DisputeRecord } from '../../store/disputes.js';
import { PaymentRepository } from '../../store/payments.js';
import { testBackends } from '../helpers/db.js';

const at = (minute: number) => new Date(Date.UTC(2025, 5, 1, 12, minute));

function payment(partnerId: string, ownerId: string): Payment {
  return {
    id: encodeId('Payment', 'stripe', partnerId),
    provider: 'stripe',
    partnerId,
    ownerId,
    status: 'SETTLED',
    amount: { minor: 5000n, currency: 'GBP' },
    debtorAccountId: null,
    creditor: null,
    reference: 'Dispute test',
    createdAt: at(0),
    updatedAt: at(0),
    failureReason: null,
    nextAction: null,
    events: [],
    refunds: [],
  };
}

function dispute(partnerId: string, paymentPartnerId: string, overrides: Partial<DisputeRecord> = {}) {
  const record: DisputeRecord = {
    id: partnerId,
    provider: 'stripe',
    partnerId,
    partnerPaymentId: paymentPartnerId,
    paymentId: encodeId('Payment', 'stripe', paymentPartnerId),
    amount: { minor: 5000n, currency: 'GBP' },
    reason: 'FRAUDULENT',
    status: 'NEEDS_RESPONSE',
    evidenceDueBy: at(60 * 24),
    openedAt: at(1),
    updatedAt: at(1),
    ...overrides,
  };
  return record;
}

describe.each(testBackends())('disputes repository on $kind', (backend) => {
  let db: Db;
  let disputes: DisputeRepository;
  beforeAll(async () => {
    db = await backend.open();
    disputes = new DisputeRepository(db);
    const payments = new PaymentRepository(db);
    await payments.insert(db, payment('pi_alice1', 'cust_alice'));
    await payments.insert(db, payment('pi_alice2', 'cust_alice'));
    await payments.insert(db, payment('pi_bob1', 'cust_bob'));
  });
  beforeEach(async () => {
    await db.query('DELETE FROM disputes');
  });
  afterAll(async () => {
    await db.close();
  });

  it('records a new dispute as opened, and the same copy again as unchanged or stale', async () => {
    const first = dispute('dp_1', 'pi_alice1');
    expect(await disputes.upsert(first)).toEqual({ outcome: 'opened', from: null, to: 'NEEDS_RESPONSE' });
    expect(await disputes.upsert(first)).toMatchObject({ outcome: 'stale', to: 'NEEDS_RESPONSE' });
    expect(await disputes.upsert({ ...first, updatedAt: at(2) })).toMatchObject({ outcome: 'unchanged' });
    const stored = await disputes.byPayments('cust_alice', [first.paymentId]);
    expect(stored.get(first.paymentId)).toEqual([{ ...first, updatedAt: at(1) }]);
  });

  it('moves a dispute on with a newer copy and never back with an older one', async () => {
    await disputes.upsert(dispute('dp_2', 'pi_alice1'));
    const review = dispute('dp_2', 'pi_alice1', {
      status: 'UNDER_REVIEW',
      evidenceDueBy: null,
      updatedAt: at(5),
    });
    expect(await disputes.upsert(review)).toEqual({
      outcome: 'updated',
      from: 'NEEDS_RESPONSE',
      to: 'UNDER_REVIEW',
    });
    const won = dispute('dp_2', 'pi_alice1', { status: 'WON', evidenceDueBy: null, updatedAt: at(9) });
    expect(await disputes.upsert(won)).toEqual({ outcome: 'updated', from: 'UNDER_REVIEW', to: 'WON' });
    // A copy read before the decision, applied after it (a late worker): stale, nothing moves.
    const late = dispute('dp_2', 'pi_alice1', {
      status: 'UNDER_REVIEW',
      evidenceDueBy: null,
      updatedAt: at(7),
    });
    expect(await disputes.upsert(late)).toEqual({ outcome: 'stale', from: 'WON', to: 'WON' });
    const [stored] = (await disputes.byPayments('cust_alice', [won.paymentId])).get(won.paymentId)!;
    expect(stored).toMatchObject({ status: 'WON', updatedAt: at(9), evidenceDueBy: null });
  });

  it("answers only the owner's payments: another customer's disputes are absent", async () => {
    const bobs = dispute('dp_3', 'pi_bob1');
    await disputes.upsert(bobs);
    const asAlice = await disputes.byPayments('cust_alice', [bobs.paymentId]);
    expect(asAlice.get(bobs.paymentId)).toEqual([]);
    const asBob = await disputes.byPayments('cust_bob', [bobs.paymentId]);
    expect(asBob.get(bobs.paymentId)?.map((d) => d.id)).toEqual(['dp_3']);
  });

  it('batches several payments in one read, each with its own disputes oldest first', async () => {
    await disputes.upsert(dispute('dp_b', 'pi_alice1', { openedAt: at(3) }));
    await disputes.upsert(dispute('dp_a', 'pi_alice1', { openedAt: at(2) }));
    await disputes.upsert(dispute('dp_c', 'pi_alice2'));
    const ids = [encodeId('Payment', 'stripe', 'pi_alice1'), encodeId('Payment', 'stripe', 'pi_alice2')];
    const found = await disputes.byPayments('cust_alice', ids);
    expect(found.get(ids[0]!)?.map((d) => d.id)).toEqual(['dp_a', 'dp_b']);
    expect(found.get(ids[1]!)?.map((d) => d.id)).toEqual(['dp_c']);
  });

  it('lists open disputes first, nearest evidence deadline first, and counts them per partner', async () => {
    await disputes.upsert(dispute('dp_late', 'pi_alice1', { evidenceDueBy: at(600) }));
    await disputes.upsert(dispute('dp_soon', 'pi_alice2', { evidenceDueBy: at(60) }));
    await disputes.upsert(
      dispute('dp_won', 'pi_bob1', { status: 'WON', evidenceDueBy: null, updatedAt: at(30) }),
    );
    const all = await disputes.list({ limit: 10 });
    expect(all.map((d) => d.id)).toEqual(['dp_soon', 'dp_late', 'dp_won']);
    const open = await disputes.list({ limit: 10, openOnly: true });
    expect(open.map((d) => d.id)).toEqual(['dp_soon', 'dp_late']);
    expect(await disputes.openCounts()).toEqual({ stripe: 2 });
  });
});
