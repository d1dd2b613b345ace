/**
 * Message signing, the bank's side (Read/Write API profile, "Message Signing"): a detached JWS in
 * `x-jws-signature` over the exact body bytes, PS256, with the OB header claims.
 *
 * - Answers. Every Payment Initiation answer with a body is signed with the bank's key (the spec
 *   declares the header on 200, 201, 400, 403 and 500 of each domestic-payment endpoint). The key is
 *   generated when the sandbox starts; its public half is published, with the keys it replaced, at
 *   `GET /__sandbox/openbanking/jwks.json`, the stand-in for the bank's key set in the OB Directory key
 *   store. `POST /__sandbox/openbanking/jwks/rotate` makes a new current key (`{ "retire": true }`
 *   also drops the old ones from the set).
 * - Requests. POST /domestic-payment-consents and POST /domestic-payments must carry the TPP's
 *   signature; it is checked against the keys registered for the calling client (the bank reads them
 *   from the TPP's software statement) and refused with 400 and the profile's codes:
 *   UK.OBIE.Signature.Missing, .Malformed, .MissingClaim, .InvalidClaim (Path names the claim) and
 *   .Invalid (the signature does not verify).
 *
 * The header: alg PS256, kid, b64 false (RFC 7797: the body is signed as it is, not base64url
 * encoded), typ JOSE, cty application/json, and the three OB claims (iat, iss, tan), all named in
 * crit. Written from the profile on its own, not shared with the client, so the two sides check
 * each other.
 */
import { createPublicKey } from 'node:crypto';
import {
  calculateJwkThumbprint,
  exportJWK,
  FlattenedSign,
  flattenedVerify,
  generateKeyPair,
  importJWK,
  type CryptoKey,
  type JWK,
} from 'jose';
import { json, type Reply, type Router, type SandboxRequest } from '../kit/sandbox.js';
import type { Ledger } from '../kit/ledger.js';
import { ObFailure, obError } from './wire.js';

/** Who the sandbox bank signs as (`http://openbanking.org.uk/iss`: an ASPSP's org id). */
export const OB_SANDBOX_ORG_ID = 'tributary-sandbox-bank';
/** The trust anchor the keys are lodged with (`http://openbanking.org.uk/tan`). */
export const OB_TRUST_ANCHOR = 'openbanking.org.uk';
/** Where the sandbox publishes its signing keys. */
export const OB_SANDBOX_JWKS_PATH = '/__sandbox/openbanking/jwks.json';

const IAT = 'http://openbanking.org.uk/iat';
const ISS = 'http://openbanking.org.uk/iss';
const TAN = 'http://openbanking.org.uk/tan';
const CRIT = ['b64', IAT, ISS, TAN];
const CLAIMS = new Set(['alg', 'kid', 'b64', 'typ', 'cty', 'crit', IAT, ISS, TAN]);
/** A request signed further ahead of the bank's clock than this is refused. */
const IAT_SKEW_SECONDS = 60;

/** The keys a TPP signs its requests with, as the bank knows them: who it signs as, its public keys. */
export interface ClientSigningKeys {
  /** The `http://openbanking.org.uk/iss` its requests must carry. */
  issuer: string;
  keys: JWK[];
}

interface SigningKey {
  kid: string;
  privateKey: CryptoKey;
  publicJwk: JWK;
}

/** The public JWK of an RSA key in PEM (a private key or a public key), for registering a TPP. */
export async function publicJwkOf(pem: string): Promise<JWK> {
  const jwk = (await exportJWK(createPublicKey(pem))) as JWK;
  return { ...jwk, kid: await calculateJwkThumbprint(jwk), use: 'sig', alg: 'PS256' };
}

/** The bank's signing keys: the current one signs, the set publishes it and the ones it replaced. */
export class BankSigningKeys {
  private keys: SigningKey[] = [];

  private constructor(private readonly now: () => number) {}

  /** A set with one fresh key; `kid` overrides its key id (default: its RFC 7638 thumbprint). */
  static async create(now: () => number, kid?: string): Promise<BankSigningKeys> {
    const set = new BankSigningKeys(now);
    await set.rotate(false, kid);
    return set;
  }

  /** A new current key; `retire` drops the older ones from the published set. */
  async rotate(retire: boolean, kid?: string): Promise<string> {
    const { privateKey, publicKey } = await generateKeyPair('PS256', { extractable: true });
    const jwk = await exportJWK(publicKey);
    const id = kid ?? (await calculateJwkThumbprint(jwk));
    const key = { kid: id, privateKey, publicJwk: { ...jwk, kid: id, use: 'sig', alg: 'PS256' } };
    this.keys = retire ? [key] : [key, ...this.keys.filter((old) => old.kid !== id)];
    return id;
  }

  /** The JWK Set the client fetches. */
  jwks(): { keys: JWK[] } {
    return { keys: this.keys.map((key) => ({ ...key.publicJwk })) };
  }

  /** `<protected>..<signature>`: the detached JWS of `body` with the current key. */
  async sign(body: Uint8Array): Promise<string> {
    const key = this.keys[0]!;
    const jws = await new FlattenedSign(body)
      .setProtectedHeader({
        alg: 'PS256',
        kid: key.kid,
        b64: false,
        crit: CRIT,
        typ: 'JOSE',
        cty: 'application/json',
        [IAT]: Math.floor(this.now() / 1000),
        [ISS]: OB_SANDBOX_ORG_ID,
        [TAN]: OB_TRUST_ANCHOR,
      })
      .sign(key.privateKey, { crit: { [IAT]: true, [ISS]: true, [TAN]: true } });
    return `${jws.protected}..${jws.signature}`;
  }
}

