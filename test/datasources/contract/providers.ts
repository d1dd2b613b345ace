/**
 * The providers under the contract suite, each built exactly as the registry builds it (its
 * module's factory from the module list, the sandbox endpoint and hooks `npm start` hands it, the partner's resilience policy,
 * the development configuration) and talking to its real sandbox over loopback. Besides the provider,
 * each entry says what the partner really sent, straight from the sandbox's own seed (the wire oracle:
 * which accounts are whose, each transaction's direction and exact amount, each payment's amount), and
 * which sandbox route serves each capability (for the `contract` fault).
 */
import { randomBytes } from 'node:crypto';
import { pino } from 'pino';
import type { ProviderName } from '../../../domain/model.js';
import { parseDecimal, type Money } from '../../../domain/money.js';
import { partnerModule } from '../../../datasources/modules.js';
import { PartnerPolicy, policySettings } from '../../../datasources/resilience.js';
import type { CallContext, CreatePaymentRequest, Provider } from '../../../domain/providers.js';
import { loadConfig } from '../../../server/config.js';
import { sandboxEndpoint, type RunningSandboxes } from '../../../sandboxes/index.js';
import type { SandboxHandle } from '../../../sandboxes/kit/sandbox.js';
import { AISP_BASE, PISP_BASE } from '../../../sandboxes/openbanking/index.js';
import { buildBank } from '../../../sandboxes/openbanking/seed.js';
import { buildSeed } from '../../../sandboxes/plaid/seed.js';
import { SEED_PAYMENTS } from '../../../sandboxes/stripe/index.js';
import { STORED_METHODS } from '../../../sandboxes/adyen/index.js';
import type { Db } from '../../../store/db.js';
import { MemoryCredentials } from '../plaid/harness.js';

export const logger = pino({ level: 'silent' });
const STORED_METHOD_IDS = Object.keys(STORED_METHODS);

/** The capabilities a provider may have, as the contract suite tests them. */
export type Capability = 'accounts' | 'balances' | 'transactions' | 'payments';

/** What the partner sent for one transaction: which way the money went and how much (positive). */
export interface WireTransaction {
  direction: 'in' | 'out';
  magnitude: Money;
}

/** One provider under contract, with its wire oracle. */
export interface ContractProvider {
  name: ProviderName;
  provider: Provider;
  sandbox: SandboxHandle;
  /** The seeded subjects this partner knows, all linked through the partner's sandbox consent flow. */
  subjects: readonly string[];
  /** Route prefix (`METHOD /path`) the capability's read calls go to. */
  routes: Partial<Record<Capability, string>>;
  /** Partner account ids the sandbox seeded for the subject. */
  seededAccounts(subject: string): readonly string[];
  /** What the partner sent for a transaction, by partner id; undefined when it never sent it. */
  wireTransaction(partnerId: string): WireTransaction | undefined;
  /** The subject's payments at the partner (partner ids) and what each was for. */
  payments(subject: string): Promise<Map<string, Money>>;
  close(): Promise<void>;
}

let seq = 0;
export const ctx = (subject: string): CallContext => ({
  subject,
  correlationId: `contract-${subject}-${++seq}`,
  logger,
});

/** Builds the provider the registry would build for `name` against the running sandboxes. */
async function build(
  name: ProviderName,
  sandboxes: RunningSandboxes,
  db: Db,
  subjects: readonly string[],
  link = true,
): Promise<{ provider: Provider; sandbox: SandboxHandle }> {
  const running = sandboxes[name];
  if (!running) throw new Error(`no ${name} sandbox`);
  const config = loadConfig({ NODE_ENV: 'test', LOG_LEVEL: 'silent' });
  const calls = config.partners[name]!.calls;
  const credentials = new MemoryCredentials();
  const provider = partnerModule(name).createProvider(
    {
      endpoint: sandboxEndpoint(running),
      calls,
      sandbox: running.hooks,
      policy: new PartnerPolicy(name, policySettings(calls), { logger }),
      returnUrl: config.paymentReturnUrl,
    },
    { credentials, db, logger },
  );
  // A partner that authenticates the platform alone (Adyen) links no customer.
  if (!link) return { provider, sandbox: running.handle };
  if (!provider.connectSandboxCustomer) throw new Error(`${name} cannot link sandbox customers`);
  for (const subject of subjects) {
    const link = await provider.connectSandboxCustomer(subject);
    await credentials.update({
      subject,
      provider: name,
      externalRef: link.externalRef,
      accessToken: link.accessToken,
      refreshToken: link.refreshToken,
      expiresAt: link.tokenExpiresAt,
    });
  }
  return { provider, sandbox: running.handle };
}

