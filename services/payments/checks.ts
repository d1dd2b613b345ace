/**
 * Every partner answer about money is checked against what we asked for. A partner that reports a
 * different amount, currency, account or payment has broken its contract: that is never a success,
 * and the operation stays unfinished for an operator or reconciliation to resolve.
 */
import type { Payment, ProviderName, Refund } from '../../domain/model.js';
import { encodeId } from '../../domain/ids.js';
import { formatDecimal, type Money } from '../../domain/money.js';
import { PartnerError } from '../../domain/errors.js';
import type { PaymentOrder } from './validation.js';

function violation(partner: ProviderName, endpoint: string, issues: string[]): PartnerError {
  return new PartnerError({
    partner,
    code: 'PARTNER_CONTRACT_VIOLATION',
    endpoint,
    retryable: false,
    issues,
  });
}

function moneyIssue(path: string, expected: Money, actual: Money): string | null {
  if (expected.currency === actual.currency && expected.minor === actual.minor) return null;
  return `${path}: expected ${formatDecimal(expected)} ${expected.currency}, got ${actual.minor} minor ${actual.currency}`;
}

function identityIssues(provider: ProviderName, payment: Payment): string[] {
  const issues: string[] = [];
  if (payment.provider !== provider) issues.push(`provider: expected ${provider}, got ${payment.provider}`);
  if (!payment.partnerId) issues.push('partnerId: missing');
  else if (payment.id !== encodeId('Payment', provider, payment.partnerId))
    issues.push('id: not the id of partnerId');
  return issues;
}

/** Throws PARTNER_CONTRACT_VIOLATION unless the created payment is the one ordered. */
export function checkCreatedPayment(order: PaymentOrder, payment: Payment): void {
  const issues = identityIssues(order.provider, payment);
  const amount = moneyIssue('amount', order.amount, payment.amount);
  if (amount) issues.push(amount);
  if (payment.debtorAccountId !== null && payment.debtorAccountId !== order.debtorAccountId) {
    issues.push('debtorAccountId: not the account the payment was ordered from');
  }
  if (issues.length > 0) throw violation(order.provider, 'createPayment', issues);
}

/** Throws PARTNER_CONTRACT_VIOLATION unless the answer is about the same payment, for the same amount. */
export function checkSamePayment(expected: Payment, answer: Payment, endpoint: string): void {
  const issues = identityIssues(expected.provider, answer);
  if (answer.partnerId !== expected.partnerId) issues.push('partnerId: another payment');
  const amount = moneyIssue('amount', expected.amount, answer.amount);
  if (amount) issues.push(amount);
  if (
    answer.debtorAccountId !== null &&
    expected.debtorAccountId !== null &&
    answer.debtorAccountId !== expected.debtorAccountId
  ) {
    issues.push('debtorAccountId: another account');
  }
  if (issues.length > 0) throw violation(expected.provider, endpoint, issues);
}

/**
 * Finds the refund a refund call created among the refunds the partner reports: one with the requested
 * amount that the ledger did not hold before. Throws PARTNER_CONTRACT_VIOLATION when there is none, or
 * when the refunds together exceed the payment.
 */
export function findNewRefund(
  payment: Payment,
  answer: Payment,
  amount: Money,
  knownRefundIds: ReadonlySet<string>,
): Refund {
  const issues: string[] = [];
  let total = 0n;
  for (const refund of answer.refunds) {
    if (refund.amount.currency !== payment.amount.currency)
      issues.push(`refund ${refund.id}: another currency`);
    if (refund.status === 'PENDING' || refund.status === 'SUCCEEDED') total += refund.amount.minor;
  }
  if (total > payment.amount.minor) issues.push('refunds: more than the payment was refunded');
  const fresh = answer.refunds.filter(
    (refund) => !knownRefundIds.has(refund.id) && refund.amount.minor === amount.minor,
  );
  const created = fresh.at(-1);
  if (!created) issues.push(`refunds: no new refund of ${formatDecimal(amount)} ${amount.currency}`);
  if (issues.length > 0 || !created) throw violation(payment.provider, 'refundPayment', issues);
  return created;
}
