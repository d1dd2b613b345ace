/**
 * The sandbox's own view of the Plaid API (2020-09-14) wire shapes, written from the OpenAPI spec and
 * not shared with the client, so the two sides check each other; plus Plaid's error object.
 */
import { createHash, randomBytes } from 'node:crypto';
import { json, type Reply } from '../kit/sandbox.js';

/** The only API version the sandbox speaks (the `Plaid-Version` header the official SDK sends). */
export const PLAID_VERSION = '2020-09-14';

export type WireAccountType = 'depository' | 'credit' | 'loan' | 'investment' | 'other';

export interface WireBalance {
  available: number | null;
  current: number | null;
  limit: number | null;
  iso_currency_code: string | null;
  unofficial_currency_code: string | null;
}

export interface WireAccount {
  account_id: string;
  balances: WireBalance;
  mask: string | null;
  name: string;
  official_name: string | null;
  type: WireAccountType;
  subtype: string | null;
  holder_category: 'personal';
}

export interface WireLocation {
  address: string | null;
  city: string | null;
  region: string | null;
  postal_code: string | null;
  country: string | null;
  lat: number | null;
  lon: number | null;
  store_number: string | null;
}

export interface WirePaymentMeta {
  reference_number: string | null;
  ppd_id: string | null;
  payee: string | null;
  by_order_of: string | null;
  payer: string | null;
  payment_method: string | null;
  payment_processor: string | null;
  reason: string | null;
}

export interface WireTransaction {
  account_id: string;
  account_owner: string | null;
  amount: number;
  iso_currency_code: string | null;
  unofficial_currency_code: string | null;
  category: string[] | null;
  category_id: string | null;
  check_number: string | null;
  date: string;
  datetime: string | null;
  authorized_date: string | null;
  authorized_datetime: string | null;
  location: WireLocation;
  name: string;
  merchant_name: string | null;
  merchant_entity_id: string | null;
  logo_url: string | null;
  website: string | null;
  payment_meta: WirePaymentMeta;
  payment_channel: 'online' | 'in store' | 'other';
  pending: boolean;
  pending_transaction_id: string | null;
  personal_finance_category: { primary: string; detailed: string; confidence_level: string | null } | null;
  transaction_id: string;
  transaction_code: string | null;
  transaction_type: 'digital' | 'place' | 'special' | 'unresolved';
}

export type WireErrorType =
  | 'INVALID_REQUEST'
  | 'INVALID_INPUT'
  | 'INVALID_RESULT'
  | 'RATE_LIMIT_EXCEEDED'
  | 'API_ERROR'
  | 'ITEM_ERROR'
  | 'INSTITUTION_ERROR'
  | 'TRANSACTIONS_ERROR';

/** Plaid's error object (PlaidError). `status` is only sent in webhooks, so it is absent here. */
export interface WireError {
  error_type: WireErrorType;
  error_code: string;
  error_code_reason: string | null;
  error_message: string;
  display_message: string | null;
  request_id: string;
  causes: unknown[];
  documentation_url: string;
  suggested_action: string | null;
}

const BASE62 = '0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz';

function base62(bytes: Buffer, length: number): string {
  let out = '';
  for (let i = 0; i < length; i++) out += BASE62[(bytes[i % bytes.length] ?? 0) % 62];
  return out;
}

/** A Plaid-style request id: 15 case-sensitive alphanumerics, fresh per response. */
export function newRequestId(): string {
  return base62(randomBytes(15), 15);
}

/** A Plaid-looking, 37-character id that is the same for the same seed text (accounts, transactions). */
export function stableId(seed: string): string {
  return base62(createHash('sha512').update(seed).digest(), 37);
}

/** A fresh 37-character id (items). */
export function randomId(): string {
  return base62(randomBytes(37), 37);
}

/** The error object for a code, with the request id it is answered under. */
export function errorObject(
  type: WireErrorType,
  code: string,
  message: string,
  display: string | null = null,
): WireError {
  return {
    error_type: type,
    error_code: code,
    error_code_reason: null,
    error_message: message,
    display_message: display,
    request_id: newRequestId(),
    causes: [],
    documentation_url: `https://plaid.com/docs/errors/${type.toLowerCase().replace(/_error$/, '')}/#${code.toLowerCase()}`,
    suggested_action: null,
  };
}

/** A Plaid error reply: the error object as the body, with the HTTP status Plaid uses for the code. */
export function plaidError(
  status: number,
  type: WireErrorType,
  code: string,
  message: string,
  display: string | null = null,
): Reply {
  return json(status, errorObject(type, code, message, display));
}

/** Thrown by handlers to answer with a Plaid error. */
export class PlaidFailure extends Error {
  constructor(readonly reply: Reply) {
    super(`plaid sandbox answered ${reply.status}`);
  }
}

/** Shorthand for the many 400 answers. */
export function fail(
  type: WireErrorType,
  code: string,
  message: string,
  display: string | null = null,
): never {
  throw new PlaidFailure(plaidError(400, type, code, message, display));
}

/** Minor units as the JSON number Plaid sends: 1230 with exponent 2 -> 12.3. */
export function toWireAmount(minor: number, exponent: number): number {
  const negative = minor < 0;
  const digits = Math.abs(minor)
    .toString()
    .padStart(exponent + 1, '0');
  const text = exponent === 0 ? digits : `${digits.slice(0, -exponent)}.${digits.slice(-exponent)}`;
  return Number(`${negative ? '-' : ''}${text}`);
}

/** YYYY-MM-DD of a date in UTC. */
export function isoDate(date: Date): string {
  return date.toISOString().slice(0, 10);
}

/** RFC 3339 without milliseconds, the way Plaid writes date-times. */
export function isoDateTime(date: Date): string {
  return date.toISOString().replace(/\.\d{3}Z$/, 'Z');
}
