/**
 * Payment.disputes through the request's loader: a list of payments asks the store once for all of
 * their disputes (not once per payment), always as the caller, and a payment without disputes gets [].
 */
import { pino } from 'pino';
import { describe, expect, it } from 'vitest';
import type { Dispute } from '../../domain/model.js';
import { createLoaders, type LoaderPorts } from '../../resolvers/loaders.js';

const dispute = { id: 'dp_1', status: 'NEEDS_RESPONSE' } as Dispute;

function loaders(calls: { subject: string; ids: readonly string[] }[]) {
  const ports = {
    consents: { read: async () => [] } as unknown as LoaderPorts['consents'],
    partners: { accounts: () => ({}) as never, isPartner: () => true },
    payments: { paymentsById: async () => new Map() },
    disputes: {
      byPayments: async (subject: string, ids: readonly string[]) => {
        calls.push({ subject, ids });
        return new Map([['pay_1', [dispute]]]);
      },
    },
  } satisfies LoaderPorts;
  return createLoaders(
    {
      principal: { subject: 'cust_alice', scopes: new Set(['payments:read']) },
      correlationId: 'test-disputes',
      logger: pino({ level: 'silent' }),
    },
    ports,
  );
}

describe('the disputes loader', () => {
  it("batches every payment's disputes of one tick into one store read, as the caller", async () => {
    const calls: { subject: string; ids: readonly string[] }[] = [];
    const { disputes } = loaders(calls);
    const answers = await Promise.all(['pay_1', 'pay_2', 'pay_3'].map((id) => disputes.load(id)));
    expect(calls).toEqual([{ subject: 'cust_alice', ids: ['pay_1', 'pay_2', 'pay_3'] }]);
    expect(answers).toEqual([[dispute], [], []]);
  });
});
