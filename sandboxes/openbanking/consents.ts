/**
 * Account-access consents (client-credentials token): create (OBReadConsent1 -> OBReadConsentResponse1,
 * status AwaitingAuthorisation), read, delete; plus the sandbox-only POST /__sandbox/authorise that
 * stands in for the customer approving the consent at the bank and returns an authorisation code
 * (payment consents included: pis.ts decides those). The faithful journey is journey.ts.
 */
import { z } from 'zod';
import { json, readJson, empty, type Reply, type Router, type SandboxRequest } from '../kit/sandbox.js';
import { requireToken } from './guards.js';
import { approvePaymentConsent } from './pis.js';
import type { Consent, SandboxState } from './state.js';
import { AISP_BASE, obDateTime, ObFailure, obError, PERMISSIONS } from './wire.js';

const dateTime = z.iso.datetime({ offset: true });

/** OBReadConsent1, strict like the spec (additionalProperties: false). */
const readConsentSchema = z
  .object({
    Data: z
      .object({
        Permissions: z.array(z.enum(PERMISSIONS)).min(1),
        ExpirationDateTime: dateTime.optional(),
        TransactionFromDateTime: dateTime.optional(),
        TransactionToDateTime: dateTime.optional(),
      })
      .strict(),
    Risk: z.object({}).strict(),
  })
  .strict();

const authoriseSchema = z.object({
  ConsentId: z.string().min(1),
  psuId: z.string().min(1),
  /** The customer's answer; a payment consent can be declined (default approve). */
  decision: z.enum(['approve', 'reject']).default('approve'),
});

function consentResponse(req: SandboxRequest, consent: Consent) {
  const data: Record<string, unknown> = {
    ConsentId: consent.ConsentId,
    CreationDateTime: consent.CreationDateTime,
    Status: consent.Status,
    StatusUpdateDateTime: consent.StatusUpdateDateTime,
    Permissions: consent.Permissions,
  };
  for (const key of ['ExpirationDateTime', 'TransactionFromDateTime', 'TransactionToDateTime'] as const) {
    if (consent[key] !== undefined) data[key] = consent[key];
  }
  const self = `${req.origin}${AISP_BASE}/account-access-consents/${consent.ConsentId}`;
  return { Data: data, Risk: {}, Links: { Self: self }, Meta: { TotalPages: 1 } };
}

function invalid(path: string, message: string, code = 'UK.OBIE.Field.Invalid'): ObFailure {
  return new ObFailure(obError(400, code, message, path));
}

/** The OB rule that transaction permissions come in pairs: what to read, and which direction. */
function checkPermissionPairs(permissions: readonly string[]): void {
  const detail = permissions.some((p) => p === 'ReadTransactionsBasic' || p === 'ReadTransactionsDetail');
  const direction = permissions.some(
    (p) => p === 'ReadTransactionsCredits' || p === 'ReadTransactionsDebits',
  );
  if (detail !== direction) {
    throw invalid(
      'Data.Permissions',
      'ReadTransactionsBasic/Detail must be requested with ReadTransactionsCredits and/or ReadTransactionsDebits.',
    );
  }
}

function ownConsent(req: SandboxRequest, state: SandboxState, clientId: string): Consent {
  const consent = state.consents.get(req.params.ConsentId ?? '');
  // Another client's consent is answered exactly like an unknown one.
  if (!consent || consent.clientId !== clientId) {
    throw new ObFailure(obError(400, 'UK.OBIE.Resource.NotFound', 'No such consent.', 'ConsentId'));
  }
  return consent;
}

