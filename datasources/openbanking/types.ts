/**
 * Open Banking Read/Write API v3.1.11 wire shapes Tributary consumes, as zod schemas derived from the
 * spec (account-info-openapi.json): its required fields, enums and patterns. Optional fields we do
 * not read are accepted and ignored, so an ASPSP sending more than we need is not a violation.
 * These types never leave datasources/openbanking/.
 */
import { z } from 'zod';

/** ISO 8601 date-time; the spec requires an offset in responses ("2017-04-05T10:43:07+00:00"). */
const isoDateTime = z.iso.datetime({ offset: true });

/** OBActiveCurrencyAndAmount_SimpleType: unsigned, up to 13 integer and 5 fraction digits. */
const amountText = z.string().regex(/^\d{1,13}$|^\d{1,13}\.\d{1,5}$/);
const currencyCode = z.string().regex(/^[A-Z]{3,3}$/);
const amount = z.object({ Amount: amountText, Currency: currencyCode });

/** OBCreditDebitCode. */
export const CREDIT_DEBIT = ['Credit', 'Debit'] as const;
export type CreditDebit = (typeof CREDIT_DEBIT)[number];

/** OBExternalAccountSubType1Code. */
export const ACCOUNT_SUB_TYPES = [
  'ChargeCard',
  'CreditCard',
  'CurrentAccount',
  'EMoney',
  'Loan',
  'Mortgage',
  'PrePaidCard',
  'Savings',
  'Wallet',
] as const;
export type AccountSubType = (typeof ACCOUNT_SUB_TYPES)[number];

/** OBBalanceType1Code. */
export const BALANCE_TYPES = [
  'ClosingAvailable',
  'ClosingBooked',
  'ClosingCleared',
  'Expected',
  'ForwardAvailable',
  'Information',
  'InterimAvailable',
  'InterimBooked',
  'InterimCleared',
  'OpeningAvailable',
  'OpeningBooked',
  'OpeningCleared',
  'PreviouslyClosedBooked',
] as const;
export type BalanceType = (typeof BALANCE_TYPES)[number];

/** OBEntryStatus1Code. */
export const ENTRY_STATUSES = ['Booked', 'Pending', 'Rejected'] as const;
export type EntryStatus = (typeof ENTRY_STATUSES)[number];

/** OBReadConsent1 Data.Permissions codes. */
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
/** An OBReadConsent1 permission code. */
export type Permission = (typeof PERMISSIONS)[number];

/** Links: Self is required; the rest appear when there are several pages. */
const links = z.object({
  Self: z.url(),
  First: z.url().optional(),
  Prev: z.url().optional(),
  Next: z.url().optional(),
  Last: z.url().optional(),
});
const meta = z.object({
  TotalPages: z.number().int().optional(),
  FirstAvailableDateTime: isoDateTime.optional(),
  LastAvailableDateTime: isoDateTime.optional(),
});

/** RFC 6749 section 5.1 token response. */
export const tokenResponseSchema = z.object({
  access_token: z.string().min(1),
  token_type: z.string().regex(/^bearer$/i),
  expires_in: z.number().int().positive().optional(),
  refresh_token: z.string().min(1).optional(),
  scope: z.string().optional(),
});
export type TokenResponse = z.infer<typeof tokenResponseSchema>;

/** RFC 6749 section 5.2 token error. */
export const tokenErrorSchema = z.object({ error: z.string(), error_description: z.string().optional() });

/** OBReadConsentResponse1. */
export const readConsentResponseSchema = z.object({
  Data: z.object({
    ConsentId: z.string().min(1).max(128),
    CreationDateTime: isoDateTime,
    Status: z.enum(['Authorised', 'AwaitingAuthorisation', 'Rejected', 'Revoked']),
    StatusUpdateDateTime: isoDateTime,
    Permissions: z.array(z.enum(PERMISSIONS)).min(1),
    ExpirationDateTime: isoDateTime.optional(),
    TransactionFromDateTime: isoDateTime.optional(),
    TransactionToDateTime: isoDateTime.optional(),
  }),
  Risk: z.object({}),
  Links: links.optional(),
  Meta: meta.optional(),
});
export type ReadConsentResponse = z.infer<typeof readConsentResponseSchema>;

const accountIdentification = z.object({
  SchemeName: z.string().min(1),
  Identification: z.string().min(1).max(256),
  Name: z.string().min(1).max(350).optional(),
  SecondaryIdentification: z.string().min(1).max(34).optional(),
});

