/**
 * Plaid wire shapes (API version 2020-09-14) as zod schemas, written from Plaid's OpenAPI spec
 * (`../shared/partner-specs/plaid/2020-09-14.yml`). Only what Tributary consumes is declared, but every
 * field the spec marks required on those payloads is required here too, and enums are the spec's
 * enums: a value outside them is a contract violation, never guessed at. Unknown extra fields are
 * dropped (the spec allows additional properties). Wire types never leave this folder.
 */
import { z } from 'zod';

/** AccountType. `brokerage` is the pre-2018-05-22 name of `investment`. */
export const ACCOUNT_TYPES = ['investment', 'credit', 'depository', 'loan', 'brokerage', 'other'] as const;
export type PlaidAccountType = (typeof ACCOUNT_TYPES)[number];

/** AccountSubtype (nullable on the wire). */
// prettier-ignore
export const ACCOUNT_SUBTYPES = [
  '401a', '401k', '403B', '457b', '529', 'auto', 'brokerage', 'business', 'cash isa', 'cash management',
  'cd', 'checking', 'commercial', 'construction', 'consumer', 'credit card', 'crypto exchange', 'ebt',
  'education savings account', 'fhsa', 'fixed annuity', 'gic', 'health reimbursement arrangement',
  'home equity', 'hsa', 'isa', 'ira', 'keogh', 'lif', 'life insurance', 'limited purpose checking',
  'line of credit', 'lira', 'loan', 'lrif', 'lrsp', 'money market', 'mortgage', 'mutual fund',
  'non-custodial wallet', 'non-taxable brokerage account', 'other', 'other insurance', 'other annuity',
  'overdraft', 'paypal', 'payroll', 'pension', 'prepaid', 'prif', 'profit sharing plan', 'qshr', 'rdsp',
  'resp', 'retirement', 'rlif', 'roth', 'roth 401k', 'roth 403B', 'roth 457b', 'roth pension',
  'roth profit sharing plan', 'roth thrift savings plan', 'rrif', 'rrsp', 'sarsep', 'savings', 'sep ira',
  'simple ira', 'sipp', 'stock plan', 'student', 'thrift savings plan', 'tfsa', 'trust', 'ugma', 'utma',
  'variable annuity',
] as const;
export type PlaidAccountSubtype = (typeof ACCOUNT_SUBTYPES)[number];

/** PlaidErrorType. */
// prettier-ignore
export const ERROR_TYPES = [
  'INVALID_REQUEST', 'INVALID_RESULT', 'INVALID_INPUT', 'INSTITUTION_ERROR', 'RATE_LIMIT_EXCEEDED',
  'API_ERROR', 'ITEM_ERROR', 'ASSET_REPORT_ERROR', 'BASE_REPORT_ERROR', 'RECAPTCHA_ERROR', 'OAUTH_ERROR',
  'PAYMENT_ERROR', 'BANK_TRANSFER_ERROR', 'INCOME_VERIFICATION_ERROR', 'MICRODEPOSITS_ERROR',
  'SANDBOX_ERROR', 'PARTNER_ERROR', 'SIGNAL_ERROR', 'TRANSACTIONS_ERROR', 'TRANSACTION_ERROR',
  'TRANSFER_ERROR', 'CHECK_REPORT_ERROR', 'CONSUMER_REPORT_ERROR', 'USER_ERROR',
] as const;
export type PlaidErrorType = (typeof ERROR_TYPES)[number];

/** TransactionCode (nullable on the wire). */
// prettier-ignore
const TRANSACTION_CODES = [
  'adjustment', 'atm', 'bank charge', 'bill payment', 'cash', 'cashback', 'cheque', 'direct debit',
  'interest', 'payment', 'purchase', 'refund', 'standing order', 'transfer',
] as const;

const isoDate = z.iso.date();
const isoDateTime = z.iso.datetime({ offset: true });
const nullableString = z.string().nullable();
/** Required by the spec, not read by Tributary: present, shape not inspected. */
const presentObject = z.looseObject({});

/** PlaidError: the body of every non-2xx answer. */
export const plaidErrorSchema = z.object({
  error_type: z.enum(ERROR_TYPES),
  error_code: z.string().min(1),
  error_message: z.string(),
  display_message: nullableString,
  request_id: z.string().optional(),
});
export type PlaidErrorBody = z.infer<typeof plaidErrorSchema>;

/** AccountBalance. Amounts are JSON floats; currency is ISO or unofficial, never both. */
export const accountBalanceSchema = z.object({
  available: z.number().nullable(),
  current: z.number().nullable(),
  limit: z.number().nullable(),
  iso_currency_code: nullableString,
  unofficial_currency_code: nullableString,
  last_updated_datetime: isoDateTime.nullable().optional(),
});