/** Open Banking: accounts, balances, transactions, and domestic payments made in set-up. */
async function openBanking(sandboxes: RunningSandboxes, db: Db): Promise<ContractProvider> {
  const subjects = ['cust_alice', 'cust_bob', 'cust_carol'];
  const { provider, sandbox } = await build('openbanking', sandboxes, db, subjects);
  const bank = buildBank();
  const wire = new Map<string, WireTransaction>();
  for (const account of bank.accounts.values()) {
    for (const tx of account.transactions) {
      if (!tx.TransactionId) continue;
      wire.set(tx.TransactionId, {
        direction: tx.CreditDebitIndicator === 'Debit' ? 'out' : 'in',
        magnitude: parseDecimal(tx.Amount.Amount, tx.Amount.Currency),
      });
    }
  }
  // The bank seeds no payments: each subject makes one from their current account, once.
  const made = new Map<string, Promise<Map<string, Money>>>();
  const debtor: Record<string, string> = { cust_alice: 'alice-current-01', cust_bob: 'bob-current-01' };
  const pay = async (subject: string) => {
    const from = debtor[subject];
    if (!from || !provider.payments) return new Map<string, Money>();
    const request: CreatePaymentRequest = {
      amount: parseDecimal(subject === 'cust_alice' ? '12.34' : '5.06', 'GBP'),
      reference: `Contract ${subject}`,
      debtorPartnerAccountId: from,
      paymentMethodId: null,
      creditor: { name: 'ACME Supplies Ltd', sortCode: '601613', accountNumber: '31926819', iban: null },
      partnerIdempotencyKey: `trb1-${randomBytes(16).toString('hex')}`,
    };
    const payment = await provider.payments.createPayment(ctx(subject), request);
    return new Map([[payment.partnerId, request.amount]]);
  };
  return {
    name: 'openbanking',
    provider,
    sandbox,
    subjects,
    routes: {
      accounts: `GET ${AISP_BASE}/accounts`,
      balances: `GET ${AISP_BASE}/balances`,
      transactions: `GET ${AISP_BASE}/transactions`,
      payments: `GET ${PISP_BASE}/domestic-payments/`,
    },
    seededAccounts: (subject) => bank.byPsu.get(subject) ?? [],
    wireTransaction: (id) => wire.get(id),
    payments(subject) {
      let payments = made.get(subject);
      if (!payments) made.set(subject, (payments = pay(subject)));
      return payments;
    },
    close: () => provider.close(),
  };
}

/** Plaid: accounts, balances and transactions (through /transactions/sync and the local copy). */
async function plaid(sandboxes: RunningSandboxes, db: Db): Promise<ContractProvider> {
  const subjects = ['cust_alice', 'cust_bob', 'cust_carol'];
  const { provider, sandbox } = await build('plaid', sandboxes, db, subjects);
  const seed = buildSeed();
  const wire = new Map<string, WireTransaction>();
  for (const customer of seed.values()) {
    for (const tx of customer.transactions) {
      if (!tx.iso_currency_code) continue;
      wire.set(tx.transaction_id, {
        // Plaid: positive = money out of the account.
        direction: tx.amount > 0 ? 'out' : 'in',
        magnitude: parseDecimal(String(Math.abs(tx.amount)), tx.iso_currency_code),
      });
    }
  }
  return {
    name: 'plaid',
    provider,
    sandbox,
    subjects,
    routes: {
      accounts: 'POST /accounts/get',
      balances: 'POST /accounts/balance/get',
      transactions: 'POST /transactions/sync',
    },
    seededAccounts: (subject) =>
      seed.get(subject)?.accounts.map((account) => account.account_id) ?? ([] as string[]),
    wireTransaction: (id) => wire.get(id),
    payments: async () => new Map(),
    close: () => provider.close(),
  };
}

/** Stripe: the seeded PaymentIntents of each demo customer (Stripe amounts are minor units). */
async function stripe(sandboxes: RunningSandboxes, db: Db): Promise<ContractProvider> {
  const subjects = ['cust_alice', 'cust_bob'];
  const { provider, sandbox } = await build('stripe', sandboxes, db, subjects);
  return {
    name: 'stripe',
    provider,
    sandbox,
    subjects,
    routes: { payments: 'GET /v1/payment_intents/' },
    seededAccounts: () => [],
    wireTransaction: () => undefined,
    payments: async (subject) =>
      new Map(
        SEED_PAYMENTS.filter((seeded) => seeded.subject === subject).map((seeded) => [
          seeded.id,
          { minor: BigInt(seeded.amount), currency: seeded.currency.toUpperCase() },
        ]),
      ),
    close: () => provider.close(),
  };
}

/**
 * Adyen: no customer link (the platform's API key and merchant account) and nothing seeded; each
 * subject pays once with the sandbox's stored test card, and the read path is the module's record.
 */
async function adyen(sandboxes: RunningSandboxes, db: Db): Promise<ContractProvider> {
  const subjects = ['cust_alice', 'cust_bob'];
  const { provider, sandbox } = await build('adyen', sandboxes, db, subjects, false);
  const made = new Map<string, Promise<Map<string, Money>>>();
  const pay = async (subject: string) => {
    if (!provider.payments) return new Map<string, Money>();
    const amount = parseDecimal(subject === 'cust_alice' ? '25.99' : '7.01', 'EUR');
    const payment = await provider.payments.createPayment(ctx(subject), {
      amount,
      reference: `Contract ${subject}`,
      debtorPartnerAccountId: null,
      paymentMethodId: STORED_METHOD_IDS[0]!,
      creditor: null,
      partnerIdempotencyKey: `trb1-${randomBytes(16).toString('hex')}`,
    });
    return new Map([[payment.partnerId, amount]]);
  };
  return {
    name: 'adyen',
    provider,
    sandbox,
    subjects,
    routes: { payments: 'POST /v71/payments' },
    seededAccounts: () => [],
    wireTransaction: () => undefined,
    payments(subject) {
      let payments = made.get(subject);
      if (!payments) made.set(subject, (payments = pay(subject)));
      return payments;
    },
    close: () => provider.close(),
  };
}

export const CONTRACT_PROVIDERS: Record<
  ProviderName,
  (sandboxes: RunningSandboxes, db: Db) => Promise<ContractProvider>
> = { openbanking: openBanking, plaid, stripe, adyen };
