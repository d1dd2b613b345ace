/**
 * Payment Initiation API v3.1.11 wire shapes Tributary sends and reads, as zod schemas derived from
 * the spec (payment-initiation-openapi.json): OBWriteDomesticConsent4 / OBWriteDomestic2 (what we
 * send, built from these types), OBWriteDomesticConsentResponse5, OBWriteDomesticResponse5 and
 * OBWritePaymentDetailsResponse1 (what we validate). Required fields, enums and patterns follow the
 * spec; optional fields we do not read are accepted and ignored. Never leaves this folder.
 */
import { z } from 'zod';

const isoDateTime = z.iso.datetime({ offset: true });
const text = (max: number) => z.string().min(1).max(max);

/** OBActiveCurrencyAndAmount_SimpleType and the ISO currency pattern. */
const amount = z.object({
  Amount: z.string().regex(/^\d{1,13}$|^\d{1,13}\.\d{1,5}$/),
  Currency: z.string().regex(/^[A-Z]{3,3}$/),
});

/** OBCashAccountDebtor4 / OBCashAccountCreditor3. */
const cashAccount = z.object({
  SchemeName: z.string().min(1),
  Identification: text(256),
  Name: text(350).optional(),
  SecondaryIdentification: text(34).optional(),
});

/** OBWriteDomestic2DataInitiation: the same object in the consent, the payment and the answers. */
export const initiationSchema = z.object({
  InstructionIdentification: text(35),
  EndToEndIdentification: text(35),
  LocalInstrument: z.string().min(1).optional(),
  InstructedAmount: amount,
  DebtorAccount: cashAccount.optional(),
  CreditorAccount: cashAccount.extend({ Name: text(350) }),
  RemittanceInformation: z
    .object({ Unstructured: text(140).optional(), Reference: text(35).optional() })
    .optional(),
});
export type WireInitiation = z.infer<typeof initiationSchema>;

/** OBRisk1, the fields Tributary sends. */
export const riskSchema = z.object({
  PaymentContextCode: z.string().min(1).optional(),
  MerchantCustomerIdentification: text(70).optional(),
});
export type WireRisk = z.infer<typeof riskSchema>;

/** OBWriteDomesticConsentResponse5 Data.Status. */
export const CONSENT_STATUSES = ['Authorised', 'AwaitingAuthorisation', 'Consumed', 'Rejected'] as const;
export type PaymentConsentStatus = (typeof CONSENT_STATUSES)[number];

/** OBWriteDomesticResponse5 Data.Status. */
export const PAYMENT_STATUSES = [
  'AcceptedCreditSettlementCompleted',
  'AcceptedSettlementCompleted',
  'AcceptedSettlementInProcess',
  'AcceptedWithoutPosting',
  'Pending',
  'Rejected',
] as const;
export type DomesticPaymentStatus = (typeof PAYMENT_STATUSES)[number];

/** OBWritePaymentDetailsResponse1 PaymentStatus[].Status (OBTransactionIndividualStatus1Code). */
export const DETAIL_STATUSES = [
  'Accepted',
  'AcceptedCancellationRequest',
  'AcceptedCreditSettlementCompleted',
  'AcceptedCustomerProfile',
  'AcceptedFundsChecked',
  'AcceptedSettlementCompleted',
  'AcceptedSettlementInProcess',
  'AcceptedTechnicalValidation',
  'AcceptedWithChange',
  'AcceptedWithoutPosting',
  'Cancelled',
  'NoCancellationProcess',
  'PartiallyAcceptedCancellationRequest',
  'PartiallyAcceptedTechnicalCorrect',
  'PaymentCancelled',
  'Pending',
  'PendingCancellationRequest',
  'Received',
  'Rejected',
  'RejectedCancellationRequest',
] as const;

const links = z.object({ Self: z.url() }).optional();
const meta = z.object({ TotalPages: z.number().int().optional() }).optional();

/** OBWriteDomesticConsent4: what createConsent sends. */
export interface WireConsentRequest {
  Data: { Initiation: WireInitiation };
  Risk: WireRisk;
}

/** OBWriteDomestic2: what createPayment sends. */
export interface WirePaymentRequest {
  Data: { ConsentId: string; Initiation: WireInitiation };
  Risk: WireRisk;
}

/** OBWriteDomesticConsentResponse5. */
export const consentResponseSchema = z.object({
  Data: z.object({
    ConsentId: text(128),
    CreationDateTime: isoDateTime,
    Status: z.enum(CONSENT_STATUSES),
    StatusUpdateDateTime: isoDateTime,
    Initiation: initiationSchema,
  }),
  Risk: riskSchema,
  Links: links,
  Meta: meta,
});
export type WireConsent = z.infer<typeof consentResponseSchema>['Data'] & { Risk: WireRisk };

/** OBWriteDomesticResponse5. */
export const paymentResponseSchema = z.object({
  Data: z.object({
    DomesticPaymentId: text(40),
    ConsentId: text(128),
    CreationDateTime: isoDateTime,
    Status: z.enum(PAYMENT_STATUSES),
    StatusUpdateDateTime: isoDateTime,
    ExpectedExecutionDateTime: isoDateTime.optional(),
    ExpectedSettlementDateTime: isoDateTime.optional(),
    Initiation: initiationSchema,
    Debtor: z
      .object({
        SchemeName: z.string().optional(),
        Identification: z.string().optional(),
        Name: z.string().optional(),
      })
      .optional(),
  }),
  Links: links,
  Meta: meta,
});
export type WirePayment = z.infer<typeof paymentResponseSchema>['Data'];

/** OBWritePaymentDetailsResponse1. */
export const paymentDetailsSchema = z.object({
  Data: z.object({
    PaymentStatus: z
      .array(
        z.object({
          PaymentTransactionId: text(210),
          Status: z.enum(DETAIL_STATUSES),
          StatusUpdateDateTime: isoDateTime,
          StatusDetail: z
            .object({
              LocalInstrument: z.string().optional(),
              Status: text(128),
              StatusReason: z
                .enum([
                  'Cancelled',
                  'PendingFailingSettlement',
                  'PendingSettlement',
                  'Proprietary',
                  'ProprietaryRejection',
                  'Suspended',
                  'Unmatched',
                ])
                .optional(),
              StatusReasonDescription: text(256).optional(),
            })
            .optional(),
        }),
      )
      .optional(),
  }),
  Links: links,
  Meta: meta,
});
export type WirePaymentDetails = z.infer<typeof paymentDetailsSchema>['Data'];
