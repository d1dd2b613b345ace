/**
 * Open Banking wire -> canonical model. Pure functions over validated payloads; anything that still
 * cannot be mapped (an amount with more digits than its currency has, an unknown currency, a credit
 * line in another currency) is a MappingError with the failing paths, never a silent default.
 */
import { createHash } from 'node:crypto';
import type {
  Account,
  AccountType,
  Balance,
  Freshness,
  Transaction,
  TransactionStatus,
} from '../../domain/model.js';
import { encodeId } from '../../domain/ids.js';
import { MoneyError, add, isCurrencyCode, parseDecimal, type Money } from '../../domain/money.js';
import type {
  AccountSubType,
  BalanceType,
  CreditDebit,
  EntryStatus,
  WireAccount,
  WireBalance,
  WireTransaction,
} from './types.js';

const PROVIDER = 'openbanking';

/** Who the data belongs to and when it was fetched. */
export interface MapContext {
  ownerId: string;
  asOf: Date;
}

/** The payload is valid on the wire but cannot be mapped; `issues` are "path: reason". */
export class MappingError extends Error {
  override name = 'MappingError';
  constructor(readonly issues: string[]) {
    super(`cannot map Open Banking payload: ${issues.join('; ')}`);
  }
}

/** OB AccountSubType -> canonical AccountType, total over the spec's enum. */
export const ACCOUNT_TYPES = {
  CurrentAccount: 'CURRENT',
  Savings: 'SAVINGS',
  CreditCard: 'CREDIT_CARD',
  ChargeCard: 'CREDIT_CARD',
  Loan: 'LOAN',
  Mortgage: 'LOAN',
  EMoney: 'OTHER',
  PrePaidCard: 'OTHER',
  Wallet: 'OTHER',
} as const satisfies Record<AccountSubType, AccountType>;

/**
 * Rejected -> REVERSED: an OB Rejected entry is one the bank showed (usually as pending) and then
 * declined or returned, so no money moved. REVERSED is the canonical state for "appeared, then did
 * not happen": clients must not count it as spend, and it must not vanish silently either.
 */
export const TRANSACTION_STATUSES = {
  Booked: 'BOOKED',
  Pending: 'PENDING',
  Rejected: 'REVERSED',
} as const satisfies Record<EntryStatus, TransactionStatus>;

/**
 * The role of each balance type, lower rank preferred. `current` is the booked figure; when an ASPSP
 * reports only available figures, the best of those stands in rather than the account having no
 * balance. Information is never used: the spec gives it no accounting meaning.
 */
export const BALANCE_ROLES = {
  InterimBooked: { current: 1, available: null },
  ClosingBooked: { current: 2, available: null },
  Expected: { current: 3, available: null },
  InterimCleared: { current: 4, available: null },
  ClosingCleared: { current: 5, available: null },
  OpeningBooked: { current: 6, available: null },
  OpeningCleared: { current: 7, available: null },
  PreviouslyClosedBooked: { current: 8, available: null },
  InterimAvailable: { current: 9, available: 1 },
  ClosingAvailable: { current: 10, available: 2 },
  OpeningAvailable: { current: 11, available: 3 },
  ForwardAvailable: { current: 12, available: 4 },
  Information: { current: null, available: null },
} as const satisfies Record<BalanceType, { current: number | null; available: number | null }>;

function freshness(ctx: MapContext): Freshness {
  return { source: 'LIVE', asOf: ctx.asOf, provider: PROVIDER };
}

function money(value: { Amount: string; Currency: string }, path: string, issues: string[]): Money | null {
  try {
    return parseDecimal(value.Amount, value.Currency);
  } catch (error) {
    if (!(error instanceof MoneyError)) throw error;
    issues.push(`${path}: ${error.message}`);
    return null;
  }
}

/** Debit = money out of (or owed on) the account = negative. */
function signed(value: Money, indicator: CreditDebit): Money {
  return indicator === 'Debit' ? { ...value, minor: -value.minor } : value;
}

/** Last four characters of the account number or PAN, never more. */
export function maskedNumber(identification: string | undefined): string | null {
  const compact = identification?.replace(/\s+/g, '') ?? '';
  return compact.length === 0 ? null : compact.slice(-4);
}

/**
 * OBAccount6 -> Account. Accounts switched away (UK.CASS.SwitchCompleted) and Deleted accounts are
 * left out: the customer no longer holds them at this bank.
 */
export function mapAccounts(accounts: readonly WireAccount[], ctx: MapContext): Account[] {
  const issues: string[] = [];
  const out: Account[] = [];
  accounts.forEach((account, index) => {
    if (account.SwitchStatus === 'UK.CASS.SwitchCompleted' || account.Status === 'Deleted') return;
    const path = `Data.Account[${index}]`;
    const { Currency: currency, AccountSubType: subType } = account;
    // types.ts already requires both on accounts not switched away; this keeps the mapping total.
    if (!currency || !isCurrencyCode(currency)) issues.push(`${path}.Currency: not an ISO 4217 currency`);
    if (!subType) issues.push(`${path}.AccountSubType: missing`);
    if (!currency || !isCurrencyCode(currency) || !subType) return;
    const type = ACCOUNT_TYPES[subType];
    const identification = account.Account?.[0];
    out.push({
      id: encodeId('Account', PROVIDER, account.AccountId),
      provider: PROVIDER,
      partnerId: account.AccountId,
      ownerId: ctx.ownerId,
      name: account.Nickname ?? account.Description ?? identification?.Name ?? defaultName(type),
      type,
      currency,
      maskedNumber: maskedNumber(identification?.Identification),
      freshness: freshness(ctx),
    });
  });
  if (issues.length > 0) throw new MappingError(issues);
  return out;
}

