/**
 * The canonical invariants every provider must keep, as assertions over canonical objects. Enum
 * members come from the SDL (what the graph will serialise), ids from ids.ts, money from money.ts.
 * Each assertion names the object it failed on, so a violation points at the partner's data.
 */
import { Kind } from 'graphql';
import { expect } from 'vitest';
import type {
  Account,
  Balance,
  Freshness,
  Payment,
  ProviderName,
  Transaction,
} from '../../../domain/model.js';
import { decodeId, encodeId, type EntityKind } from '../../../domain/ids.js';
import {
  exponentOf,
  formatDecimal,
  isCurrencyCode,
  parseDecimal,
  type Money,
} from '../../../domain/money.js';
import { typeDefs } from '../../../server/schema.js';

/** The members of each enum of the subgraph schema. */
function schemaEnums(): Map<string, readonly string[]> {
  const enums = new Map<string, readonly string[]>();
  for (const definition of typeDefs().definitions) {
    if (definition.kind === Kind.ENUM_TYPE_DEFINITION)
      enums.set(definition.name.value, definition.values?.map((value) => value.name.value) ?? []);
  }
  return enums;
}

const ENUMS = schemaEnums();

/** The members of a schema enum; fails when the schema has no such enum. */
export function members(name: string): readonly string[] {
  const values = ENUMS.get(name);
  if (!values || values.length === 0) throw new Error(`the schema has no enum ${name}`);
  return values;
}

/** A global id of `kind` that routes to `provider` and carries `partnerId`, in its one spelling. */
export function expectId(id: string, kind: EntityKind, provider: ProviderName, partnerId?: string): void {
  const decoded = decodeId(id, kind);
  expect(decoded, `${kind} id ${id}`).not.toBeNull();
  expect(decoded?.provider, `${kind} id ${id}`).toBe(provider);
  if (partnerId !== undefined) expect(decoded?.partnerId, `${kind} id ${id}`).toBe(partnerId);
  // Round trip: the partner id encodes back to exactly this id.
  expect(encodeId(kind, provider, decoded?.partnerId ?? ''), `${kind} id ${id}`).toBe(id);
}

/** Exact money: bigint minor units, a known ISO 4217 code, decimals exactly the currency's exponent. */
export function expectMoney(value: Money, what: string): void {
  expect(typeof value.minor, `${what}: minor units`).toBe('bigint');
  expect(isCurrencyCode(value.currency), `${what}: currency ${value.currency}`).toBe(true);
  const exponent = exponentOf(value.currency);
  expect([0, 2, 3], `${what}: exponent of ${value.currency}`).toContain(exponent);
  const text = formatDecimal(value);
  const fraction = text.split('.')[1] ?? '';
  expect(fraction.length, `${what}: ${text} ${value.currency}`).toBe(exponent);
  expect(parseDecimal(text, value.currency), `${what}: ${text} ${value.currency}`).toEqual(value);
}

export function expectFreshness(freshness: Freshness, provider: ProviderName, what: string): void {
  expect(members('FreshnessSource'), `${what}: freshness.source`).toContain(freshness.source);
  expect(freshness.provider, `${what}: freshness.provider`).toBe(provider);
  expectDate(freshness.asOf, `${what}: freshness.asOf`);
}

export function expectDate(value: Date, what: string): void {
  expect(value, what).toBeInstanceOf(Date);
  expect(Number.isNaN(value.getTime()), `${what}: ${String(value)}`).toBe(false);
}

/** An account of `subject` at `provider`, among the partner ids the sandbox seeded for them. */
export function expectAccount(
  account: Account,
  provider: ProviderName,
  subject: string,
  own: readonly string[],
) {
  const what = `account ${account.partnerId}`;
  expectId(account.id, 'Account', provider, account.partnerId);
  expect(account.provider, what).toBe(provider);
  expect(account.ownerId, what).toBe(subject);
  expect(own, `${what} is one of ${subject}'s`).toContain(account.partnerId);
  expect(members('AccountType'), `${what}: type`).toContain(account.type);
  expect(isCurrencyCode(account.currency), `${what}: currency ${account.currency}`).toBe(true);
  expect(exponentOf(account.currency), `${what}: currency ${account.currency}`).toBeGreaterThanOrEqual(0);
  if (account.maskedNumber !== null)
    expect(account.maskedNumber.length, `${what}: maskedNumber`).toBeLessThanOrEqual(4);
  expectFreshness(account.freshness, provider, what);
}