/** The key store routes: the JWK Set (counted in the ledger, so tests see the fetches) and rotation. */
export function registerSigningRoutes(router: Router, keys: BankSigningKeys, ledger: Ledger): void {
  router.on('GET', OB_SANDBOX_JWKS_PATH, () => {
    ledger.count(`GET ${OB_SANDBOX_JWKS_PATH}`);
    return json(200, keys.jwks(), { 'cache-control': 'max-age=300' });
  });
  router.on('POST', '/__sandbox/openbanking/jwks/rotate', async (req) => {
    let retire = false;
    try {
      retire = (JSON.parse(req.rawBody.toString('utf8') || '{}') as { retire?: unknown }).retire === true;
    } catch {
      return json(400, { error: 'body is not JSON' });
    }
    return json(200, { kid: await keys.rotate(retire), keys: keys.jwks().keys.length });
  });
}

function refuse(code: string, message: string, path = 'x-jws-signature'): ObFailure {
  return new ObFailure(obError(400, `UK.OBIE.Signature.${code}`, message, path));
}

/**
 * Checks the TPP's detached JWS over the request body, as the profile's verification steps say;
 * throws the OB error answer when it is missing or does not hold.
 */
export async function verifyRequestSignature(
  req: SandboxRequest,
  client: ClientSigningKeys | undefined,
  now: () => number,
): Promise<void> {
  const value = req.header('x-jws-signature');
  if (!value) throw refuse('Missing', 'The request must be signed (x-jws-signature).');
  const parts = value.split('.');
  let header: Record<string, unknown>;
  try {
    if (parts.length !== 3 || parts[1] !== '' || !parts[0] || !parts[2]) throw new Error('shape');
    header = JSON.parse(Buffer.from(parts[0], 'base64url').toString('utf8')) as Record<string, unknown>;
    if (typeof header !== 'object' || header === null || Array.isArray(header)) throw new Error('header');
  } catch {
    throw refuse('Malformed', 'x-jws-signature is not a detached JWS (<protected>..<signature>).');
  }
  for (const claim of ['alg', 'kid', 'crit', IAT, ISS, TAN]) {
    if (header[claim] === undefined) throw refuse('MissingClaim', `The JOSE header has no ${claim}.`, claim);
  }
  const invalid = (claim: string, why: string) => refuse('InvalidClaim', `${claim}: ${why}`, claim);
  const unknown = Object.keys(header).find((claim) => !CLAIMS.has(claim));
  if (unknown) throw invalid(unknown, 'not a claim of the OB profile');
  if (header.alg !== 'PS256') throw invalid('alg', 'must be PS256');
  if (header.typ !== undefined && header.typ !== 'JOSE') throw invalid('typ', 'must be JOSE');
  if (header.cty !== undefined && header.cty !== 'application/json' && header.cty !== 'json')
    throw invalid('cty', 'must be application/json');
  const b64 = header.b64;
  if (b64 !== undefined && b64 !== false) throw invalid('b64', 'must be false when present');
  const crit = header.crit;
  const expected = b64 === false ? CRIT : CRIT.slice(1);
  if (!Array.isArray(crit) || crit.length !== expected.length || !expected.every((c) => crit.includes(c)))
    throw invalid('crit', `must name exactly ${expected.join(', ')}`);
  const iat = header[IAT];
  if (typeof iat !== 'number' || !Number.isFinite(iat) || iat > now() / 1000 + IAT_SKEW_SECONDS)
    throw invalid(IAT, 'must be a time in the past');
  if (!client || header[ISS] !== client.issuer) throw invalid(ISS, 'not the TPP this client is');
  if (header[TAN] !== OB_TRUST_ANCHOR) throw invalid(TAN, `must be ${OB_TRUST_ANCHOR}`);
  const jwk = client.keys.find((key) => key.kid === header.kid);
  if (!jwk) throw invalid('kid', "no such key among the TPP's signing keys");
  const key = await importJWK({ ...jwk, alg: 'PS256' }, 'PS256');
  try {
    await flattenedVerify(
      {
        protected: parts[0]!,
        payload: b64 === false ? req.rawBody : req.rawBody.toString('base64url'),
        signature: parts[2]!,
      },
      key,
      { algorithms: ['PS256'], crit: { [IAT]: true, [ISS]: true, [TAN]: true } },
    );
  } catch {
    throw refuse('Invalid', 'The signature does not verify over the request body.');
  }
}

/** The `tamper` fault: the answer keeps its shape but names another status than the one signed. */
export function forgeStatus(body: unknown): unknown {
  const data = (body as { Data?: Record<string, unknown> } | null)?.Data;
  if (!data) return body;
  const swap: Readonly<Record<string, string>> = {
    AwaitingAuthorisation: 'Authorised',
    Authorised: 'Rejected',
    Consumed: 'Authorised',
    Rejected: 'Authorised',
    Pending: 'AcceptedSettlementCompleted',
    AcceptedSettlementInProcess: 'AcceptedSettlementCompleted',
    AcceptedSettlementCompleted: 'Rejected',
    AcceptedCreditSettlementCompleted: 'Rejected',
    AcceptedWithoutPosting: 'AcceptedSettlementCompleted',
  };
  if (typeof data.Status === 'string') data.Status = swap[data.Status] ?? data.Status;
  const first = (data.PaymentStatus as { Status?: string }[] | undefined)?.[0];
  if (first?.Status) first.Status = swap[first.Status] ?? 'Rejected';
  return body;
}

/** An answer's signing headers, for the kit's `sign` hook: Payment Initiation answers with a body. */
export function signingHook(keys: BankSigningKeys, isSigned: (req: SandboxRequest) => boolean) {
  return async (req: SandboxRequest, _reply: Reply, body: Buffer) =>
    isSigned(req) && body.length > 0 ? { 'x-jws-signature': await keys.sign(body) } : null;
}
