/**
 * Raw Payment Initiation calls for the Open Banking sandbox suites, over mutual TLS with the shared
 * local CA set: the wire format spoken directly, so the sandbox is checked on its own terms. Payment
 * POSTs are signed as a TPP signs them (a detached JWS with the OB claims, made here with jose, not
 * with Tributary's client), with the local set's signing key, which the sandbox trusts for every
 * registered client; `unsigned` or an explicit x-jws-signature header leaves that out.
 */
import { createPrivateKey } from 'node:crypto';
import { FlattenedSign } from 'jose';
import { Agent, request } from 'undici';
import { sharedSandboxTls } from '../../sandboxes/certs.js';
import type { SandboxHandle } from '../../sandboxes/kit/sandbox.js';
import {
  authoriseInSandbox,
  OB_TRUST_ANCHOR,
  publicJwkOf,
  OB_SANDBOX_CLIENT_ID,
  OB_SANDBOX_CLIENT_SECRET,
  PISP_BASE,
  startOpenBankingSandbox,
  type OpenBankingSandboxOptions,
} from '../../sandboxes/openbanking/index.js';

export const BASIC = basic(OB_SANDBOX_CLIENT_ID, OB_SANDBOX_CLIENT_SECRET);
/** A second registered client (sandboxes started with OTHER_CLIENT). */
export const OTHER_CLIENT = { 'other-tpp': 'other-tpp-secret-0123456789' };
export const OTHER_BASIC = basic('other-tpp', OTHER_CLIENT['other-tpp']);

export function basic(id: string, secret: string): string {
  return `Basic ${Buffer.from(`${id}:${secret}`).toString('base64')}`;
}

/** Alice's everyday account (available 376.55 GBP) and a creditor. */
export const ALICE_CURRENT = {
  SchemeName: 'UK.OBIE.SortCodeAccountNumber',
  Identification: '40400412345678',
};
export const CREDITOR = {
  SchemeName: 'UK.OBIE.SortCodeAccountNumber',
  Identification: '60161331926819',
  Name: 'ACME Supplies Ltd',
};

export interface Answer {
  status: number;
  headers: Record<string, string>;
  body: unknown;
  /** The body bytes as they arrived (what the bank signed). */
  raw: Buffer;
}

type Init = { token?: string; headers?: Record<string, string>; body?: unknown; unsigned?: boolean };

const OB = 'http://openbanking.org.uk/';

/** A TPP's detached JWS of `body`: PS256, b64 false, the OB claims in crit. */
export async function tppSignature(
  body: string,
  pem: string,
  claims: { kid: string; iss: string; iat?: number },
): Promise<string> {
  const jws = await new FlattenedSign(Buffer.from(body, 'utf8'))
    .setProtectedHeader({
      alg: 'PS256',
      kid: claims.kid,
      b64: false,
      crit: ['b64', `${OB}iat`, `${OB}iss`, `${OB}tan`],
      typ: 'JOSE',
      cty: 'application/json',
      [`${OB}iat`]: claims.iat ?? Math.floor(Date.now() / 1000) - 1,
      [`${OB}iss`]: claims.iss,
      [`${OB}tan`]: OB_TRUST_ANCHOR,
    })
    .sign(createPrivateKey(pem), { crit: { [`${OB}iat`]: true, [`${OB}iss`]: true, [`${OB}tan`]: true } });
  return `${jws.protected}..${jws.signature}`;
}

/** An OBWriteDomesticConsent4 body; `amount` in GBP. */
export function consentBody(amount = '25.00', extra: Record<string, unknown> = {}) {
  return {
    Data: {
      Initiation: {
        InstructionIdentification: 'INSTR-0001',
        EndToEndIdentification: 'E2E-0001',
        InstructedAmount: { Amount: amount, Currency: 'GBP' },
        DebtorAccount: ALICE_CURRENT,
        CreditorAccount: CREDITOR,
        RemittanceInformation: { Reference: 'Invoice 42' },
        ...extra,
      },
    },
    Risk: { PaymentContextCode: 'PartyToParty', MerchantCustomerIdentification: 'subject-hash' },
  };
}

/** The OBWriteDomestic2 body for a consent body and its ConsentId. */
export function paymentBody(consent: ReturnType<typeof consentBody>, consentId: string) {
  return { Data: { ConsentId: consentId, Initiation: consent.Data.Initiation }, Risk: consent.Risk };
}

