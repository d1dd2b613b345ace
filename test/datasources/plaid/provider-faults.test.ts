import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import type { CallPolicy } from '../../../datasources/http.js';
import { PartnerError } from '../../../domain/errors.js';
import type { FaultRule } from '../../../sandboxes/kit/sandbox.js';
import { PLAID_SANDBOX_SECRET, SEEDED_ACCOUNTS } from '../../../sandboxes/plaid/index.js';
import { startHarness, type Harness } from './harness.js';

const ALICE = SEEDED_ACCOUNTS.cust_alice as [string, string];
const FAST = { timeouts: { totalMs: 500, headersMs: 400, bodyMs: 400, connectMs: 400 } };

type Expected = {
  code: PartnerError['code'];
  retryable: boolean;
  status?: number;
  retryAfterSeconds?: number;
};

/** Every fault kind of the sandbox kit, and the typed error it must become. */
const FAULTS: [string, Omit<FaultRule, 'match'>, Expected][] = [
  [
    'latency beyond the deadline',
    { kind: 'latency', ms: 1_500 },
    { code: 'PARTNER_TIMEOUT', retryable: true },
  ],
  ['a 500', { kind: 'status', status: 500 }, { code: 'PARTNER_UNAVAILABLE', retryable: true, status: 500 }],
  ['a 503', { kind: 'status', status: 503 }, { code: 'PARTNER_UNAVAILABLE', retryable: true, status: 503 }],
  ['a 400', { kind: 'status', status: 400 }, { code: 'PARTNER_UNAVAILABLE', retryable: false, status: 400 }],
  [
    'a 429',
    { kind: 'rate_limit', retryAfter: 7 },
    { code: 'PARTNER_RATE_LIMITED', retryable: true, status: 429, retryAfterSeconds: 7 },
  ],
  ['a hung request', { kind: 'hang' }, { code: 'PARTNER_TIMEOUT', retryable: true }],
  ['a connection reset', { kind: 'reset' }, { code: 'PARTNER_UNAVAILABLE', retryable: true }],
  ['a truncated body', { kind: 'truncate' }, { code: 'PARTNER_UNAVAILABLE', retryable: true }],
  ['a malformed body', { kind: 'malformed' }, { code: 'PARTNER_CONTRACT_VIOLATION', retryable: false }],
  [
    'a contract-breaking body',
    { kind: 'contract' },
    { code: 'PARTNER_CONTRACT_VIOLATION', retryable: false },
  ],
];

async function failure(promise: Promise<unknown>): Promise<PartnerError> {
  const error = await promise.then(
    () => new Error('expected a failure'),
    (e: unknown) => e,
  );
  expect(error).toBeInstanceOf(PartnerError);
  return error as PartnerError;
}