/**
 * OBAccount6. The spec makes Currency, AccountType and AccountSubType optional only for switched
 * accounts and mandatory for all others; that rule is enforced here so the mapper can rely on it.
 */
export const accountSchema = z
  .object({
    AccountId: z.string().min(1).max(40),
    Status: z.enum(['Deleted', 'Disabled', 'Enabled', 'Pending', 'ProForma']).optional(),
    Currency: currencyCode.optional(),
    AccountType: z.enum(['Business', 'Personal']).optional(),
    AccountSubType: z.enum(ACCOUNT_SUB_TYPES).optional(),
    Description: z.string().min(1).max(35).optional(),
    Nickname: z.string().min(1).max(70).optional(),
    SwitchStatus: z.string().optional(),
    Account: z.array(accountIdentification).optional(),
  })
  .superRefine((account, ctx) => {
    if (account.SwitchStatus === 'UK.CASS.SwitchCompleted') return;
    for (const field of ['Currency', 'AccountType', 'AccountSubType'] as const) {
      if (account[field] === undefined) {
        ctx.addIssue({
          code: 'custom',
          path: [field],
          message: `${field} is required for accounts not switched`,
        });
      }
    }
  });
export type WireAccount = z.infer<typeof accountSchema>;

/** OBReadAccount6: Data.Account[] with Links/Meta paging. */
export const readAccountSchema = z.object({
  Data: z.object({ Account: z.array(accountSchema).optional() }),
  Links: links.optional(),
  Meta: meta.optional(),
});
export type ReadAccount = z.infer<typeof readAccountSchema>;

const creditLine = z.object({
  Included: z.boolean(),
  Type: z.enum(['Available', 'Credit', 'Emergency', 'Pre-Agreed', 'Temporary']).optional(),
  Amount: amount.optional(),
});

/** OBReadBalance1 Data.Balance item. */
export const balanceSchema = z.object({
  AccountId: z.string().min(1).max(40),
  CreditDebitIndicator: z.enum(CREDIT_DEBIT),
  Type: z.enum(BALANCE_TYPES),
  DateTime: isoDateTime,
  Amount: amount,
  CreditLine: z.array(creditLine).optional(),
});
export type WireBalance = z.infer<typeof balanceSchema>;

/** OBReadBalance1 (bulk /balances and per account). */
export const readBalanceSchema = z.object({
  Data: z.object({ Balance: z.array(balanceSchema).min(1) }),
  Links: links.optional(),
  Meta: meta.optional(),
});
export type ReadBalance = z.infer<typeof readBalanceSchema>;

/** OBTransaction6, the fields the mapper reads. */
export const transactionSchema = z.object({
  AccountId: z.string().min(1).max(40),
  TransactionId: z.string().min(1).max(210).optional(),
  TransactionReference: z.string().min(1).max(210).optional(),
  CreditDebitIndicator: z.enum(CREDIT_DEBIT),
  Status: z.enum(ENTRY_STATUSES),
  BookingDateTime: isoDateTime,
  ValueDateTime: isoDateTime.optional(),
  TransactionInformation: z.string().min(1).max(500).optional(),
  Amount: amount,
  ProprietaryBankTransactionCode: z.object({ Code: z.string().min(1).max(35) }).optional(),
  MerchantDetails: z
    .object({
      MerchantName: z.string().min(1).max(350).optional(),
      MerchantCategoryCode: z.string().min(3).max(4).optional(),
    })
    .optional(),
});
export type WireTransaction = z.infer<typeof transactionSchema>;

/** OBReadTransaction6 (bulk /transactions and per account). */
export const readTransactionSchema = z.object({
  Data: z.object({ Transaction: z.array(transactionSchema).optional() }),
  Links: links.optional(),
  Meta: meta.optional(),
});
export type ReadTransaction = z.infer<typeof readTransactionSchema>;

/** OBErrorResponse1. */
export const errorResponseSchema = z.object({
  Code: z.string().min(1).max(40),
  Id: z.string().min(1).max(40).optional(),
  Message: z.string().min(1).max(500),
  Errors: z
    .array(
      z.object({
        ErrorCode: z.string(),
        Message: z.string().min(1).max(500),
        Path: z.string().optional(),
        Url: z.string().optional(),
      }),
    )
    .min(1),
});
export type ErrorResponse = z.infer<typeof errorResponseSchema>;
