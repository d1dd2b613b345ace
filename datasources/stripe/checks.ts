/**
 * Checks between what we asked Stripe for and what it answered, and the conversion of a request's
 * money into Stripe's terms. A well-formed answer about another amount, currency, customer or
 * subject is not a success: it is a contract violation.
 */
import { InputError } from '../../domain/errors.js';
import { MoneyError, type Money } from '../../domain/money.js';
import { ownerOf, SUBJECT_KEY, toStripeAmount } from './mapper.js';
import { idOf, type WirePaymentIntent } from './types.js';

/** Canonical money as Stripe's amount and currency; BAD_USER_INPUT when Stripe cannot carry it. */
export function stripeAmount(value: Money): { amount: number; currency: string } {
  try {
    return toStripeAmount(value);
  } catch (error) {
    if (error instanceof MoneyError) throw new InputError('Stripe cannot charge this amount.', 'amount');
    throw error;
  }
}

/** What a PaymentIntent must show to be the one we asked for. */
export interface Expected {
  amount: number;
  currency: string;
  customer: string;
  subject: string;
}

/** The issues found, one per differing field; empty when the answer matches. */
export function mismatches(intent: WirePaymentIntent, expected: Expected): string[] {
  const issues: string[] = [];
  if (intent.amount !== expected.amount)
    issues.push(`amount: ${intent.amount}, asked for ${expected.amount}`);
  if (intent.currency !== expected.currency)
    issues.push(`currency: ${intent.currency}, asked for ${expected.currency}`);
  if (idOf(intent.customer) !== expected.customer) issues.push('customer: not the linked customer');
  if (ownerOf(intent) !== expected.subject) issues.push(`metadata.${SUBJECT_KEY}: not the caller`);
  return issues;
}
