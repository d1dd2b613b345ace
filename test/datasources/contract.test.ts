/**
 * One contract for every provider: Open Banking, Plaid and Stripe, each built the way the registry
 * builds it and reached over loopback at its real sandbox, must hand the rest of the process the same
 * canonical data for every capability it has (accounts, balances, transactions, the payment read
 * path): ids that route back to it, exact money signed the canonical way, members of the canonical
 * enums, only the asking subject's data, and a typed PARTNER_CONTRACT_VIOLATION, mapping nothing, when
 * the partner's body breaks its contract.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { Account, Balance, Transaction } from '../../domain/model.js';
import { PARTNER_NAMES } from '../../datasources/modules.js';
import { formatDecimal } from '../../domain/money.js';
import type { AccountsProvider, PaymentsProvider } from '../../domain/providers.js';
import { PartnerError } from '../../domain/errors.js';
import { startSandboxes, stopSandboxes, type RunningSandboxes } from '../../sandboxes/index.js';
import type { Db } from '../../store/db.js';
import { testBackends } from '../helpers/db.js';
import { failure } from './stripe/harness.js';
import { expectAccount, expectBalance, expectPayment, expectTransaction } from './contract/invariants.js';
import { CONTRACT_PROVIDERS, ctx, type Capability, type ContractProvider } from './contract/providers.js';

/** What each provider offers; a provider gaining or losing a capability must update the contract. */
const CAPABILITIES: Record<string, Capability[]> = {
  openbanking: ['accounts', 'balances', 'transactions', 'payments'],
  plaid: ['accounts', 'balances', 'transactions'],
  stripe: ['payments'],
  adyen: ['payments'],
};

/**
 * Capabilities whose reads never reach the partner, so no wire fault can break them: Adyen Checkout has
 * no read endpoint, and its payments are read from the module's record of its answers and verified
 * notifications (datasources/adyen/index.ts); its wire contract is tested in test/datasources/adyen.
 */
const LOCAL_READS: Record<string, Capability[]> = { adyen: ['payments'] };
const wireReads = (name: string) =>
  (CAPABILITIES[name] ?? []).filter((capability) => !(LOCAL_READS[name] ?? []).includes(capability));

let sandboxes: RunningSandboxes;
let db: Db;

beforeAll(async () => {
  sandboxes = await startSandboxes();
  db = await testBackends()
    .find((backend) => backend.kind === 'pglite')!
    .open();
}, 120_000);
afterAll(async () => {
  if (sandboxes) await stopSandboxes(sandboxes);
  await db?.close();
});

/** What a read gave, reduced to what must not change between two fault-free reads. */
const accountsView = (list: Account[]) => list.map((a) => [a.id, a.type, a.currency]).sort();
const balancesView = (map: Map<string, Balance>) =>
  [...map].map(([id, b]) => [id, formatDecimal(b.current), b.available && formatDecimal(b.available)]).sort();
const transactionsView = (list: Transaction[]) =>
  list.map((t) => [t.id, t.accountId, formatDecimal(t.amount), t.status]).sort();

it('has a wire oracle and a capability list for every partner of the module list', () => {
  for (const name of PARTNER_NAMES) {
    expect(CONTRACT_PROVIDERS[name], `contract/providers.ts has no entry for ${name}`).toBeDefined();
    expect(CAPABILITIES[name], `CAPABILITIES has no entry for ${name}`).toBeDefined();
  }
});

