/**
 * The sandbox's view of the Payment Initiation API v3.1.11 wire shapes, written from the spec
 * (payment-initiation-openapi.json): OBWriteDomesticConsent4 and OBWriteDomestic2 as strict zod
 * schemas (the spec sets additionalProperties: false), the statuses, and the request body parser
 * that answers OB errors (UK.OBIE.Field.Missing / Field.Invalid with the JSON path).
 */
import { z } from 'zod';
import { readJson, type SandboxRequest } from '../kit/sandbox.js';
import { ObFailure, obError } from './wire.js';

/** Base path of the Payment Initiation API (the spec's `servers[0].url`). */
export const PISP_BASE = '/open-banking/v3.1/pisp';

/** OBWriteDomesticConsentResponse5 Data.Status. */
export const PAYMENT_CONSENT_STATUSES = [
  'Authorised',
  'AwaitingAuthorisation',
  'Consumed',
  'Rejected',
] as const;
export type PaymentConsentStatus = (typeof PAYMENT_CONSENT_STATUSES)[number];

/** OBWriteDomesticResponse5 Data.Status. */
export const DOMESTIC_PAYMENT_STATUSES = [
  'AcceptedCreditSettlementCompleted',
  'AcceptedSettlementCompleted',
  'AcceptedSettlementInProcess',
  'AcceptedWithoutPosting',
  'Pending',
  'Rejected',
] as const;
export type DomesticPaymentStatus = (typeof DOMESTIC_PAYMENT_STATUSES)[number];

/** Account schemes a domestic payment can name (OBExternalAccountIdentification4Code subset). */
export const PAYMENT_SCHEMES = ['UK.OBIE.SortCodeAccountNumber', 'UK.OBIE.IBAN'] as const;

const dateTime = z.iso.datetime({ offset: true });
const text = (max: number) => z.string().min(1).max(max);
const amount = z
  .object({
    Amount: z.string().regex(/^\d{1,13}$|^\d{1,13}\.\d{1,5}$/),
    Currency: z.string().regex(/^[A-Z]{3,3}$/),
  })
  .strict();
const cashAccount = z
  .object({
    SchemeName: z.string().min(1),
    Identification: text(256),
    Name: text(350).optional(),
    SecondaryIdentification: text(34).optional(),
  })
  .strict();
const postalAddress = z
  .object({
    AddressType: z
      .enum([
        'Business',
        'Correspondence',
        'DeliveryTo',
        'MailTo',
        'POBox',
        'Postal',
        'Residential',
        'Statement',
      ])
      .optional(),
    Department: text(70).optional(),
    SubDepartment: text(70).optional(),
    StreetName: text(70).optional(),
    BuildingNumber: text(16).optional(),
    PostCode: text(16).optional(),
    TownName: text(35).optional(),
    CountrySubDivision: text(35).optional(),
    Country: z
      .string()
      .regex(/^[A-Z]{2,2}$/)
      .optional(),
    AddressLine: z.array(text(70)).max(7).optional(),
  })
  .strict();

/** OBWriteDomestic2DataInitiation (the same object in the consent and in the payment). */
export const initiationSchema = z
  .object({
    InstructionIdentification: text(35),
    EndToEndIdentification: text(35),
    LocalInstrument: z.string().min(1).optional(),
    InstructedAmount: amount,
    DebtorAccount: cashAccount.optional(),
    CreditorAccount: cashAccount.extend({ Name: text(350) }).strict(),
    CreditorPostalAddress: postalAddress.optional(),
    RemittanceInformation: z
      .object({ Unstructured: text(140).optional(), Reference: text(35).optional() })
      .strict()
      .optional(),
    SupplementaryData: z.record(z.string(), z.unknown()).optional(),
  })
  .strict();
export type WireInitiation = z.infer<typeof initiationSchema>;

/** OBRisk1. */
export const riskSchema = z
  .object({
    PaymentContextCode: z
      .enum([
        'BillingGoodsAndServicesInAdvance',
        'BillingGoodsAndServicesInArrears',
        'PispPayee',
        'EcommerceMerchantInitiatedPayment',
        'FaceToFacePointOfSale',
        'TransferToSelf',
        'TransferToThirdParty',
        'BillPayment',
        'EcommerceGoods',
        'EcommerceServices',
        'Other',
        'PartyToParty',
      ])
      .optional(),
    MerchantCategoryCode: z.string().min(3).max(4).optional(),
    MerchantCustomerIdentification: text(70).optional(),
    ContractPresentInidicator: z.boolean().optional(),
    BeneficiaryPrepopulatedIndicator: z.boolean().optional(),
    PaymentPurposeCode: z.string().min(3).max(4).optional(),
    BeneficiaryAccountType: z.string().min(1).optional(),
    DeliveryAddress: z
      .object({
        AddressLine: z.array(text(70)).max(2).optional(),
        StreetName: text(70).optional(),
        BuildingNumber: text(16).optional(),
        PostCode: text(16).optional(),
        TownName: text(35),
        CountrySubDivision: text(35).optional(),
        Country: z.string().regex(/^[A-Z]{2,2}$/),
      })
      .optional(),
  })
  .strict();