/** A mutual-TLS Open Banking sandbox and wire helpers bound to it. */
export async function startPisSandbox(options: OpenBankingSandboxOptions = {}) {
  const tls = await sharedSandboxTls();
  const signingJwk = await publicJwkOf(tls.signingKey);
  const clientIds = [OB_SANDBOX_CLIENT_ID, ...Object.keys(options.clients ?? {})];
  const sandbox = await startOpenBankingSandbox({
    tls: { ca: tls.ca, ...tls.server },
    clientSigningKeys: Object.fromEntries(clientIds.map((id) => [id, { issuer: id, keys: [signingJwk] }])),
    ...options,
  });
  const clientTls = { ca: tls.ca, ...tls.client };
  const agent = new Agent({ connect: clientTls });
  /** Which client each token was issued to, so a request is signed as that client. */
  const issuedTo = new Map<string, string>();

  async function call(method: string, path: string, init: Init = {}): Promise<Answer> {
    const headers: Record<string, string> = { ...init.headers };
    if (init.token) headers.authorization = `Bearer ${init.token}`;
    if (init.body !== undefined && typeof init.body !== 'string')
      headers['content-type'] = 'application/json';
    const body =
      init.body === undefined
        ? undefined
        : typeof init.body === 'string'
          ? init.body
          : JSON.stringify(init.body);
    const payment = method === 'POST' && path.startsWith(PISP_BASE);
    if (payment && body !== undefined && !init.unsigned && headers['x-jws-signature'] === undefined) {
      const iss = (init.token && issuedTo.get(init.token)) ?? OB_SANDBOX_CLIENT_ID;
      // Signed at the bank's time: the sandbox checks iat on its own clock.
      const iat = Math.floor((options.now ?? Date.now)() / 1000) - 1;
      headers['x-jws-signature'] = await tppSignature(body, tls.signingKey, {
        kid: signingJwk.kid!,
        iss,
        iat,
      });
    }
    const res = await request(`${sandbox.url}${path}`, {
      method: method as 'GET',
      headers,
      body,
      dispatcher: agent,
    });
    const raw = Buffer.from(await res.body.arrayBuffer());
    const text = raw.toString('utf8');
    const flat = Object.fromEntries(Object.entries(res.headers).map(([k, v]) => [k, [v].flat().join(', ')]));
    return { status: res.statusCode, headers: flat, body: text ? JSON.parse(text) : undefined, raw };
  }

  async function clientToken(scope = 'payments', basic = BASIC): Promise<string> {
    const answer = await call('POST', '/token', {
      headers: { authorization: basic, 'content-type': 'application/x-www-form-urlencoded' },
      body: `grant_type=client_credentials&scope=${encodeURIComponent(scope)}`,
    });
    const token = (answer.body as { access_token: string }).access_token;
    const clientId = Buffer.from(basic.slice('Basic '.length), 'base64').toString('utf8').split(':')[0]!;
    issuedTo.set(token, clientId);
    return token;
  }

  const createConsent = async (body: unknown, key: string, token?: string) =>
    call('POST', `${PISP_BASE}/domestic-payment-consents`, {
      token: token ?? (await clientToken()),
      headers: { 'x-idempotency-key': key },
      body,
    });

  /** The customer approves (or declines) at the bank, then the code becomes a payments token. */
  async function psuToken(consentId: string, psuId = 'cust_alice'): Promise<string> {
    const code = await authoriseInSandbox(sandbox.url, consentId, psuId, { tls: clientTls });
    const answer = await call('POST', '/token', {
      headers: { authorization: BASIC, 'content-type': 'application/x-www-form-urlencoded' },
      body: `grant_type=authorization_code&code=${code}`,
    });
    return (answer.body as { access_token: string }).access_token;
  }

  const submit = (token: string, body: unknown, key: string) =>
    call('POST', `${PISP_BASE}/domestic-payments`, { token, headers: { 'x-idempotency-key': key }, body });

  /** Consent -> approval -> payment, as a TPP would; returns every answer. */
  async function pay(amount = '25.00', key = `key-${Math.random().toString(36).slice(2)}`) {
    const body = consentBody(amount);
    const consent = await createConsent(body, `c-${key}`);
    const consentId = (consent.body as { Data: { ConsentId: string } }).Data.ConsentId;
    const token = await psuToken(consentId);
    const payment = await submit(token, paymentBody(body, consentId), key);
    return { body, consent, consentId, token, payment, key };
  }

  return {
    sandbox: sandbox as SandboxHandle,
    tls,
    signingJwk,
    clientTls,
    call,
    clientToken,
    createConsent,
    psuToken,
    submit,
    pay,
    async close() {
      await agent.close();
      await sandbox.close();
    },
  };
}

export type PisSandbox = Awaited<ReturnType<typeof startPisSandbox>>;

/** The Data of an answer. */
export function data<T = Record<string, unknown>>(answer: Answer): T {
  return (answer.body as { Data: T }).Data;
}

/** The first OB error code of an answer. */
export function errorCode(answer: Answer): string | undefined {
  return (answer.body as { Errors?: { ErrorCode: string }[] } | undefined)?.Errors?.[0]?.ErrorCode;
}
