import { randomUUID } from 'node:crypto';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { Db } from '../../store/db.js';
import { ERASED, ErasureRepository } from '../../store/erasure.js';
import { testBackends } from '../helpers/db.js';

describe.each(testBackends())('erasure in the core tables on $kind', (backend) => {
  let db: Db;
  let erasure: ErasureRepository;
  beforeAll(async () => {
    db = await backend.open();
    erasure = new ErasureRepository(db);
  });
  afterAll(async () => {
    await db.close();
  });

  /** One customer with a payment, a finished and a running key, a consent, and webhooks about both. */
  async function customer() {
    const subject = `cust_${randomUUID().slice(0, 8)}`;
    const payment = `pay_${randomUUID()}`;
    const partnerPayment = `pi_${randomUUID()}`;
    const item = `item-${randomUUID()}`;
    const now = new Date();
    await db.query(
      `INSERT INTO payments (id, subject, provider, partner_id, status, amount_minor, currency, creditor_name,
         creditor_sort_code, creditor_account_last4, reference, debtor_account_id, created_at, updated_at)
       VALUES ($1, $2, 'openbanking', $3, 'SETTLED', 1500, 'GBP', 'Zelda Erasable', '040004', '3344',
         'Rent for Zelda', 'acct-global-id', $4, $4)`,
      [payment, subject, partnerPayment, now],
    );
    for (const [key, state] of [
      ['key-finished-0000001', 'finished'],
      ['key-running-00000001', 'running'],
    ] as const) {
      await db.query(
        `INSERT INTO idempotency_keys (subject, mutation, key, fingerprint, state, recovery_point, partner_key,
           owner_token, locked_until, recovery, response, created_at, updated_at, expires_at)
         VALUES ($1, 'initiatePayment', $2, 'f', $3, $4, $5, $6, $7, $8, $9, $10, $10, $10)`,
        [
          subject,
          key,
          state,
          state === 'finished' ? 'finished' : 'partner_requested',
          `trb1-${randomUUID().replace(/-/g, '')}`,
          state === 'running' ? randomUUID() : null,
          state === 'running' ? now : null,
          JSON.stringify({ creditor: { name: 'Zelda Erasable' } }),
          state === 'finished' ? JSON.stringify({ payment: { reference: 'Rent for Zelda' } }) : null,
          now,
        ],
      );
    }
    await db.query(
      `INSERT INTO consents (id, subject, provider, permissions, partner_ref, granted_at, authorised_at)
       VALUES ($1, $2, 'plaid', ARRAY['accounts:read'], $3, $4, $4)`,
      [randomUUID(), subject, item, now],
    );
    for (const [provider, kind, resource] of [
      ['openbanking', 'payment', partnerPayment],
      ['plaid', 'item', item],
    ] as const) {
      await db.query(
        `INSERT INTO webhook_events (id, provider, partner_event_id, event_type, resource_kind, resource_id, body,
           headers, verification, status, next_attempt_at, received_at)
         VALUES ($1, $2, $3, 'x', $4, $5, $6, '{"x-sig": "abc"}', 'test', 'processed', $7, $7)`,
        [
          randomUUID(),
          provider,
          randomUUID(),
          kind,
          resource,
          Buffer.from(`{"name":"Zelda Erasable","id":"${resource}"}`),
          now,
        ],
      );
    }
    return { subject, payment, partnerPayment, item };
  }

  it('keeps amounts, statuses and partner ids under the pseudonym and drops everything personal', async () => {
    const { subject, payment, partnerPayment, item } = await customer();
    const other = await customer();
    expect(await erasure.pseudonymise(subject, 'erased-abc')).toEqual({
      payments: 1,
      idempotencyKeys: 2,
      webhookEvents: 2,
    });

    const [row] = await db.query<Record<string, unknown>>('SELECT * FROM payments WHERE id = $1', [payment]);
    expect(row).toMatchObject({
      subject: 'erased-abc',
      partner_id: partnerPayment,
      status: 'SETTLED',
      currency: 'GBP',
      creditor_name: null,
      creditor_sort_code: null,
      creditor_account_last4: null,
      debtor_account_id: null,
      reference: ERASED,
    });
    expect(String(row!.amount_minor)).toBe('1500');
    const keys = await db.query<{ subject: string; response: unknown; recovery: unknown }>(
      `SELECT subject, response, recovery FROM idempotency_keys WHERE subject = 'erased-abc' ORDER BY key`,
    );
    expect(keys).toEqual([
      { subject: 'erased-abc', response: { erased: true }, recovery: null },
      { subject: 'erased-abc', response: null, recovery: null },
    ]);
    const events = await db.query<{ resource_id: string | null; body: Uint8Array; headers: unknown }>(
      `SELECT resource_id, body, headers FROM webhook_events WHERE resource_id = $1 OR resource_id IS NULL
         OR resource_id = $2`,
      [partnerPayment, item],
    );
    expect(events.map((event) => [event.resource_id, Buffer.from(event.body).length, event.headers])).toEqual(
      expect.arrayContaining([
        [partnerPayment, 0, {}],
        [null, 0, {}],
      ]),
    );
    const text = JSON.stringify(
      await db.query(
        `SELECT encode(body, 'escape') AS body FROM webhook_events WHERE resource_id IS NULL OR resource_id = $1`,
        [partnerPayment],
      ),
    );
    expect(text).not.toContain('Zelda');
    expect(text).not.toContain(item);

    // Another customer is untouched, and a second run changes nothing.
    const [untouched] = await db.query<{ subject: string; creditor_name: string }>(
      'SELECT subject, creditor_name FROM payments WHERE id = $1',
      [other.payment],
    );
    expect(untouched).toEqual({ subject: other.subject, creditor_name: 'Zelda Erasable' });
    expect(await erasure.pseudonymise(subject, 'erased-abc')).toEqual({
      payments: 0,
      idempotencyKeys: 0,
      webhookEvents: 0,
    });
  });
});