/** A balance of the account asked for, in that account's currency. */
export function expectBalance(balance: Balance, provider: ProviderName, account: Account): void {
  const what = `balance of ${account.partnerId}`;
  expectId(balance.accountId, 'Account', provider, account.partnerId);
  expectMoney(balance.current, `${what}: current`);
  expect(balance.current.currency, `${what}: current`).toBe(account.currency);
  if (balance.available) {
    expectMoney(balance.available, `${what}: available`);
    expect(balance.available.currency, `${what}: available`).toBe(account.currency);
  }
  expectDate(balance.asOf, `${what}: asOf`);
  expectFreshness(balance.freshness, provider, what);
}

/** What the partner sent for a transaction: the direction money moved and the amount, positive. */
export interface WireFacts {
  direction: 'in' | 'out';
  magnitude: Money;
}

/** A transaction of `subject` on one of the accounts asked for, signed by the direction on the wire. */
export function expectTransaction(
  tx: Transaction,
  provider: ProviderName,
  subject: string,
  accounts: ReadonlyMap<string, Account>,
  wire: WireFacts | undefined,
): void {
  const what = `transaction ${tx.partnerId}`;
  expectId(tx.id, 'Transaction', provider, tx.partnerId);
  expect(tx.provider, what).toBe(provider);
  expect(tx.ownerId, what).toBe(subject);
  const account = accounts.get(tx.accountId);
  expect(account, `${what}: account ${tx.accountId} is one asked for`).toBeDefined();
  expectId(tx.accountId, 'Account', provider, account?.partnerId);
  expect(members('TransactionStatus'), `${what}: status`).toContain(tx.status);
  expectMoney(tx.amount, `${what}: amount`);
  expectDate(tx.bookedAt, `${what}: bookedAt`);
  if (tx.valueDate !== null) expectDate(tx.valueDate, `${what}: valueDate`);
  // Canonical sign: negative = money out of the account. Checked against what the partner sent.
  expect(wire, `${what}: the partner sent it`).toBeDefined();
  if (!wire) return;
  expect(tx.amount.currency, `${what}: currency`).toBe(wire.magnitude.currency);
  const signed = wire.direction === 'out' ? -wire.magnitude.minor : wire.magnitude.minor;
  expect(tx.amount.minor, `${what}: ${wire.direction} ${formatDecimal(wire.magnitude)}`).toBe(signed);
}

/** A payment of `subject` for the amount it was made for, with statuses from the canonical enums. */
export function expectPayment(
  payment: Payment,
  provider: ProviderName,
  subject: string,
  amount: Money,
  ownAccounts: readonly string[],
): void {
  const what = `payment ${payment.partnerId}`;
  expectId(payment.id, 'Payment', provider, payment.partnerId);
  expect(payment.provider, what).toBe(provider);
  expect(payment.ownerId, what).toBe(subject);
  expect(members('PaymentStatus'), `${what}: status`).toContain(payment.status);
  // A payment's amount is what is paid: positive, exactly the partner's amount.
  expectMoney(payment.amount, `${what}: amount`);
  expect(payment.amount, `${what}: amount`).toEqual(amount);
  expect(payment.amount.minor > 0n, `${what}: amount is positive`).toBe(true);
  if (payment.debtorAccountId !== null) {
    expectId(payment.debtorAccountId, 'Account', provider);
    const debtor = decodeId(payment.debtorAccountId, 'Account')?.partnerId;
    expect(ownAccounts, `${what}: debtor account is ${subject}'s`).toContain(debtor);
  }
  expectDate(payment.createdAt, `${what}: createdAt`);
  expectDate(payment.updatedAt, `${what}: updatedAt`);
  expect(payment.updatedAt.getTime(), `${what}: updatedAt`).toBeGreaterThanOrEqual(
    payment.createdAt.getTime(),
  );
  expect(payment.failureReason !== null, `${what}: failureReason iff FAILED`).toBe(
    payment.status === 'FAILED',
  );
  if (payment.nextAction !== null) expect(payment.status, `${what}: nextAction`).toBe('REQUIRES_ACTION');
  expect(payment.events.length, `${what}: events`).toBeGreaterThan(0);
  for (const event of payment.events) {
    expect(members('PaymentStatus'), `${what}: event status`).toContain(event.status);
    expect(members('PaymentEventSource'), `${what}: event source`).toContain(event.source);
    expectDate(event.at, `${what}: event at`);
  }
  expect(payment.events.at(-1)?.status, `${what}: last event is the status`).toBe(payment.status);
  for (const refund of payment.refunds) {
    expect(members('RefundStatus'), `${what}: refund status`).toContain(refund.status);
    expectMoney(refund.amount, `${what}: refund ${refund.id}`);
    expect(refund.amount.currency, `${what}: refund ${refund.id}`).toBe(payment.amount.currency);
    expect(refund.amount.minor > 0n, `${what}: refund ${refund.id} is positive`).toBe(true);
    expectDate(refund.createdAt, `${what}: refund ${refund.id} createdAt`);
  }
}
