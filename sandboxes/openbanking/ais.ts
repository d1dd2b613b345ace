/**
 * Account and Transaction API resources with a PSU token: accounts, balances and transactions, bulk
 * and per account, in the Data/Links/Meta envelope with paging. What is returned follows the consent:
 * its accounts, its permissions (Basic vs Detail, Credits vs Debits, ReadPAN) and its transaction window.
 */
import { json, type Reply, type Router, type SandboxRequest } from '../kit/sandbox.js';
import { requireAccount, requireConsent } from './guards.js';
import type { BankAccount } from './seed.js';
import type { Consent, SandboxState } from './state.js';
import {
  AISP_BASE,
  ObFailure,
  obError,
  type Permission,
  type WireAccount,
  type WireTransaction,
} from './wire.js';

const ACCOUNT_PERMISSIONS: Permission[] = ['ReadAccountsBasic', 'ReadAccountsDetail'];
const TRANSACTION_PERMISSIONS: Permission[] = ['ReadTransactionsBasic', 'ReadTransactionsDetail'];
/** Fields ReadTransactionsBasic leaves out (OB permissions table). */
const DETAIL_ONLY_FIELDS = ['TransactionInformation', 'Balance', 'MerchantDetails', 'AddressLine'] as const;

/** Slices one page and builds absolute Links plus Meta.TotalPages. */
function paged<T>(req: SandboxRequest, items: readonly T[], pageSize: number) {
  const totalPages = Math.max(1, Math.ceil(items.length / pageSize));
  const raw = req.query.get('page');
  const page = raw === null ? 1 : Number(raw);
  if (!Number.isInteger(page) || page < 1 || page > totalPages) {
    throw new ObFailure(obError(400, 'UK.OBIE.Field.Invalid', `page must be 1..${totalPages}.`, 'page'));
  }
  const link = (n: number) => {
    const url = new URL(req.path, req.origin);
    req.query.forEach((value, key) => url.searchParams.set(key, value));
    url.searchParams.set('page', String(n));
    return url.toString();
  };
  const self = new URL(req.url.pathname + req.url.search, req.origin).toString();
  const links: Record<string, string> = { Self: self };
  if (totalPages > 1) {
    links.First = link(1);
    if (page > 1) links.Prev = link(page - 1);
    if (page < totalPages) links.Next = link(page + 1);
    links.Last = link(totalPages);
  }
  return { items: items.slice((page - 1) * pageSize, page * pageSize), links, totalPages };
}

function accountsOf(state: SandboxState, consent: Consent, only?: string): BankAccount[] {
  const ids = only === undefined ? consent.accountIds : [requireAccount(state, consent, only)];
  return ids.flatMap((id) => state.bank.accounts.get(id) ?? []);
}

function wireAccount(account: WireAccount, consent: Consent): WireAccount {
  const out: WireAccount = { ...account };
  if (!consent.Permissions.includes('ReadAccountsDetail')) {
    delete out.Account;
    delete out.Servicer;
  } else if (!consent.Permissions.includes('ReadPAN')) {
    // Without ReadPAN a card number is only ever shown masked.
    out.Account = account.Account?.map((id) =>
      id.SchemeName === 'UK.OBIE.PAN'
        ? { ...id, Identification: `${id.Identification.slice(0, 6)}******${id.Identification.slice(-4)}` }
        : { ...id },
    );
  }
  return out;
}

/** The OB permission model for transactions, plus the consent's transaction window. */
function visibleTransactions(consent: Consent, txs: readonly WireTransaction[], from?: number, to?: number) {
  const credits = consent.Permissions.includes('ReadTransactionsCredits');
  const debits = consent.Permissions.includes('ReadTransactionsDebits');
  const detail = consent.Permissions.includes('ReadTransactionsDetail');
  const windowFrom = consent.TransactionFromDateTime
    ? Date.parse(consent.TransactionFromDateTime)
    : -Infinity;
  const windowTo = consent.TransactionToDateTime ? Date.parse(consent.TransactionToDateTime) : Infinity;
  return txs
    .filter((tx) => (tx.CreditDebitIndicator === 'Credit' ? credits : debits))
    .filter((tx) => {
      const booked = Date.parse(tx.BookingDateTime);
      return (
        booked >= Math.max(windowFrom, from ?? -Infinity) && booked <= Math.min(windowTo, to ?? Infinity)
      );
    })
    .map((tx) => {
      if (detail) return tx;
      const basic: Record<string, unknown> = { ...tx };
      for (const field of DETAIL_ONLY_FIELDS) delete basic[field];
      return basic as unknown as WireTransaction;
    });
}

