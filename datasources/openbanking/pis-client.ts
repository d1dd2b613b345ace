/**
 * Payment Initiation wire calls as domain verbs, on the provider's shared HTTP stack (transport.ts)
 * like the account client, under the payment timeouts (PAYMENT_ENDPOINTS): consents and payment
 * reads with the client-credentials token of the `payments` scope (cached, one fetch however many
 * calls need it at once), the payment itself with the customer's token for its consent. Both POSTs
 * carry an x-idempotency-key and run as keyed writes, so the resilience policy may repeat them: the
 * bank answers a repeat with the resource it already created.
 *
 * Message signing (jws.ts): both POSTs carry our detached JWS of their exact body (signed again on
 * every attempt), and every answer is used only once the bank's signature over its raw bytes has
 * been verified: an unsigned, tampered or wrongly keyed answer is PARTNER_CONTRACT_VIOLATION and
 * nothing of it reaches a payment.
 */
import { NotFoundError, PartnerError } from '../../domain/errors.js';
import type {
  AuthHook,
  ErrorFromResponse,
  PartnerHttp,
  PartnerRequest,
  PartnerResponse,
  RawAnswer,
} from '../http.js';
import { errorFromResponse, isUnauthorised } from './errors.js';
import {
  consentResponseSchema,
  paymentDetailsSchema,
  paymentResponseSchema,
  type WireConsent,
  type WireConsentRequest,
  type WirePayment,
  type WirePaymentDetails,
  type WirePaymentRequest,
} from './pis-types.js';
import type { AnswerVerifier, RequestSigner } from './jws.js';
import { callFields, type Call, type OpenBankingTokens, type PsuTokens } from './tokens.js';
import type { OpenBankingTransport } from './transport.js';

/** The spec's limit on x-idempotency-key. */
export const MAX_IDEMPOTENCY_KEY = 40;

/** The endpoint labels of Payment Initiation calls: they run under the payment timeouts. */
export const PAYMENT_ENDPOINTS: ReadonlySet<string> = new Set([
  'POST /domestic-payment-consents',
  'GET /domestic-payment-consents/{ConsentId}',
  'POST /domestic-payments',
  'GET /domestic-payments/{DomesticPaymentId}',
  'GET /domestic-payments/{DomesticPaymentId}/payment-details',
]);

type Req<T> = Omit<PartnerRequest<T>, 'correlationId' | 'logger' | 'signal' | 'auth' | 'verifyResponse'>;

/**
 * OB resource servers answer an unknown id with 400 UK.OBIE.Resource.NotFound (the profile prefers
 * 400 to 404 for ids): for a payment read that is "no such payment", not a broken contract.
 */
const pisErrorFromResponse: ErrorFromResponse = (status, headers, bodyText, info) => {
  const error = errorFromResponse(status, headers, bodyText, info);
  const notFound =
    error instanceof PartnerError &&
    (status === 400 || status === 404) &&
    (status === 404 || error.partnerCode === 'UK.OBIE.Resource.NotFound');
  return notFound && info.endpoint.startsWith('GET ') ? new NotFoundError('Payment') : error;
};

/** The bank's Payment Initiation API. Returns wire types; pis.ts checks and maps them. */
export class PisClient {
  private readonly http: PartnerHttp;
  private readonly tokens: OpenBankingTokens;
  private readonly verifier: AnswerVerifier;
  private readonly signer: () => Promise<RequestSigner | null>;
  private readonly base: string;

  /** `pisPath`: the Payment Initiation API base path. Default "/open-banking/v3.1/pisp". */
  constructor(transport: OpenBankingTransport, options: { pisPath?: string } = {}) {
    this.http = transport.http;
    this.tokens = transport.tokens;
    this.verifier = transport.verifier;
    this.signer = () => transport.requestSigner();
    this.base = (options.pisPath ?? '/open-banking/v3.1/pisp').replace(/\/$/, '');
  }

  /** POST /domestic-payment-consents: a consent the customer must approve (AwaitingAuthorisation). */
  async createConsent(ctx: Call, body: WireConsentRequest, idempotencyKey: string): Promise<WireConsent> {
    const res = await this.tppCall(ctx, {
      method: 'POST',
      path: `${this.base}/domestic-payment-consents`,
      endpoint: 'POST /domestic-payment-consents',
      kind: 'keyed-write',
      headers: { 'x-idempotency-key': checkKey(idempotencyKey) },
      json: body,
      schema: consentResponseSchema,
      signed: true,
    });
    return { ...res.data.Data, Risk: res.data.Risk };
  }

