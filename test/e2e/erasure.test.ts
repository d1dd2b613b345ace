/**
 * Erasing a customer end to end: cust_carol has links at every partner, accounts read through the
 * graph (cached, and Plaid's local copy), a bank payment with a creditor and a card payment settled by
 * webhooks. `eraseCustomer` then leaves nothing personal of hers in the database (a dump of every
 * table, raw webhook bodies included) or in the logs, keeps her payments' amounts and statuses under a
 * pseudonym, deletes her links at the partners, and the audit chain still verifies.
 */
import { randomBytes } from 'node:crypto';
import { Writable } from 'node:stream';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startTestApp, type TestApp } from '../helpers/app.js';
import { partnerRequests } from './security-support.js';

const SUBJECT = 'cust_carol';
const lines: string[] = [];
const logs = new Writable({
  write(chunk: Buffer, _encoding, done) {
    lines.push(...chunk.toString('utf8').split('\n').filter(Boolean));
    done();
  },
});

const ERASE = `mutation($subject: ID!, $reason: String!) { eraseCustomer(subject: $subject, reason: $reason) {
  erasure { pseudonym consentsRevoked consentsDeleted payments idempotencyKeys webhookEvents localCopies auditEntriesErased }
  userErrors { code } } }`;
const key = () => `erasure-e2e-${randomBytes(8).toString('hex')}`;

let app: TestApp;
beforeAll(async () => {
  app = await startTestApp({ customers: [SUBJECT], env: { LOG_LEVEL: 'info' }, logs });
}, 120_000);
afterAll(() => app?.close());

/** Every row of every table of the database, as text (bytea as UTF-8): what a dump would hold. */
async function dump(): Promise<string> {
  const db = app.server.services.db;
  const tables = await db.query<{ table_name: string }>(
    `SELECT table_name FROM information_schema.tables
     WHERE table_schema = current_schema() AND table_type = 'BASE TABLE' ORDER BY table_name`,
  );
  const parts: string[] = [];
  for (const { table_name: table } of tables) {
    const rows = await db.query(`SELECT * FROM "${table}"`);
    parts.push(
      `${table}: ${JSON.stringify(rows, (_key, value: unknown) =>
        value instanceof Uint8Array
          ? Buffer.from(value).toString('utf8')
          : typeof value === 'bigint'
            ? String(value)
            : value,
      )}`,
    );
  }
  return parts.join('\n');
}