function defaultName(type: AccountType): string {
  return `${type.charAt(0)}${type.slice(1).toLowerCase().replace('_', ' ')} account`;
}

interface Indexed {
  balance: WireBalance;
  index: number;
}

function best(entries: Indexed[], role: 'current' | 'available'): Indexed | undefined {
  const ranked = entries.filter((e) => BALANCE_ROLES[e.balance.Type][role] !== null);
  ranked.sort(
    (a, b) =>
      (BALANCE_ROLES[a.balance.Type][role] ?? 0) - (BALANCE_ROLES[b.balance.Type][role] ?? 0) ||
      Date.parse(b.balance.DateTime) - Date.parse(a.balance.DateTime),
  );
  return ranked[0];
}

/**
 * OBBalance entries -> one Balance per account (keyed by partner account id).
 * available: the bank's own available figure when it sends one (a credit line it marks Included is
 * already in it); otherwise, for credit cards and overdrafts reported as a booked balance with a
 * credit line not included, booked + those credit lines (the headroom left); otherwise null.
 */
export function mapBalances(balances: readonly WireBalance[], ctx: MapContext): Map<string, Balance> {
  const issues: string[] = [];
  const byAccount = new Map<string, Indexed[]>();
  balances.forEach((balance, index) => {
    const list = byAccount.get(balance.AccountId) ?? [];
    list.push({ balance, index });
    byAccount.set(balance.AccountId, list);
  });
  const out = new Map<string, Balance>();
  for (const [accountId, entries] of byAccount) {
    const current = best(entries, 'current');
    if (!current) continue;
    const path = `Data.Balance[${current.index}]`;
    const currentMoney = money(current.balance.Amount, `${path}.Amount`, issues);
    if (!currentMoney) continue;
    const currentSigned = signed(currentMoney, current.balance.CreditDebitIndicator);
    let available: Money | null = null;
    const availableEntry = best(entries, 'available');
    if (availableEntry) {
      const value = money(
        availableEntry.balance.Amount,
        `Data.Balance[${availableEntry.index}].Amount`,
        issues,
      );
      if (value) available = signed(value, availableEntry.balance.CreditDebitIndicator);
    } else {
      available = withCreditLines(currentSigned, current, issues);
    }
    out.set(accountId, {
      accountId: encodeId('Account', PROVIDER, accountId),
      current: currentSigned,
      available,
      asOf: new Date(current.balance.DateTime),
      freshness: freshness(ctx),
    });
  }
  if (issues.length > 0) throw new MappingError(issues);
  return out;
}

function withCreditLines(current: Money, entry: Indexed, issues: string[]): Money | null {
  const lines = (entry.balance.CreditLine ?? []).filter((line) => !line.Included && line.Amount);
  if (lines.length === 0) return null;
  let total = current;
  for (const [i, line] of lines.entries()) {
    const path = `Data.Balance[${entry.index}].CreditLine[${i}].Amount`;
    const value = line.Amount ? money(line.Amount, path, issues) : null;
    if (!value) return null;
    if (value.currency !== current.currency) {
      issues.push(
        `${path}.Currency: ${value.currency} differs from the balance currency ${current.currency}`,
      );
      return null;
    }
    total = add(total, value);
  }
  return total;
}

/**
 * OBTransaction6 -> Transaction. TransactionId is optional in the spec; without it the id is a hash
 * of the entry's immutable facts, so the same entry keeps the same id across fetches.
 */
export function mapTransactions(transactions: readonly WireTransaction[], ctx: MapContext): Transaction[] {
  const issues: string[] = [];
  const out: Transaction[] = [];
  const seen = new Map<string, number>();
  const live = freshness(ctx);
  transactions.forEach((tx, index) => {
    const value = money(tx.Amount, `Data.Transaction[${index}].Amount`, issues);
    if (!value) return;
    let partnerId = tx.TransactionId ?? syntheticId(tx);
    const count = (seen.get(partnerId) ?? 0) + 1;
    seen.set(partnerId, count);
    if (count > 1 && !tx.TransactionId) partnerId = `${partnerId}-${count}`;
    out.push({
      id: encodeId('Transaction', PROVIDER, partnerId),
      provider: PROVIDER,
      partnerId,
      ownerId: ctx.ownerId,
      accountId: encodeId('Account', PROVIDER, tx.AccountId),
      amount: signed(value, tx.CreditDebitIndicator),
      status: TRANSACTION_STATUSES[tx.Status],
      description:
        tx.TransactionInformation ??
        tx.MerchantDetails?.MerchantName ??
        tx.TransactionReference ??
        tx.ProprietaryBankTransactionCode?.Code ??
        '',
      merchantName: tx.MerchantDetails?.MerchantName ?? null,
      bookedAt: new Date(tx.BookingDateTime),
      valueDate: tx.ValueDateTime ? new Date(tx.ValueDateTime) : null,
      category: tx.MerchantDetails?.MerchantCategoryCode
        ? `mcc:${tx.MerchantDetails.MerchantCategoryCode}`
        : null,
      freshness: live,
    });
  });
  if (issues.length > 0) throw new MappingError(issues);
  return out;
}

function syntheticId(tx: WireTransaction): string {
  const facts = [
    tx.AccountId,
    tx.BookingDateTime,
    tx.CreditDebitIndicator,
    tx.Amount.Amount,
    tx.Amount.Currency,
    tx.TransactionInformation ?? '',
    tx.TransactionReference ?? '',
  ];
  return `h-${createHash('sha256').update(facts.join('\u0000')).digest('base64url').slice(0, 24)}`;
}
