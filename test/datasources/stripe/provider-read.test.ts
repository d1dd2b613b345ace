import { describe, expect, it } from 'vitest';
import { ConsentRequiredError, NotFoundError } from '../../../domain/errors.js';
import type { CredentialStore } from '../../../domain/providers.js';
import { noRefreshing } from '../../helpers/credentials.js';
import { credentials, ctx, failure, key, useStripeHarness } from './harness.js';

const h = useStripeHarness();

describe('Stripe provider: reading payments', () => {
  it("maps a subject's seeded payments, each in its state", async () => {
    const ids = [
      'pi_SeedAliceSucceeded0001',
      'pi_SeedAliceCanceled00001',
      'pi_SeedAliceFresh00000001',
      'pi_SeedAlicePartRefund001',
      'pi_SeedAliceDisputed00001',
      'pi_SeedAliceYen000000001',
    ];
    const found = await h.provider.payments.getPayments(ctx('cust_alice'), ids);
    expect([...found.keys()]).toEqual(ids);
    expect(ids.map((id) => found.get(id)?.status)).toEqual([
      'SETTLED',
      'CANCELLED',
      'PENDING',
      'PARTIALLY_REFUNDED',
      'SETTLED',
      'SETTLED',
    ]);
    expect(found.get('pi_SeedAliceDisputed00001')?.events.at(-1)?.detail).toBe('dispute:needs_response');
    expect(found.get('pi_SeedAliceYen000000001')?.amount).toEqual({ minor: 5000n, currency: 'JPY' });
    expect(found.get('pi_SeedAlicePartRefund001')?.refunds).toHaveLength(1);
  });

  it("does not let bob read alice's payment: it is absent, as if unknown", async () => {
    const found = await h.provider.payments.getPayments(ctx('cust_bob'), [
      'pi_SeedAliceSucceeded0001',
      'pi_SeedBobSucceeded000001',
      'pi_unknown',
      'not-an-id',
    ]);
    expect([...found.keys()]).toEqual(['pi_SeedBobSucceeded000001']);
    expect(found.get('pi_SeedBobSucceeded000001')?.ownerId).toBe('cust_bob');
  });

  it("does not let bob cancel or refund alice's payment", async () => {
    expect(
      await failure(h.provider.payments.cancelPayment(ctx('cust_bob'), 'pi_SeedAliceFresh00000001', key())),
    ).toBeInstanceOf(NotFoundError);
    expect(
      await failure(
        h.provider.payments.refundPayment(ctx('cust_bob'), 'pi_SeedAliceSucceeded0001', null, key()),
      ),
    ).toBeInstanceOf(NotFoundError);
    expect(h.movements('refund')).toHaveLength(0);
    const [alice] = (
      await h.provider.payments.getPayments(ctx('cust_alice'), ['pi_SeedAliceFresh00000001'])
    ).values();
    expect(alice?.status).toBe('PENDING');
  });

  it('shows a lost chargeback as REFUNDED', async () => {
    const found = await h.provider.payments.getPayments(ctx('cust_bob'), [
      'pi_SeedBobDisputeLost0001',
      'pi_SeedBobDeclined0000001',
    ]);
    expect(found.get('pi_SeedBobDisputeLost0001')?.status).toBe('REFUNDED');
    expect(found.get('pi_SeedBobDeclined0000001')).toMatchObject({
      status: 'FAILED',
      failureReason: 'INSUFFICIENT_FUNDS',
    });
  });

  it("lists the subject's payments newest first, page by page", async () => {
    const first = await h.provider.payments.listPayments(ctx('cust_alice'), { limit: 4 });
    expect(first.payments).toHaveLength(4);
    expect(first.hasMore).toBe(true);
    const second = await h.provider.payments.listPayments(ctx('cust_alice'), {
      limit: 4,
      startingAfter: first.endCursor,
    });
    expect(second.hasMore).toBe(false);
    const all = [...first.payments, ...second.payments];
    expect(all.every((payment) => payment.ownerId === 'cust_alice')).toBe(true);
    expect(all.map((payment) => payment.createdAt.getTime())).toEqual(
      all.map((payment) => payment.createdAt.getTime()).sort((a, b) => b - a),
    );
  });

  it('asks for consent when the subject has no Stripe link', async () => {
    expect(
      await failure(h.provider.payments.getPayments(ctx('cust_nobody'), ['pi_SeedAliceSucceeded0001'])),
    ).toBeInstanceOf(ConsentRequiredError);
  });

  it("finds the subject's link in the call's own credential store", async () => {
    const own: CredentialStore = {
      get: async (subject, provider) =>
        subject === 'cust_alice' ? ((await credentials.get('cust_alice', provider)) ?? null) : null,
      update: async () => undefined,
      refreshing: noRefreshing,
    };
    const alice = { ...ctx('cust_alice'), credentials: own };
    const found = await h.provider.payments.getPayments(alice, ['pi_SeedAliceSucceeded0001']);
    expect(found.get('pi_SeedAliceSucceeded0001')?.status).toBe('SETTLED');
    // The call's store decides: bob has no link in it, whatever the process-wide store holds.
    const bob = { ...ctx('cust_bob'), credentials: own };
    expect(await failure(h.provider.payments.getPayments(bob, ['pi_SeedAliceSucceeded0001']))).toBeInstanceOf(
      ConsentRequiredError,
    );
  });
});