describe('eraseCustomer', () => {
  it("leaves none of the customer's personal data in the database or the logs, and the audit chain valid", async () => {
    // Her id, her name and IBAN at the bank (the sandbox's seed), and what the traffic below adds.
    const personal = new Set<string>([
      SUBJECT,
      'Carol Chen',
      'GB29NWBK60161331926819',
      'GB94BARC10201530093459',
    ]);
    const carol = await app.token(SUBJECT);
    const dashboard = await app.graphql(
      `{ accounts(first: 50) { edges { node { id provider currency maskedNumber transactions(first: 50) { edges { node { description } } } } } } }`,
      undefined,
      { token: carol },
    );
    expect(dashboard.body.errors).toBeUndefined();
    type Node = {
      id: string;
      provider: string;
      currency: string;
      maskedNumber: string | null;
      transactions: { edges: { node: { description: string } }[] };
    };
    const accounts = (dashboard.body.data!.accounts as { edges: { node: Node }[] }).edges.map(
      (edge) => edge.node,
    );
    expect(accounts.map((account) => account.provider)).toEqual(
      expect.arrayContaining(['OPENBANKING', 'PLAID']),
    );
    for (const provider of ['openbanking', 'plaid', 'stripe'] as const) {
      const credential = await app.server.services.consents.credentials.get(SUBJECT, provider);
      expect(credential, provider).not.toBeNull();
      // Her handle at the partner (Stripe customer, Plaid Item, bank consent) links partner records to her.
      personal.add(credential!.externalRef);
      // A partner that authenticates with our own key alone (Stripe) holds no token of hers.
      for (const token of [credential!.accessToken, credential!.refreshToken])
        if (token && token.length >= 8) personal.add(token);
    }
    const plaidCopy = await app.server.services.db.query<{ n: number }>(
      'SELECT count(*)::int AS n FROM plaid_transactions WHERE subject = $1',
      [SUBJECT],
    );
    expect(plaidCopy[0]!.n).toBeGreaterThan(0);

    const pay = `mutation($input: InitiatePaymentInput!, $key: String!) { initiatePayment(input: $input, idempotencyKey: $key) {
      payment { id status amount { amount currency } } userErrors { code } } }`;
    const creditor = { name: 'Zelda Erasable', sortCode: '040004', accountNumber: '11223344' };
    personal.add(creditor.name).add('Erase me 1234').add('Card erase 5678');
    const bank = await app.graphql(
      pay,
      {
        input: {
          debtorAccountId: accounts.find(
            (account) => account.provider === 'OPENBANKING' && account.currency === 'JPY',
          )!.id,
          amount: { amount: '1500', currency: 'JPY' },
          creditor,
          reference: 'Erase me 1234',
        },
        key: key(),
      },
      { token: carol },
    );
    const card = await app.graphql(
      pay,
      {
        input: {
          paymentMethodId: 'pm_card_visa',
          amount: { amount: '7.50', currency: 'GBP' },
          reference: 'Card erase 5678',
        },
        key: key(),
      },
      { token: carol },
    );
    expect(bank.body.errors, JSON.stringify(bank.body.errors)).toBeUndefined();
    expect(card.body.errors, JSON.stringify(card.body.errors)).toBeUndefined();
    const paymentIds = [bank, card].map(
      (answer) => (answer.body.data!.initiatePayment as { payment: { id: string } }).payment.id,
    );
    // Plaid tells us her Item has new transactions: a webhook naming her Item.
    const plaid = app.sandboxes.plaid!;
    const fired = await fetch(`${plaid.handle.url}/sandbox/item/fire_webhook`, {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: JSON.stringify({
        client_id: plaid.clientId,
        secret: plaid.clientSecret,
        access_token: (await app.server.services.consents.credentials.get(SUBJECT, 'plaid'))!.accessToken,
        webhook_code: 'SYNC_UPDATES_AVAILABLE',
      }),
    });
    expect(fired.status).toBe(200);
    // The partners' webhooks about her payments and her Item are in (and processed) before the erasure.
    const inbox = app.server.services.webhooks.operations;
    await expect
      .poll(
        async () => {
          const events = (await inbox.list({ first: 100 })).events;
          const settled = events.filter(
            (event) => event.status === 'processed' || event.status === 'ignored',
          );
          return events.some((event) => event.provider === 'plaid') && settled.length === events.length;
        },
        { timeout: 20_000 },
      )
      .toBe(true);

    const before = partnerRequests(app.sandboxes);
    const ops = await app.token('ops_erin', ['ops:read', 'ops:write']);
    const erased = await app.graphql(ERASE, { subject: SUBJECT, reason: 'DSR-2026-0042' }, { token: ops });
    expect(erased.body.errors).toBeUndefined();
    const report = (erased.body.data!.eraseCustomer as { erasure: Record<string, number | string> }).erasure;
    expect(report).toMatchObject({ consentsRevoked: 3, consentsDeleted: 3, payments: 2 });
    expect(report.idempotencyKeys).toBeGreaterThanOrEqual(2);
    expect(report.auditEntriesErased).toBeGreaterThan(0);
    expect(String(report.pseudonym)).toMatch(/^erased-[0-9a-f]{24}$/);

    // Plaid's local copy went with the Item (removing it at Plaid drops the copy; erasure finds none left).
    const copyAfter = await app.server.services.db.query<{ n: number }>(
      'SELECT count(*)::int AS n FROM plaid_transactions WHERE subject = $1',
      [SUBJECT],
    );
    expect(copyAfter[0]!.n).toBe(0);

    // The links are gone at the partners too.
    const after = partnerRequests(app.sandboxes);
    const route = (name: string) => (after[name] ?? 0) - (before[name] ?? 0);
    expect(route('openbanking DELETE /open-banking/v3.1/aisp/account-access-consents/{ConsentId}')).toBe(1);
    expect(route('plaid POST /item/remove')).toBe(1);

    // Nothing personal in any table; the ledger keeps amounts and statuses under the pseudonym.
    const text = await dump();
    const holding = (value: string) =>
      text
        .split('\n')
        .filter((table) => table.includes(value))
        .map((table) => table.slice(0, table.indexOf(':')));
    for (const value of personal) expect(holding(value), `tables holding ${value}`).toEqual([]);
    for (const account of accounts) {
      for (const edge of account.transactions.edges)
        expect(text.includes(edge.node.description), `database holds "${edge.node.description}"`).toBe(false);
    }
    const ledger = await app.server.services.db.query<{
      subject: string;
      amount_minor: string;
      status: string;
    }>(
      'SELECT subject, amount_minor::text, status FROM payments WHERE id = ANY($1) ORDER BY payments.amount_minor DESC',
      [paymentIds],
    );
    expect(ledger).toEqual([
      { subject: report.pseudonym, amount_minor: '1500', status: expect.any(String) },
      { subject: report.pseudonym, amount_minor: '750', status: 'SETTLED' },
    ]);

    // The chain verifies, and records the erasure under the pseudonym.
    expect((await app.server.services.audit.verify()).ok).toBe(true);
    const [entry] = await app.server.services.db.query<{ target: string; subject: string | null }>(
      `SELECT target, subject FROM audit_log WHERE action = 'customer.erased'`,
    );
    expect(entry).toEqual({ target: `customer:${report.pseudonym}`, subject: null });

    // Nothing is served for her any more, and running the erasure again changes nothing.
    const emptied = await app.graphql('{ accounts { edges { node { id } } } }', undefined, { token: carol });
    expect(emptied.body.data).toEqual({ accounts: { edges: [] } });
    const again = await app.graphql(ERASE, { subject: SUBJECT, reason: 'DSR-2026-0042' }, { token: ops });
    expect((again.body.data!.eraseCustomer as { erasure: Record<string, number> }).erasure).toMatchObject({
      consentsRevoked: 0,
      consentsDeleted: 0,
      payments: 0,
      webhookEvents: 0,
    });

    // And the logs never held any of it.
    expect(lines.length).toBeGreaterThan(20);
    const leaks = [...personal].flatMap((value) =>
      lines.filter((line) => line.includes(value)).map((line) => `${value}: ${line.slice(0, 200)}`),
    );
    expect(leaks).toEqual([]);
  }, 120_000);

  it('needs ops:write', async () => {
    const answer = await app.graphql(
      ERASE,
      { subject: 'cust_bob', reason: 'x' },
      { token: await app.token('cust_bob') },
    );
    expect(answer.body.errors?.[0]?.extensions?.code).toBe('FORBIDDEN');
  });
});
