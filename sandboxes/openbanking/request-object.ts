/**
 * The OIDC request object of an authorisation request (OIDC Core section 6.1), signed HS256 with the
 * client's secret (section 10.1, symmetric signing). It is what vouches for the redirect_uri (the
 * sandbox registers none) and what carries the Open Banking intent: the ConsentId the customer is
 * asked about, as the essential claim `openbanking_intent_id` of the id_token or userinfo.
 */
import { errors, jwtVerify } from 'jose';
import { z } from 'zod';

const intentRequest = z.object({ openbanking_intent_id: z.object({ value: z.string().min(1) }).optional() });

const requestObjectSchema = z.object({
  iss: z.string().optional(),
  client_id: z.string().min(1),
  redirect_uri: z.string().min(1),
  claims: z.object({ id_token: intentRequest.optional(), userinfo: intentRequest.optional() }),
});

/** What the sandbox takes from a verified request object. */
export interface RequestObject {
  clientId: string;
  redirectUri: string;
  intentId: string;
}

/** The verified request object, or why it cannot be trusted. */
export async function verifyRequestObject(
  jwt: string,
  secret: string,
  now: number,
): Promise<{ ok: true; value: RequestObject } | { ok: false; reason: string }> {
  let payload: unknown;
  try {
    const key = new TextEncoder().encode(secret);
    // The sandbox clock decides exp/nbf, like every other expiry of the sandbox.
    ({ payload } = await jwtVerify(jwt, key, { algorithms: ['HS256'], currentDate: new Date(now) }));
  } catch (error) {
    const reason = error instanceof errors.JOSEError ? error.code : 'malformed';
    return { ok: false, reason: `the request object does not verify (${reason})` };
  }
  const parsed = requestObjectSchema.safeParse(payload);
  if (!parsed.success) {
    return { ok: false, reason: 'the request object lacks client_id, redirect_uri or claims' };
  }
  const { iss, client_id, redirect_uri, claims } = parsed.data;
  if (iss !== undefined && iss !== client_id) return { ok: false, reason: 'iss is not the client_id' };
  const fromIdToken = claims.id_token?.openbanking_intent_id?.value;
  const fromUserinfo = claims.userinfo?.openbanking_intent_id?.value;
  const intentId = fromIdToken ?? fromUserinfo;
  if (!intentId) return { ok: false, reason: 'the request object names no openbanking_intent_id' };
  if (fromIdToken && fromUserinfo && fromIdToken !== fromUserinfo) {
    return { ok: false, reason: 'id_token and userinfo name different openbanking_intent_id values' };
  }
  return { ok: true, value: { clientId: client_id, redirectUri: redirect_uri, intentId } };
}