function createConsent(state: SandboxState) {
  return (req: SandboxRequest): Reply => {
    const token = requireToken(req, state, 'client');
    let body: unknown;
    try {
      body = readJson(req);
    } catch {
      throw invalid('(body)', 'The body is not valid JSON.', 'UK.OBIE.Resource.InvalidFormat');
    }
    const parsed = readConsentSchema.safeParse(body);
    if (!parsed.success) {
      const issue = parsed.error.issues[0];
      const path = issue?.path.join('.') || '(body)';
      const missing = issue?.code === 'invalid_type' && issue.message.includes('undefined');
      throw invalid(
        path,
        issue?.message ?? 'Invalid body.',
        missing ? 'UK.OBIE.Field.Missing' : 'UK.OBIE.Field.Invalid',
      );
    }
    const data = parsed.data.Data;
    checkPermissionPairs(data.Permissions);
    if (data.ExpirationDateTime && Date.parse(data.ExpirationDateTime) <= state.now()) {
      throw invalid(
        'Data.ExpirationDateTime',
        'ExpirationDateTime must be in the future.',
        'UK.OBIE.Field.InvalidDate',
      );
    }
    const now = obDateTime(new Date(state.now()));
    const consent: Consent = {
      ConsentId: state.newConsentId(),
      clientId: token.clientId,
      Status: 'AwaitingAuthorisation',
      Permissions: [...new Set(data.Permissions)],
      CreationDateTime: now,
      StatusUpdateDateTime: now,
      ...(data.ExpirationDateTime ? { ExpirationDateTime: data.ExpirationDateTime } : {}),
      ...(data.TransactionFromDateTime ? { TransactionFromDateTime: data.TransactionFromDateTime } : {}),
      ...(data.TransactionToDateTime ? { TransactionToDateTime: data.TransactionToDateTime } : {}),
      psuId: null,
      accountIds: [],
    };
    state.consents.set(consent.ConsentId, consent);
    return json(201, consentResponse(req, consent));
  };
}

function authorise(state: SandboxState) {
  return (req: SandboxRequest): Reply => {
    const parsed = authoriseSchema.safeParse(readJson(req));
    if (!parsed.success) return json(400, { error: 'ConsentId and psuId are required' });
    const payment = state.pis?.consents.get(parsed.data.ConsentId);
    if (payment && state.pis) {
      return approvePaymentConsent(state, state.pis, payment, parsed.data.psuId, parsed.data.decision);
    }
    const consent = state.consents.get(parsed.data.ConsentId);
    if (!consent) return json(404, { error: 'unknown consent' });
    if (consent.Status !== 'AwaitingAuthorisation') {
      return json(409, { error: `consent is ${consent.Status}` });
    }
    if (!authoriseAccountConsent(state, consent, parsed.data.psuId)) {
      return json(404, { error: 'unknown customer' });
    }
    return json(200, { code: state.newCode(consent.clientId, consent.ConsentId) });
  };
}

/**
 * The customer's approval at the bank: the consent becomes Authorised for the PSU's accounts. False,
 * and nothing changes, when the bank does not know the PSU. Shared by /__sandbox/authorise and the
 * authorisation endpoint (journey.ts).
 */
export function authoriseAccountConsent(state: SandboxState, consent: Consent, psuId: string): boolean {
  const accountIds = state.bank.byPsu.get(psuId);
  if (!accountIds) return false;
  setStatus(state, consent, 'Authorised');
  consent.psuId = psuId;
  consent.accountIds = [...accountIds];
  return true;
}

/** Moves a consent to a new status, stamping StatusUpdateDateTime on the sandbox clock. */
export function setStatus(state: SandboxState, consent: Consent, status: Consent['Status']): void {
  consent.Status = status;
  consent.StatusUpdateDateTime = obDateTime(new Date(state.now()));
}

/** Registers the consent routes and the sandbox-only authorisation step. */
export function registerConsentRoutes(router: Router, state: SandboxState): void {
  const base = `${AISP_BASE}/account-access-consents`;
  router.on('POST', base, createConsent(state));
  router.on('GET', `${base}/{ConsentId}`, (req) => {
    const token = requireToken(req, state, 'client');
    return json(200, consentResponse(req, ownConsent(req, state, token.clientId)));
  });
  // OB v3.1: the AISP's DELETE deletes the resource, whatever its status (Revoked is for a PSU who
  // revokes at the bank). It is then unknown: a second DELETE or a GET answers 400 Resource.NotFound.
  router.on('DELETE', `${base}/{ConsentId}`, (req) => {
    const token = requireToken(req, state, 'client');
    const consent = ownConsent(req, state, token.clientId);
    state.consents.delete(consent.ConsentId);
    state.revokeConsentTokens(consent.ConsentId);
    return empty(204);
  });
  router.on('POST', '/__sandbox/authorise', authorise(state));
}