  async getConsent(ctx: Call, consentId: string): Promise<WireConsent> {
    const res = await this.tppCall(ctx, {
      method: 'GET',
      path: `${this.base}/domestic-payment-consents/${encodeURIComponent(consentId)}`,
      endpoint: 'GET /domestic-payment-consents/{ConsentId}',
      schema: consentResponseSchema,
    });
    return { ...res.data.Data, Risk: res.data.Risk };
  }

  /** Exchanges the code of the customer's approval for a token bound to the payment consent. */
  async exchangeCode(ctx: Call, code: string): Promise<PsuTokens> {
    return this.tokens.exchangeCode(ctx, code);
  }

  /** POST /domestic-payments with the customer's token: the payment, exactly once per key. */
  async createPayment(
    ctx: Call,
    psuToken: string,
    body: WirePaymentRequest,
    idempotencyKey: string,
  ): Promise<WirePayment> {
    const endpoint = 'POST /domestic-payments';
    const res = await this.http.request({
      method: 'POST',
      path: `${this.base}/domestic-payments`,
      endpoint,
      kind: 'keyed-write',
      headers: { 'x-idempotency-key': checkKey(idempotencyKey) },
      json: body,
      schema: paymentResponseSchema,
      auth: this.signed(() => ({ authorization: `Bearer ${psuToken}` })),
      errorFromResponse: pisErrorFromResponse,
      verifyResponse: this.verified(ctx, endpoint),
      ...callFields(ctx),
    });
    return res.data.Data;
  }

  /** GET /domestic-payments/{id}; NotFoundError when the bank knows no such payment of ours. */
  async getPayment(ctx: Call, paymentId: string): Promise<WirePayment> {
    const res = await this.tppCall(ctx, {
      method: 'GET',
      path: `${this.base}/domestic-payments/${encodeURIComponent(paymentId)}`,
      endpoint: 'GET /domestic-payments/{DomesticPaymentId}',
      schema: paymentResponseSchema,
    });
    return res.data.Data;
  }

  /** GET /domestic-payments/{id}/payment-details: the status detail (why a payment was rejected). */
  async getPaymentDetails(ctx: Call, paymentId: string): Promise<WirePaymentDetails> {
    const res = await this.tppCall(ctx, {
      method: 'GET',
      path: `${this.base}/domestic-payments/${encodeURIComponent(paymentId)}/payment-details`,
      endpoint: 'GET /domestic-payments/{DomesticPaymentId}/payment-details',
      schema: paymentDetailsSchema,
    });
    return res.data.Data;
  }

  /**
   * A TPP call with the payments client-credentials token, fetched again once if the bank refuses it;
   * `signed`: the request carries our signature of its body.
   */
  private async tppCall<T>(ctx: Call, req: Req<T> & { signed?: boolean }): Promise<PartnerResponse<T>> {
    const { signed, ...rest } = req;
    const pisReq = {
      ...rest,
      ...callFields(ctx),
      errorFromResponse: pisErrorFromResponse,
      verifyResponse: this.verified(ctx, req.endpoint),
    };
    const auth = (token: string): AuthHook =>
      signed ? this.signed(() => bearer(token)) : () => bearer(token);
    let token = await this.tokens.clientCredentials(ctx, 'payments');
    try {
      return await this.http.request({ ...pisReq, auth: auth(token) });
    } catch (error) {
      if (!isUnauthorised(error)) throw error;
    }
    token = await this.tokens.clientCredentials(ctx, 'payments', token);
    return this.http.request({ ...pisReq, auth: auth(token) });
  }

  /** The auth headers plus our x-jws-signature of the exact body sent (when a signing key is configured). */
  private signed(headers: () => Record<string, string>): AuthHook {
    return async (request) => {
      const signer = await this.signer();
      if (!signer || request.body === undefined) return headers();
      return { ...headers(), 'x-jws-signature': await signer.sign(request.body) };
    };
  }

  /** The check every answer passes before it is parsed: the bank's signature over its raw bytes. */
  private verified(ctx: Call, endpoint: string) {
    return (answer: RawAnswer) => this.verifier.verify(ctx, endpoint, answer);
  }
}

function bearer(token: string): Record<string, string> {
  return { authorization: `Bearer ${token}` };
}

/** The spec: x-idempotency-key is at most 40 characters, without leading or trailing white space. */
function checkKey(key: string): string {
  if (key.length === 0 || key.length > MAX_IDEMPOTENCY_KEY || key.trim() !== key) {
    throw new Error(
      `an Open Banking x-idempotency-key must be 1 to ${MAX_IDEMPOTENCY_KEY} characters without surrounding space`,
    );
  }
  return key;
}
