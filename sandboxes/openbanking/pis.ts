/**
 * Payment Initiation API routes (v3.1.11, domestic payments):
 *   POST /domestic-payment-consents            client-credentials token (payments scope), x-idempotency-key
 *   GET  /domestic-payment-consents/{ConsentId}
 *   POST /domestic-payments                    the PSU token of the approved consent, x-idempotency-key
 *   GET  /domestic-payments/{DomesticPaymentId}
 *   GET  /domestic-payments/{DomesticPaymentId}/payment-details
 * and the sandbox-only POST /__sandbox/domestic-payments/{DomesticPaymentId}/status that moves a
 * payment (polling and event-notification tests). The customer approves a payment consent through
 * the shared POST /__sandbox/authorise (consents.ts hands payment consents to approvePaymentConsent).
 *
 * x-idempotency-key, the OB way: the same key from the same client on the same endpoint within
 * 24 hours is the same request. With the same body the answer is 201 with the resource as it is now
 * (never a second resource); with another body it is 400 UK.OBIE.Field.Invalid on the header, the
 * spec's code for a supplied value that is not acceptable (ConsentMismatch is kept for a payment
 * that does not match its consent). Failed requests create nothing and record no key.
 *
 * Message signing (signing.ts): both POSTs must carry the TPP's detached JWS, checked before anything
 * else of the request; every answer of these routes is signed by the bank (server.ts).
 */
import { json, readJson, type Reply, type Router, type SandboxRequest } from '../kit/sandbox.js';
import { requireToken } from './guards.js';
import { verifyRequestSignature, type ClientSigningKeys } from './signing.js';
import type { DomesticPayment, PaymentConsent, PisState } from './pis-state.js';
import {
  canonical,
  checkInitiation,
  domesticConsentSchema,
  domesticPaymentSchema,
  parseBody,
  PISP_BASE,
  statusControlSchema,
} from './pis-wire.js';
import type { AccessToken, SandboxState } from './state.js';
import { obDateTime, ObFailure, obError } from './wire.js';

const KEY_PATTERN = /^(?!\s)(.*)(\S)$/;

function fail(status: number, code: string, message: string, path?: string): ObFailure {
  return new ObFailure(obError(status, code, message, path));
}

/** A valid token of the given kind that carries the payments scope. */
function paymentsToken(req: SandboxRequest, state: SandboxState, kind: AccessToken['kind']): AccessToken {
  const token = requireToken(req, state, kind);
  if (!token.scope.split(' ').includes('payments')) {
    throw fail(
      403,
      'UK.OBIE.Header.Invalid',
      'The access token does not grant the payments scope.',
      'Authorization',
    );
  }
  return token;
}

/** The spec's x-idempotency-key: required, at most 40 characters, no surrounding white space. */
function idempotencyKey(req: SandboxRequest): string {
  const key = req.header('x-idempotency-key');
  if (key === undefined || key === '') {
    throw fail(400, 'UK.OBIE.Header.Missing', 'x-idempotency-key is required.', 'x-idempotency-key');
  }
  if (key.length > 40 || !KEY_PATTERN.test(key)) {
    throw fail(
      400,
      'UK.OBIE.Header.Invalid',
      'x-idempotency-key must be 1 to 40 characters.',
      'x-idempotency-key',
    );
  }
  return key;
}

function keyReused(): ObFailure {
  const message = 'The x-idempotency-key was used in the last 24 hours with a different request body.';
  return fail(400, 'UK.OBIE.Field.Invalid', message, 'x-idempotency-key');
}

function consentResponse(req: SandboxRequest, consent: PaymentConsent) {
  return {
    Data: {
      ConsentId: consent.ConsentId,
      CreationDateTime: consent.CreationDateTime,
      Status: consent.Status,
      StatusUpdateDateTime: consent.StatusUpdateDateTime,
      ...consent.Data,
    },
    Risk: consent.Risk,
    Links: { Self: `${req.origin}${PISP_BASE}/domestic-payment-consents/${consent.ConsentId}` },
    Meta: { TotalPages: 1 },
  };
}