/** AccountBase. */
export const accountSchema = z.object({
  account_id: z.string().min(1),
  balances: accountBalanceSchema,
  mask: nullableString,
  name: z.string(),
  official_name: nullableString,
  type: z.enum(ACCOUNT_TYPES),
  subtype: z.enum(ACCOUNT_SUBTYPES).nullable(),
});
export type PlaidAccount = z.infer<typeof accountSchema>;

/** Item (the fields the spec requires). */
export const itemSchema = z.object({
  item_id: z.string().min(1),
  webhook: nullableString,
  error: presentObject.nullable(),
  available_products: z.array(z.string()),
  billed_products: z.array(z.string()),
  consent_expiration_time: isoDateTime.nullable(),
  update_type: z.enum(['background', 'user_present_required']),
});

/** AccountsGetResponse: the answer of /accounts/get and /accounts/balance/get. */
export const accountsGetResponseSchema = z.object({
  accounts: z.array(accountSchema),
  item: itemSchema,
  request_id: z.string(),
});
export type AccountsGetResponse = z.infer<typeof accountsGetResponseSchema>;

/** Transaction (TransactionBase + Transaction). */
export const transactionSchema = z.object({
  transaction_id: z.string().min(1),
  account_id: z.string().min(1),
  amount: z.number(),
  iso_currency_code: nullableString,
  unofficial_currency_code: nullableString,
  date: isoDate,
  datetime: isoDateTime.nullable(),
  authorized_date: isoDate.nullable(),
  authorized_datetime: isoDateTime.nullable(),
  pending: z.boolean(),
  pending_transaction_id: nullableString,
  name: z.string(),
  merchant_name: nullableString.optional(),
  account_owner: nullableString,
  payment_channel: z.enum(['online', 'in store', 'other']),
  payment_meta: presentObject,
  location: presentObject,
  transaction_code: z.enum(TRANSACTION_CODES).nullable(),
  category: z.array(z.string()).nullable().optional(),
  personal_finance_category: z.object({ primary: z.string(), detailed: z.string() }).nullable().optional(),
});
export type PlaidTransaction = z.infer<typeof transactionSchema>;

/** RemovedTransaction. */
export const removedTransactionSchema = z.object({
  transaction_id: z.string().min(1),
  account_id: z.string().min(1),
});

/** TransactionsSyncResponse. */
export const transactionsSyncResponseSchema = z.object({
  accounts: z.array(accountSchema),
  added: z.array(transactionSchema),
  modified: z.array(transactionSchema),
  removed: z.array(removedTransactionSchema),
  next_cursor: z.string(),
  has_more: z.boolean(),
  request_id: z.string(),
  transactions_update_status: z.enum([
    'TRANSACTIONS_UPDATE_STATUS_UNKNOWN',
    'NOT_READY',
    'INITIAL_UPDATE_COMPLETE',
    'HISTORICAL_UPDATE_COMPLETE',
  ]),
});
export type TransactionsSyncResponse = z.infer<typeof transactionsSyncResponseSchema>;

/** SandboxPublicTokenCreateResponse. */
export const sandboxPublicTokenCreateResponseSchema = z.object({
  public_token: z.string().min(1),
  request_id: z.string(),
});

/** LinkTokenCreateResponse. */
export const linkTokenCreateResponseSchema = z.object({
  link_token: z.string().min(1),
  expiration: z.iso.datetime({ offset: true }),
  request_id: z.string(),
});

/** ItemRemoveResponse. */
export const itemRemoveResponseSchema = z.object({ request_id: z.string() });

/** ItemPublicTokenExchangeResponse. */
export const itemPublicTokenExchangeResponseSchema = z.object({
  access_token: z.string().min(1),
  item_id: z.string().min(1),
  request_id: z.string(),
});

/** `/webhook_verification_key/get`: the public JWK that signs Plaid-Verification tokens of a kid. */
export const webhookVerificationKeyGetResponseSchema = z.object({
  key: z.object({
    alg: z.literal('ES256'),
    kty: z.literal('EC'),
    crv: z.literal('P-256'),
    kid: z.string().min(1),
    use: z.string(),
    x: z.string().min(1),
    y: z.string().min(1),
    created_at: z.number().int(),
    expired_at: z.number().int().nullable(),
  }),
  request_id: z.string(),
});
export type WebhookVerificationKeyGetResponse = z.infer<typeof webhookVerificationKeyGetResponseSchema>;