export type WireRisk = z.infer<typeof riskSchema>;

/** OBWriteDomesticConsent4. */
export const domesticConsentSchema = z
  .object({
    Data: z
      .object({
        ReadRefundAccount: z.enum(['No', 'Yes']).optional(),
        Initiation: initiationSchema,
        Authorisation: z
          .object({ AuthorisationType: z.enum(['Any', 'Single']), CompletionDateTime: dateTime.optional() })
          .strict()
          .optional(),
        SCASupportData: z
          .object({
            RequestedSCAExemptionType: z.string().min(1).optional(),
            AppliedAuthenticationApproach: z.enum(['CA', 'SCA']).optional(),
            ReferencePaymentOrderId: text(40).optional(),
          })
          .optional(),
      })
      .strict(),
    Risk: riskSchema,
  })
  .strict();
export type WireDomesticConsent = z.infer<typeof domesticConsentSchema>;

/** OBWriteDomestic2. */
export const domesticPaymentSchema = z
  .object({
    Data: z.object({ ConsentId: text(128), Initiation: initiationSchema }).strict(),
    Risk: riskSchema,
  })
  .strict();
export type WireDomesticPayment = z.infer<typeof domesticPaymentSchema>;

/** The sandbox-only control body that moves a payment (for webhook and polling tests). */
export const statusControlSchema = z.object({ Status: z.enum(DOMESTIC_PAYMENT_STATUSES) });

function invalid(path: string, message: string, code = 'UK.OBIE.Field.Invalid'): ObFailure {
  return new ObFailure(obError(400, code, message, path));
}

/** Parses a request body against a strict schema, answering OB errors with the failing path. */
export function parseBody<T>(req: SandboxRequest, schema: z.ZodType<T>): { body: T; raw: unknown } {
  let raw: unknown;
  try {
    raw = readJson(req);
  } catch {
    throw invalid('(body)', 'The body is not valid JSON.', 'UK.OBIE.Resource.InvalidFormat');
  }
  const parsed = schema.safeParse(raw);
  if (!parsed.success) {
    const issue = parsed.error.issues[0];
    const path = issue?.path.join('.') || '(body)';
    const missing = issue?.code === 'invalid_type' && issue.message.includes('undefined');
    const unexpected = issue?.code === 'unrecognized_keys';
    const code = missing
      ? 'UK.OBIE.Field.Missing'
      : unexpected
        ? 'UK.OBIE.Field.Unexpected'
        : 'UK.OBIE.Field.Invalid';
    throw invalid(path, issue?.message ?? 'Invalid body.', code);
  }
  return { body: parsed.data, raw };
}

/** Checks what the schema cannot: schemes, identifications and an amount the currency can carry. */
export function checkInitiation(initiation: WireInitiation): void {
  const accounts = [
    ['Data.Initiation.CreditorAccount', initiation.CreditorAccount],
    ['Data.Initiation.DebtorAccount', initiation.DebtorAccount],
  ] as const;
  for (const [path, account] of accounts) {
    if (!account) continue;
    if (!(PAYMENT_SCHEMES as readonly string[]).includes(account.SchemeName)) {
      throw invalid(`${path}.SchemeName`, 'Unsupported account scheme.', 'UK.OBIE.Unsupported.Scheme');
    }
    const valid =
      account.SchemeName === 'UK.OBIE.IBAN'
        ? /^[A-Z]{2}\d{2}[A-Z0-9]{11,30}$/.test(account.Identification)
        : /^\d{14}$/.test(account.Identification);
    if (!valid) throw invalid(`${path}.Identification`, 'Not a valid account identification.');
  }
  const { Amount, Currency } = initiation.InstructedAmount;
  const decimals = Amount.includes('.') ? Amount.length - Amount.indexOf('.') - 1 : 0;
  if (decimals > exponentOf(Currency) || scaled(Amount) <= 0n) {
    throw invalid('Data.Initiation.InstructedAmount.Amount', `Not a valid ${Currency} amount.`);
  }
}

/** Minor-unit exponents that differ from 2 among the currencies the seeded bank holds or names. */
const EXPONENTS: Readonly<Record<string, number>> = { JPY: 0, KRW: 0, BHD: 3, KWD: 3, OMR: 3, JOD: 3 };

export function exponentOf(currency: string): number {
  return EXPONENTS[currency] ?? 2;
}

/** An unsigned OB amount in units of 10^-5 (the spec allows five fraction digits), exact. */
export function scaled(amount: string): bigint {
  const [whole = '0', fraction = ''] = amount.split('.');
  return BigInt(whole) * 100_000n + BigInt(fraction.padEnd(5, '0').slice(0, 5));
}

/** JSON with sorted keys: two bodies with the same content compare equal whatever their key order. */
export function canonical(value: unknown): string {
  if (Array.isArray(value)) return `[${value.map(canonical).join(',')}]`;
  if (value !== null && typeof value === 'object') {
    const entries = Object.entries(value as Record<string, unknown>)
      .filter(([, v]) => v !== undefined)
      .sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0));
    return `{${entries.map(([k, v]) => `${JSON.stringify(k)}:${canonical(v)}`).join(',')}}`;
  }
  return JSON.stringify(value);
}
