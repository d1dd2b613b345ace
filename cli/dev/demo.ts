/**
 * Demo data for development and tests: cust_alice and cust_bob connected to every sandbox partner
 * that supports it, through the partners' own consent flows (the sandbox stands in for the customer
 * approving at the bank). Sandboxes keep their state in memory, so every start links the demo
 * customers afresh: a link from an earlier run points at a bank that no longer knows it, and is revoked.
 * `npm start` also gives cust_alice one payment at each paying partner (seedDemoPayments), made once.
 */
import { randomUUID } from 'node:crypto';
import type { Logger } from 'pino';
import type { ProviderName } from '../../domain/model.js';
import type { Registry } from '../../datasources/registry.js';
import type { CallContext } from '../../domain/providers.js';
import type { InitiatePaymentArgs, PaymentService } from '../../services/payments/index.js';
import type { ConsentRepository } from '../../store/consents.js';
import type { AuditLog } from '../../store/audit.js';

export const DEMO_CUSTOMERS = ['cust_alice', 'cust_bob'] as const;

export interface DemoDeps {
  registry: Registry;
  consents: ConsentRepository;
  audit: AuditLog;
  logger: Logger;
}

/** Connects each customer to each sandbox partner; returns what was linked. */
export async function seedDemoCustomers(
  deps: DemoDeps,
  customers: readonly string[] = DEMO_CUSTOMERS,
): Promise<{ subject: string; provider: ProviderName }[]> {
  const linked: { subject: string; provider: ProviderName }[] = [];
  for (const provider of deps.registry.sandboxLinkable()) {
    for (const subject of customers) {
      const stale = await deps.consents.findActive(subject, provider);
      if (stale) {
        await deps.consents.revoke(subject, stale.id);
        await deps.audit.append({
          actor: 'system:demo-seed',
          action: 'consent.revoked',
          subject,
          target: `consent:${stale.id}`,
          details: { provider, reason: 'the sandbox restarted' },
        });
      }
      const link = await deps.registry.connectSandboxCustomer(provider, subject);
      const consent = await deps.consents.grant({
        subject,
        provider,
        permissions: link.permissions,
        partnerRef: link.externalRef,
        credential: {
          accessToken: link.accessToken,
          refreshToken: link.refreshToken,
          expiresAt: link.tokenExpiresAt,
        },
        expiresAt: link.expiresAt,
      });
      await deps.audit.append({
        actor: 'system:demo-seed',
        action: 'consent.granted',
        subject,
        target: `consent:${consent.id}`,
        details: { provider, permissions: link.permissions },
      });
      linked.push({ subject, provider });
    }
  }
  // Counts only: customer ids stay out of the logs (an erased customer must not linger there).
  if (linked.length > 0)
    deps.logger.info(
      { customers: customers.length, providers: [...new Set(linked.map((link) => link.provider))] },
      'demo customers connected to the sandboxes',
    );
  return linked;
}

/** The demo payments of cust_alice: a card payment at Stripe and a bank payment at Open Banking. */
export const DEMO_PAYMENTS = [
  {
    provider: 'stripe',
    idempotencyKey: 'demo-seed.cust_alice.stripe.v1',
    input: {
      paymentMethodId: 'pm_card_visa',
      amount: { amount: '24.99', currency: 'GBP' },
      reference: 'Demo order 1001',
    },
  },
  {
    provider: 'openbanking',
    idempotencyKey: 'demo-seed.cust_alice.openbanking.v1',
    input: {
      amount: { amount: '42.00', currency: 'GBP' },
      creditor: { name: 'Demo Landlord Ltd', sortCode: '040004', accountNumber: '12345678' },
      reference: 'Demo rent March',
    },
  },
] as const satisfies readonly {
  provider: ProviderName;
  idempotencyKey: string;
  input: Omit<InitiatePaymentArgs, 'debtorAccountId'>;
}[];

export interface DemoPaymentDeps {
  registry: Registry;
  payments: PaymentService;
  logger: Logger;
}

/**
 * Makes cust_alice's demo payments through the payment service, as the app would: each at most once.
 * A payment already in the ledger is not made again, and each carries a fixed idempotency key, so a
 * restart (or two starts racing) replays the first answer instead of paying twice. Call it after
 * seedDemoCustomers: the payments need her links. A partner that refuses is logged, not fatal.
 */
export async function seedDemoPayments(
  deps: DemoPaymentDeps,
  subject = 'cust_alice',
): Promise<{ provider: ProviderName; paymentId: string }[]> {
  const made: { provider: ProviderName; paymentId: string }[] = [];
  const existing = await deps.payments.list(subject, { limit: 100 });
  for (const demo of DEMO_PAYMENTS) {
    const already = existing.find(
      (payment) => payment.provider === demo.provider && payment.reference === demo.input.reference,
    );
    if (already) {
      made.push({ provider: demo.provider, paymentId: already.id });
      continue;
    }
    if (!deps.registry.names().includes(demo.provider)) continue;
    const call: CallContext = { subject, correlationId: randomUUID(), logger: deps.logger };
    try {
      const input: InitiatePaymentArgs =
        demo.provider === 'openbanking'
          ? { ...demo.input, debtorAccountId: await currentAccountOf(deps.registry, call) }
          : demo.input;
      const { payload } = await deps.payments.initiate(call, input, demo.idempotencyKey);
      if (payload.payment) made.push({ provider: demo.provider, paymentId: payload.payment.id });
      if (payload.userErrors.length > 0)
        deps.logger.warn({ provider: demo.provider, userErrors: payload.userErrors }, 'demo payment refused');
    } catch (error) {
      deps.logger.warn({ err: error, provider: demo.provider }, 'demo payment could not be made');
    }
  }
  if (made.length > 0) deps.logger.info({ subject, payments: made }, 'demo payments ready');
  return made;
}

/** The global id of the subject's current account at the bank (the demo bank payment's debtor). */
async function currentAccountOf(registry: Registry, call: CallContext): Promise<string> {
  const accounts = await registry.accounts('openbanking').listAccounts(call);
  const current = accounts.find((account) => account.type === 'CURRENT') ?? accounts[0];
  if (!current) throw new Error('the demo customer has no account at the bank');
  return current.id;
}
