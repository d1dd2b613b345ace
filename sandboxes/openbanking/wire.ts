/**
 * The sandbox's own view of the Open Banking v3.1 wire shapes (written from the OpenAPI spec, not
 * shared with the client, so the two sides check each other), error replies and small helpers.
 */
import { randomUUID } from 'node:crypto';
import { json, type Reply } from '../kit/sandbox.js';

/** Base path of the Account and Transaction API (the spec's `servers[0].url`). */
export const AISP_BASE = '/open-banking/v3.1/aisp';

/** OBActiveOrHistoricCurrencyAndAmount. */
export interface WireAmount {
  Amount: string;
  Currency: string;
}

/** OBAccount6 Account[] item (scheme + identification). */
export interface WireIdentification {
  SchemeName: string;
  Identification: string;
  Name?: string;
  SecondaryIdentification?: string;
}

/** OBAccount6. */
export interface WireAccount {
  AccountId: string;
  Status: 'Enabled' | 'Disabled' | 'Deleted' | 'Pending' | 'ProForma';
  StatusUpdateDateTime: string;
  Currency: string;
  AccountType: 'Personal' | 'Business';
  AccountSubType: string;
  Description?: string;
  Nickname?: string;
  OpeningDate?: string;
  Account?: WireIdentification[];
  Servicer?: { SchemeName: string; Identification: string };
}

/** OBBalance CreditLine item. */
export interface WireCreditLine {
  Included: boolean;
  Type?: 'Available' | 'Credit' | 'Emergency' | 'Pre-Agreed' | 'Temporary';
  Amount?: WireAmount;
}

/** OBReadBalance1 Data.Balance item. */
export interface WireBalance {
  AccountId: string;
  CreditDebitIndicator: 'Credit' | 'Debit';
  Type: string;
  DateTime: string;
  Amount: WireAmount;
  CreditLine?: WireCreditLine[];
}

/** OBTransaction6 (the fields the sandbox seeds). */
export interface WireTransaction {
  AccountId: string;
  TransactionId: string;
  TransactionReference?: string;
  CreditDebitIndicator: 'Credit' | 'Debit';
  Status: 'Booked' | 'Pending' | 'Rejected';
  TransactionMutability?: 'Mutable' | 'Immutable';
  BookingDateTime: string;
  ValueDateTime?: string;
  TransactionInformation?: string;
  Amount: WireAmount;
  BankTransactionCode?: { Code: string; SubCode: string };
  ProprietaryBankTransactionCode?: { Code: string; Issuer?: string };
  MerchantDetails?: { MerchantName?: string; MerchantCategoryCode?: string };
}

/** The permission codes of OBReadConsent1 (spec enum). */
export const PERMISSIONS = [
  'ReadAccountsBasic',
  'ReadAccountsDetail',
  'ReadBalances',
  'ReadBeneficiariesBasic',
  'ReadBeneficiariesDetail',
  'ReadDirectDebits',
  'ReadOffers',
  'ReadPAN',
  'ReadParty',
  'ReadPartyPSU',
  'ReadProducts',
  'ReadScheduledPaymentsBasic',
  'ReadScheduledPaymentsDetail',
  'ReadStandingOrdersBasic',
  'ReadStandingOrdersDetail',
  'ReadStatementsBasic',
  'ReadStatementsDetail',
  'ReadTransactionsBasic',
  'ReadTransactionsCredits',
  'ReadTransactionsDebits',
  'ReadTransactionsDetail',
] as const;
export type Permission = (typeof PERMISSIONS)[number];

const REASONS: Record<number, string> = {
  400: 'Bad Request',
  401: 'Unauthorized',
  403: 'Forbidden',
  404: 'Not Found',
  405: 'Method Not Allowed',
  406: 'Not Acceptable',
  415: 'Unsupported Media Type',
  429: 'Too Many Requests',
  500: 'Internal Server Error',
  502: 'Bad Gateway',
  503: 'Service Unavailable',
  504: 'Gateway Timeout',
};

/** An OBErrorResponse1 reply. */
export function obError(
  status: number,
  errorCode: string,
  message: string,
  path?: string,
  headers: Record<string, string> = {},
): Reply {
  const error: Record<string, string> = { ErrorCode: errorCode, Message: message };
  if (path) error.Path = path;
  return json(
    status,
    { Code: `${status} ${REASONS[status] ?? 'Error'}`, Id: randomUUID(), Message: message, Errors: [error] },
    headers,
  );
}

/** Thrown by handlers to answer with an error reply. */
export class ObFailure extends Error {
  constructor(readonly reply: Reply) {
    super(`open banking sandbox answered ${reply.status}`);
  }
}

/** ISO 8601 with an explicit offset, as the spec's examples write it: 2017-04-05T10:43:07+00:00. */
export function obDateTime(date: Date): string {
  return date.toISOString().replace(/\.\d{3}Z$/, '+00:00');
}

/** Minor units to the spec's decimal string (no sign: the sign lives in CreditDebitIndicator). */
export function decimal(minor: number, exponent: number): string {
  const digits = Math.abs(minor)
    .toString()
    .padStart(exponent + 1, '0');
  if (exponent === 0) return digits;
  return `${digits.slice(0, -exponent)}.${digits.slice(-exponent)}`;
}