function paymentResponse(req: SandboxRequest, pis: PisState, payment: DomesticPayment) {
  const debtor = pis.base.bank.accounts.get(payment.debtorAccountId)?.account.Account?.[0];
  const settles = payment.settlesAt ?? payment.createdAt;
  return {
    Data: {
      DomesticPaymentId: payment.DomesticPaymentId,
      ConsentId: payment.ConsentId,
      CreationDateTime: obDateTime(new Date(payment.createdAt)),
      Status: payment.Status,
      StatusUpdateDateTime: obDateTime(new Date(payment.statusAt)),
      ExpectedExecutionDateTime: obDateTime(new Date(payment.createdAt)),
      ExpectedSettlementDateTime: obDateTime(new Date(settles)),
      Initiation: payment.Initiation,
      ...(debtor
        ? {
            Debtor: {
              SchemeName: debtor.SchemeName,
              Identification: debtor.Identification,
              Name: debtor.Name,
            },
          }
        : {}),
    },
    Links: { Self: `${req.origin}${PISP_BASE}/domestic-payments/${payment.DomesticPaymentId}` },
    Meta: { TotalPages: 1 },
  };
}

function detailsResponse(req: SandboxRequest, payment: DomesticPayment) {
  const status = {
    PaymentTransactionId: payment.DomesticPaymentId,
    Status: payment.Status,
    StatusUpdateDateTime: obDateTime(new Date(payment.statusAt)),
    ...(payment.rejection && payment.Status === 'Rejected'
      ? {
          StatusDetail: {
            Status: 'Rejected',
            StatusReason: 'ProprietaryRejection',
            StatusReasonDescription: `${payment.rejection.code}: ${payment.rejection.description}`,
          },
        }
      : {}),
  };
  const self = `${req.origin}${PISP_BASE}/domestic-payments/${payment.DomesticPaymentId}/payment-details`;
  return { Data: { PaymentStatus: [status] }, Links: { Self: self }, Meta: { TotalPages: 1 } };
}

/** The client's own resource; another client's is answered exactly like an unknown one (400). */
function own<T extends { clientId: string }>(found: T | undefined, clientId: string, path: string): T {
  if (!found || found.clientId !== clientId) {
    throw fail(400, 'UK.OBIE.Resource.NotFound', 'No such resource.', path);
  }
  return found;
}

/** The TPPs' request-signing keys, by client id. */
type ClientKeys = Readonly<Record<string, ClientSigningKeys>>;

function createConsent(state: SandboxState, pis: PisState, clients: ClientKeys) {
  return async (req: SandboxRequest): Promise<Reply> => {
    const token = paymentsToken(req, state, 'client');
    await verifyRequestSignature(req, clients[token.clientId], () => state.now());
    const key = idempotencyKey(req);
    const { body, raw } = parseBody(req, domesticConsentSchema);
    const fingerprint = canonical(raw);
    const seen = pis.lookupKey(token.clientId, 'domestic-payment-consents', key, fingerprint);
    if (seen.kind === 'conflict') throw keyReused();
    if (seen.kind === 'replay') return json(201, consentResponse(req, pis.consents.get(seen.resourceId)!));
    checkInitiation(body.Data.Initiation);
    const completion = body.Data.Authorisation?.CompletionDateTime;
    if (completion !== undefined && Date.parse(completion) <= pis.now()) {
      throw fail(
        400,
        'UK.OBIE.Field.InvalidDate',
        'CompletionDateTime must be in the future.',
        'Data.Authorisation.CompletionDateTime',
      );
    }
    const consent = pis.newConsent(token.clientId, body);
    pis.rememberKey(token.clientId, 'domestic-payment-consents', key, fingerprint, consent.ConsentId);
    return json(201, consentResponse(req, consent));
  };
}

function createPayment(state: SandboxState, pis: PisState, clients: ClientKeys) {
  return async (req: SandboxRequest): Promise<Reply> => {
    const token = paymentsToken(req, state, 'psu');
    await verifyRequestSignature(req, clients[token.clientId], () => state.now());
    const key = idempotencyKey(req);
    const { body, raw } = parseBody(req, domesticPaymentSchema);
    if (body.Data.ConsentId !== token.consentId) {
      throw fail(
        400,
        'UK.OBIE.Resource.ConsentMismatch',
        'The access token was issued for another consent.',
        'Data.ConsentId',
      );
    }
    const fingerprint = canonical(raw);
    const seen = pis.lookupKey(token.clientId, 'domestic-payments', key, fingerprint);
    if (seen.kind === 'conflict') throw keyReused();
    if (seen.kind === 'replay') {
      return json(201, paymentResponse(req, pis, pis.current(pis.payments.get(seen.resourceId)!)));
    }
    const consent = own(pis.consents.get(body.Data.ConsentId), token.clientId, 'Data.ConsentId');
    if (canonical(body.Data.Initiation) !== canonical(consent.Data.Initiation)) {
      throw fail(
        400,
        'UK.OBIE.Resource.ConsentMismatch',
        'The Initiation differs from the consent.',
        'Data.Initiation',
      );
    }
    if (canonical(body.Risk) !== canonical(consent.Risk)) {
      throw fail(400, 'UK.OBIE.Resource.ConsentMismatch', 'The Risk differs from the consent.', 'Risk');
    }
    if (consent.Status !== 'Authorised') {
      throw fail(
        403,
        'UK.OBIE.Resource.InvalidConsentStatus',
        `The consent is ${consent.Status}.`,
        'Data.ConsentId',
      );
    }
    const payment = pis.execute(consent, key);
    pis.rememberKey(token.clientId, 'domestic-payments', key, fingerprint, payment.DomesticPaymentId);
    return json(201, paymentResponse(req, pis, payment));
  };
}