describe.each(PARTNER_NAMES.map((name) => ({ name })))(
  'the $name provider keeps the canonical contract',
  ({ name }) => {
    let p: ContractProvider;

    beforeAll(async () => {
      p = await CONTRACT_PROVIDERS[name]!(sandboxes, db);
    }, 120_000);
    afterAll(() => p?.close());

    const accountsOf = (): AccountsProvider => {
      if (!p.provider.accounts) throw new Error(`${name} has no accounts capability`);
      return p.provider.accounts;
    };
    const paymentsOf = (): PaymentsProvider => {
      if (!p.provider.payments) throw new Error(`${name} has no payments capability`);
      return p.provider.payments;
    };
    const has = (capability: Capability) => CAPABILITIES[name]!.includes(capability);
    /** The subject's accounts, by global id. */
    const ownAccounts = async (subject: string) => {
      const list = await accountsOf().listAccounts(ctx(subject));
      return new Map(list.map((account) => [account.id, account]));
    };

    it('declares exactly the capabilities the contract expects of it', () => {
      expect(p.provider.name).toBe(name);
      expect(p.provider.accounts !== undefined).toBe(has('accounts'));
      expect(p.provider.payments !== undefined).toBe(has('payments'));
    });

    if (has('accounts'))
      describe('accounts', () => {
        it("lists each subject's seeded accounts, and only theirs, with routable ids and known currencies", async () => {
          for (const subject of p.subjects) {
            const accounts = await accountsOf().listAccounts(ctx(subject));
            const own = p.seededAccounts(subject);
            expect(accounts.map((a) => a.partnerId).sort(), subject).toEqual([...own].sort());
            for (const account of accounts) expectAccount(account, name, subject, own);
          }
        });

        it('gives balances in the account currency at exact scale, and none for accounts of another subject', async () => {
          const accounts = await ownAccounts('cust_alice');
          const bobs = p.seededAccounts('cust_bob');
          const alices = [...accounts.values()].map((a) => a.partnerId);
          const balances = await accountsOf().getBalances(ctx('cust_alice'), [...alices, ...bobs]);
          expect([...balances.keys()].sort()).toEqual([...alices].sort());
          for (const account of accounts.values())
            expectBalance(balances.get(account.partnerId)!, name, account);
        });

        it('covers zero-, two- and three-decimal currencies across the seeded subjects', async () => {
          const exponents = new Set<string>();
          for (const subject of p.subjects) {
            const accounts = [...(await ownAccounts(subject)).values()];
            const balances = await accountsOf().getBalances(
              ctx(subject),
              accounts.map((a) => a.partnerId),
            );
            for (const account of accounts) {
              expectBalance(balances.get(account.partnerId)!, name, account);
              exponents.add(account.currency);
            }
          }
          expect([...exponents]).toEqual(expect.arrayContaining(['JPY', 'BHD']));
        });
      });

    if (has('transactions'))
      describe('transactions', () => {
        it("signs every transaction by the direction the partner sent, exactly, on the subject's own accounts", async () => {
          for (const subject of p.subjects) {
            const accounts = await ownAccounts(subject);
            const ids = [...accounts.values()].map((a) => a.partnerId);
            const list = await accountsOf().listTransactions(ctx(subject), ids, {});
            expect(list.length, subject).toBeGreaterThan(0);
            for (const tx of list)
              expectTransaction(tx, name, subject, accounts, p.wireTransaction(tx.partnerId));
            expect(
              list.some((tx) => tx.amount.minor < 0n),
              `${subject} has money out`,
            ).toBe(true);
            expect(
              list.some((tx) => tx.amount.minor > 0n),
              `${subject} has money in`,
            ).toBe(true);
          }
        });

        it('lists newest first, and a booking-time window gives exactly the transactions inside it', async () => {
          const accounts = await ownAccounts('cust_alice');
          const ids = [...accounts.values()].map((a) => a.partnerId);
          const all = await accountsOf().listTransactions(ctx('cust_alice'), ids, {});
          const times = all.map((tx) => tx.bookedAt.getTime());
          expect(times).toEqual([...times].sort((a, b) => b - a));
          // A window from the 3rd to the 8th newest booking time, both bounds inclusive.
          const [to, from] = [all[2]!.bookedAt, all[7]!.bookedAt];
          const inside = await accountsOf().listTransactions(ctx('cust_alice'), ids, { from, to });
          const expected = all.filter((tx) => tx.bookedAt >= from && tx.bookedAt <= to);
          expect(expected.length).toBeGreaterThanOrEqual(6);
          expect(transactionsView(inside)).toEqual(transactionsView(expected));
        });

        it("returns nothing of cust_bob's accounts to cust_alice, even when asked for them by id", async () => {
          const bobs = p.seededAccounts('cust_bob');
          expect(bobs.length).toBeGreaterThan(0);
          expect(await accountsOf().listTransactions(ctx('cust_alice'), bobs, {})).toEqual([]);
          const accounts = await ownAccounts('cust_alice');
          const mixed = await accountsOf().listTransactions(
            ctx('cust_alice'),
            [...[...accounts.values()].map((a) => a.partnerId), ...bobs],
            {},
          );
          for (const tx of mixed)
            expectTransaction(tx, name, 'cust_alice', accounts, p.wireTransaction(tx.partnerId));
        });
      });

    if (has('payments'))
      describe('payments (read path)', () => {
        it("reads each subject's payments for exactly their amounts, with canonical statuses", async () => {
          for (const subject of ['cust_alice', 'cust_bob']) {
            const expected = await p.payments(subject);
            expect(expected.size, subject).toBeGreaterThan(0);
            const found = await paymentsOf().getPayments(ctx(subject), [...expected.keys()]);
            expect([...found.keys()].sort(), subject).toEqual([...expected.keys()].sort());
            for (const [id, payment] of found)
              expectPayment(payment, name, subject, expected.get(id)!, p.seededAccounts(subject));
          }
        });

        it("treats cust_bob's payments as absent when cust_alice asks for them", async () => {
          const alices = await p.payments('cust_alice');
          const bobs = await p.payments('cust_bob');
          const found = await paymentsOf().getPayments(ctx('cust_alice'), [...bobs.keys(), ...alices.keys()]);
          expect([...found.keys()].sort()).toEqual([...alices.keys()].sort());
          expect(await paymentsOf().getPayments(ctx('cust_alice'), [...bobs.keys()])).toEqual(new Map());
        });

        it('treats an id the partner does not know as absent, not as an error', async () => {
          const alices = [...(await p.payments('cust_alice')).keys()];
          const unknown = alices.map((id) => `${id.slice(0, -4)}0000`).filter((id) => !alices.includes(id));
          const found = await paymentsOf().getPayments(ctx('cust_alice'), [...unknown, ...alices]);
          expect([...found.keys()].sort()).toEqual([...alices].sort());
        });
      });

    describe.runIf(wireReads(name).length > 0)('a body that breaks the partner contract', () => {
      /** Each capability's read for cust_alice, reduced to a comparable view. */
      const reads: Record<Capability, () => Promise<unknown>> = {
        accounts: async () => accountsView(await accountsOf().listAccounts(ctx('cust_alice'))),
        balances: async () =>
          balancesView(await accountsOf().getBalances(ctx('cust_alice'), p.seededAccounts('cust_alice'))),
        // Asked live, as `Cache-Control: no-cache` does: a partner keeping a local copy reads it again.
        transactions: async () =>
          transactionsView(
            await accountsOf().listTransactions(
              { ...ctx('cust_alice'), maxAgeSeconds: 0 },
              p.seededAccounts('cust_alice'),
              {},
            ),
          ),
        payments: async () => {
          const found = await paymentsOf().getPayments(ctx('cust_alice'), [
            ...(await p.payments('cust_alice')).keys(),
          ]);
          return [...found.values()].map((payment) => [
            payment.id,
            payment.status,
            formatDecimal(payment.amount),
          ]);
        },
      };

      it.each(wireReads(name))(
        'fails %s with PARTNER_CONTRACT_VIOLATION and maps nothing',
        async (capability) => {
          const route = p.routes[capability];
          expect(route, `${name} names the route of ${capability}`).toBeDefined();
          // Warm: links, consent facts and sync cursors exist before the fault.
          const before = await reads[capability]();
          p.sandbox.setFaults([{ match: route!, kind: 'contract' }]);
          try {
            const error = await failure(reads[capability]());
            expect(error).toBeInstanceOf(PartnerError);
            expect((error as PartnerError).code).toBe('PARTNER_CONTRACT_VIOLATION');
            expect((error as PartnerError).partner).toBe(name);
            expect((error as PartnerError).retryable).toBe(false);
          } finally {
            p.sandbox.setFaults([]);
          }
          // Nothing of the broken body was kept: the next fault-free read gives what the one before it gave.
          expect(await reads[capability]()).toEqual(before);
        },
      );
    });
  },
);