describe('plaid provider: partner faults', () => {
  let h: Harness;
  let itemId: string;
  beforeAll(async () => {
    h = await startHarness({ provider: FAST });
    itemId = (await h.link('cust_alice')).externalRef;
  });
  afterAll(async () => {
    await h?.close();
  });
  afterEach(() => {
    h.sandbox.setFaults([]);
  });

  it.each(FAULTS)(
    'turns %s on /accounts/get into a typed error and maps nothing',
    async (_name, rule, expected) => {
      h.sandbox.setFaults([{ ...rule, match: '/accounts/get' }]);
      const error = await failure(h.accounts.listAccounts(h.ctx('cust_alice')));
      expect(error).toMatchObject({ ...expected, partner: 'plaid', endpoint: 'POST /accounts/get' });
    },
  );

  it.each(FAULTS)('turns %s on /accounts/balance/get into a typed error', async (_name, rule, expected) => {
    h.sandbox.setFaults([{ ...rule, match: '/accounts/balance/get' }]);
    const error = await failure(h.accounts.getBalances(h.ctx('cust_alice'), ALICE));
    expect(error).toMatchObject(expected);
  });

  it.each(FAULTS)(
    'turns %s on /transactions/sync into a typed error and leaves the copy untouched',
    async (_name, rule, expected) => {
      h.sandbox.setFaults([{ ...rule, match: '/transactions/sync' }]);
      const error = await failure(h.accounts.listTransactions(h.ctx('cust_alice'), ALICE, {}));
      expect(error).toMatchObject(expected);
      expect(await h.store.cursor('cust_alice', itemId)).toBeNull();
      expect((await h.store.readCopy('cust_alice', itemId, ALICE))?.transactions ?? []).toEqual([]);
    },
  );

  it('keeps nothing of a sync whose last page breaks the contract after three good pages', async () => {
    const paged = await startHarness({ provider: { ...FAST, syncPageSize: 10 } });
    try {
      const { externalRef } = await paged.link('cust_alice');
      // The newest change comes last: a USD amount with a third decimal, which cannot be money.
      await paged.control('transactions', {
        customer: 'cust_alice',
        add: [{ account_id: ALICE[0], amount: 1.005, name: 'HALF A CENT' }],
      });
      const error = await failure(paged.accounts.listTransactions(paged.ctx('cust_alice'), ALICE, {}));
      expect(error).toMatchObject({
        code: 'PARTNER_CONTRACT_VIOLATION',
        issues: [expect.stringMatching(/^page 4 added\[1\]\.amount: /)],
      });
      expect(paged.sandbox.ledger().requests['POST /transactions/sync']).toBe(4);
      expect(await paged.store.cursor('cust_alice', externalRef)).toBeNull();
      expect((await paged.store.readCopy('cust_alice', externalRef, ALICE))?.transactions ?? []).toEqual([]);
    } finally {
      await paged.close();
    }
  });

  it('logs a contract violation with the partner, endpoint and failing path', async () => {
    h.sandbox.setFaults([{ kind: 'contract', match: '/accounts/get' }]);
    await failure(h.accounts.listAccounts(h.ctx('cust_alice')));
    const line = h.logs.filter((l) => l.includes('breaks its contract')).at(-1) ?? '';
    expect(JSON.parse(line)).toMatchObject({
      partner: 'plaid',
      endpoint: 'POST /accounts/get',
      issues: [expect.stringMatching(/^accounts\[0\]\.type: /)],
    });
  });

  it.each(['reset', 'hang', 'truncate'] as const)(
    'keeps neither the Plaid secret nor the access token in the error of a %s, nor in the log',
    async (kind) => {
      h.sandbox.setFaults([{ kind, match: '/accounts/get' }]);
      const error = await failure(h.accounts.listAccounts(h.ctx('cust_alice')));
      const chain: unknown[] = [];
      for (let e: unknown = error; e instanceof Error && chain.length < 6; e = e.cause) chain.push(e);
      const seen = JSON.stringify(chain.map((e) => ({ ...(e as object), message: (e as Error).message })));
      expect(chain.length).toBeGreaterThan(0);
      expect(seen).not.toContain(PLAID_SANDBOX_SECRET);
      expect(seen).not.toMatch(/access-sandbox-/);
      expect(h.logs.join('\n')).not.toContain(PLAID_SANDBOX_SECRET);
    },
  );

  it('retries nothing by itself: one failing answer is one partner call', async () => {
    h.sandbox.resetLedger();
    h.sandbox.setFaults([{ kind: 'status', status: 500, times: 1 }]);
    await failure(h.accounts.listAccounts(h.ctx('cust_alice')));
    expect(h.sandbox.ledger().requests).toEqual({ 'POST /accounts/get': 1 });
  });

  it('runs every call under the partner policy it is given', async () => {
    const attempts: string[] = [];
    const retryOnce: CallPolicy = {
      async execute(fn) {
        try {
          attempts.push('first');
          return await fn(new AbortController().signal);
        } catch (error) {
          if (!(error instanceof PartnerError) || !error.retryable) throw error;
          attempts.push('retry');
          return fn(new AbortController().signal);
        }
      },
    };
    const withPolicy = await startHarness({ provider: { ...FAST, policy: retryOnce } });
    try {
      await withPolicy.link('cust_alice');
      withPolicy.sandbox.resetLedger();
      withPolicy.sandbox.setFaults([{ kind: 'status', status: 503, times: 1 }]);
      const accounts = await withPolicy.accounts.listAccounts(withPolicy.ctx('cust_alice'));
      expect(accounts).toHaveLength(2);
      expect(withPolicy.sandbox.ledger().requests).toEqual({ 'POST /accounts/get': 2 });
      expect(attempts.slice(-2)).toEqual(['first', 'retry']);
    } finally {
      await withPolicy.close();
    }
  });
});