/**
 * The customer's answer at the bank for a payment consent. They must hold the DebtorAccount the
 * consent names (or, without one, an account in its currency), else the bank rejects the consent.
 * A consent the same customer already approved is approved again: the stand-in for a TPP that lost
 * its token sending the customer back, which is what lets a retried payment replay its key.
 */
export function approvePaymentConsent(
  state: SandboxState,
  pis: PisState,
  consent: PaymentConsent,
  psuId: string,
  decision: 'approve' | 'reject',
): Reply {
  if (!state.bank.byPsu.has(psuId)) return json(404, { error: 'unknown customer' });
  if (consent.Status === 'Authorised' || consent.Status === 'Consumed') {
    if (consent.psuId !== psuId) return json(409, { error: `consent is ${consent.Status}` });
    return json(200, { code: state.newCode(consent.clientId, consent.ConsentId) });
  }
  if (consent.Status !== 'AwaitingAuthorisation') return json(409, { error: `consent is ${consent.Status}` });
  const debtor = decision === 'approve' ? pis.debtorFor(consent, psuId) : null;
  if (!debtor) {
    pis.setConsentStatus(consent, 'Rejected');
    const description =
      decision === 'reject' ? 'the customer declined' : 'the customer holds no such account';
    return json(403, { error: 'access_denied', error_description: description });
  }
  consent.psuId = psuId;
  consent.debtorAccountId = debtor.account.AccountId;
  pis.setConsentStatus(consent, 'Authorised');
  return json(200, { code: state.newCode(consent.clientId, consent.ConsentId) });
}

/**
 * Registers the Payment Initiation routes and the payment control route; `clients` are the keys each
 * TPP signs its payment requests with.
 */
export function registerPaymentRoutes(
  router: Router,
  state: SandboxState,
  pis: PisState,
  clients: ClientKeys,
): void {
  const consents = `${PISP_BASE}/domestic-payment-consents`;
  const payments = `${PISP_BASE}/domestic-payments`;
  const payment = (req: SandboxRequest) => {
    const token = paymentsToken(req, state, 'client');
    return pis.current(
      own(pis.payments.get(req.params.DomesticPaymentId ?? ''), token.clientId, 'DomesticPaymentId'),
    );
  };
  router.on('POST', consents, createConsent(state, pis, clients));
  router.on('GET', `${consents}/{ConsentId}`, (req) => {
    const token = paymentsToken(req, state, 'client');
    return json(
      200,
      consentResponse(req, own(pis.consents.get(req.params.ConsentId ?? ''), token.clientId, 'ConsentId')),
    );
  });
  router.on('POST', payments, createPayment(state, pis, clients));
  router.on('GET', `${payments}/{DomesticPaymentId}`, (req) =>
    json(200, paymentResponse(req, pis, payment(req))),
  );
  router.on('GET', `${payments}/{DomesticPaymentId}/payment-details`, (req) =>
    json(200, detailsResponse(req, payment(req))),
  );
  router.on('POST', '/__sandbox/domestic-payments/{DomesticPaymentId}/status', (req) => {
    const found = pis.payments.get(req.params.DomesticPaymentId ?? '');
    if (!found) return json(404, { error: 'unknown payment' });
    let parsed;
    try {
      parsed = statusControlSchema.safeParse(readJson(req));
    } catch {
      parsed = null;
    }
    if (!parsed?.success) return json(400, { error: 'Status must be a domestic payment status' });
    return json(200, paymentResponse(req, pis, pis.force(found, parsed.data.Status)));
  });
}