/**
 * A booking date filter. The spec: the time part is optional (00:00:00 when absent) and a timezone,
 * if present, must be ignored, so "2025-03-01T10:00:00+05:00" means 10:00 UTC.
 */
function bookingDate(req: SandboxRequest, name: string): number | undefined {
  const raw = req.query.get(name);
  if (raw === null) return undefined;
  const match =
    /^(\d{4})-(\d{2})-(\d{2})(?:T(\d{2}):(\d{2})(?::(\d{2})(?:\.(\d{1,9}))?)?)?(?:Z|[+-]\d{2}:?\d{2})?$/.exec(
      raw,
    );
  const bad = () =>
    new ObFailure(obError(400, 'UK.OBIE.Field.Invalid', `${name} is not a valid date-time.`, name));
  if (!match) throw bad();
  const [, y, mo, d, h = '0', mi = '0', s = '0', frac = ''] = match;
  const ms = Number(`0.${frac || '0'}`) * 1000;
  const value = Date.UTC(Number(y), Number(mo) - 1, Number(d), Number(h), Number(mi), Number(s), ms);
  const check = new Date(value);
  if (check.getUTCDate() !== Number(d) || check.getUTCMonth() !== Number(mo) - 1 || Number(h) > 23)
    throw bad();
  return value;
}

function accountsHandler(state: SandboxState, single: boolean) {
  return (req: SandboxRequest): Reply => {
    const consent = requireConsent(req, state, ACCOUNT_PERMISSIONS);
    const accounts = accountsOf(state, consent, single ? req.params.AccountId : undefined);
    const page = paged(
      req,
      accounts.map((a) => wireAccount(a.account, consent)),
      state.options.pageSize,
    );
    return json(200, {
      Data: { Account: page.items },
      Links: page.links,
      Meta: { TotalPages: page.totalPages },
    });
  };
}

function balancesHandler(state: SandboxState, single: boolean) {
  return (req: SandboxRequest): Reply => {
    const consent = requireConsent(req, state, ['ReadBalances']);
    const accounts = accountsOf(state, consent, single ? req.params.AccountId : undefined);
    const page = paged(
      req,
      accounts.flatMap((a) => a.balances),
      state.options.pageSize,
    );
    return json(200, {
      Data: { Balance: page.items },
      Links: page.links,
      Meta: { TotalPages: page.totalPages },
    });
  };
}

function transactionsHandler(state: SandboxState, single: boolean) {
  return (req: SandboxRequest): Reply => {
    const consent = requireConsent(req, state, TRANSACTION_PERMISSIONS);
    const from = bookingDate(req, 'fromBookingDateTime');
    const to = bookingDate(req, 'toBookingDateTime');
    if (from !== undefined && to !== undefined && from > to) {
      throw new ObFailure(
        obError(
          400,
          'UK.OBIE.Field.Invalid',
          'fromBookingDateTime is after toBookingDateTime.',
          'fromBookingDateTime',
        ),
      );
    }
    const accounts = accountsOf(state, consent, single ? req.params.AccountId : undefined);
    const all = accounts
      .flatMap((a) => visibleTransactions(consent, a.transactions, from, to))
      .sort(
        (a, b) =>
          Date.parse(b.BookingDateTime) - Date.parse(a.BookingDateTime) ||
          a.TransactionId.localeCompare(b.TransactionId),
      );
    const page = paged(req, all, state.options.pageSize);
    const meta: Record<string, unknown> = { TotalPages: page.totalPages };
    const dates = all.map((tx) => tx.BookingDateTime);
    if (dates.length > 0) {
      meta.FirstAvailableDateTime = dates[dates.length - 1];
      meta.LastAvailableDateTime = dates[0];
    }
    return json(200, { Data: { Transaction: page.items }, Links: page.links, Meta: meta });
  };
}

/** Registers the six read routes. */
export function registerAccountRoutes(router: Router, state: SandboxState): void {
  router.on('GET', `${AISP_BASE}/accounts`, accountsHandler(state, false));
  router.on('GET', `${AISP_BASE}/accounts/{AccountId}`, accountsHandler(state, true));
  router.on('GET', `${AISP_BASE}/balances`, balancesHandler(state, false));
  router.on('GET', `${AISP_BASE}/accounts/{AccountId}/balances`, balancesHandler(state, true));
  router.on('GET', `${AISP_BASE}/transactions`, transactionsHandler(state, false));
  router.on('GET', `${AISP_BASE}/accounts/{AccountId}/transactions`, transactionsHandler(state, true));
}
