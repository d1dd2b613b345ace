/**
 * Open Banking message signing, our side (Read/Write API profile, "Message Signing"): a detached JWS
 * in `x-jws-signature` over the exact body bytes, PS256, with the OB header claims
 * (`http://openbanking.org.uk/iat`, `/iss`, `/tan`, all named in `crit`).
 *
 * - Answers (AnswerVerifier). Every Payment Initiation answer the client acts on must be signed by
 *   the bank. The signature is checked over the raw body bytes, before the body is parsed, against
 *   the bank's published keys (its JWK Set at OPENBANKING_JWKS_URL; BankKeys caches it and fetches it
 *   again for a kid it does not know, at most once per cooldown). The header must hold the profile's
 *   claims and no others: alg PS256, a kid, typ JOSE and cty application/json when present, iat not
 *   in the future beyond the clock tolerance, iss the bank (OPENBANKING_JWS_ISSUER, when set), tan a
 *   trust anchor we trust, crit naming exactly the OB claims (and b64 when the payload is unencoded,
 *   `b64: false`; both forms are accepted, banks use either since v3.1.4). An unsigned, malformed,
 *   tampered or wrongly keyed answer is PARTNER_CONTRACT_VIOLATION (never retried) whose partnerCode
 *   is the profile's code for it (UK.OBIE.Signature.Missing, .Malformed, .MissingClaim,
 *   .InvalidClaim, .Invalid) and whose issue says what is wrong; nothing in it is used.
 * - Requests (RequestSigner). Payment requests are signed with our key (OPENBANKING_SIGNING_KEY), with
 *   `b64: false`, its kid and who we sign as.
 */
import { createPrivateKey, createPublicKey, type KeyObject } from 'node:crypto';
import { readFileSync } from 'node:fs';
import {
  calculateJwkThumbprint,
  FlattenedSign,
  flattenedVerify,
  importJWK,
  type CryptoKey,
  type JWK,
} from 'jose';
import { z } from 'zod';
import { PartnerError } from '../../domain/errors.js';
import { reportViolation, type ViolationCall } from '../contract.js';
import type { PartnerHttp, RawAnswer } from '../http.js';
import type { PartnerSigning } from '../module.js';

const IAT = 'http://openbanking.org.uk/iat';
const ISS = 'http://openbanking.org.uk/iss';
const TAN = 'http://openbanking.org.uk/tan';
const OB_CLAIMS = [IAT, ISS, TAN];
/** Every claim the profile allows in the JOSE header; anything else is refused. */
const ALLOWED = new Set(['alg', 'kid', 'b64', 'typ', 'cty', 'crit', ...OB_CLAIMS]);
/** The Open Banking Directory, the trust anchor of UK Open Banking keys. */
export const OB_DIRECTORY_TRUST_ANCHOR = 'openbanking.org.uk';

/** What signing with the bank needs: its keys and name, and ours. */
export interface OpenBankingSigning {
  /** The bank's JWK Set; null: none configured, so no payment answer can be trusted. */
  jwksUrl: string | null;
  /** The bank's `http://openbanking.org.uk/iss` (its organisation id); null: any. */
  issuer: string | null;
  /** Our request-signing key (PEM private key, RSA); null: requests go out unsigned. */
  key: { pem: string; kid: string | null; issuer: string | null } | null;
  /** Trust anchors accepted in `tan`. Default the OB Directory's, openbanking.org.uk. */
  trustAnchors?: readonly string[];
  /** Seconds an `iat` may be ahead of our clock. Default 60. */
  clockToleranceSeconds?: number;
  /** The shortest time between two fetches of the JWK Set for an unknown kid. Default 10 s. */
  refetchCooldownMs?: number;
  /** How long a fetched JWK Set is used before it is fetched again. Default 10 min. */
  keysMaxAgeMs?: number;
}

const jwksSchema = z.object({
  keys: z.array(z.looseObject({ kty: z.string(), kid: z.string().optional(), use: z.string().optional() })),
});

/** Fetches the bank's JWK Set (a GET on the key store, outside the bank's call policy). */
export function jwksFetcher(http: PartnerHttp, url: string) {
  return async (call: ViolationCall & { correlationId: string }): Promise<JWK[]> => {
    const res = await http.request({
      method: 'GET',
      path: url,
      endpoint: 'GET /jwks',
      schema: jwksSchema,
      auth: null,
      correlationId: call.correlationId,
      logger: call.logger,
    });
    return res.data.keys as JWK[];
  };
}

type Call = ViolationCall & { correlationId: string };

/** The bank's verification keys by kid, from its JWK Set, fetched when needed. */
export class BankKeys {
  private keys = new Map<string, CryptoKey>();
  private fetchedAt = Number.NEGATIVE_INFINITY;
  private inflight: Promise<void> | null = null;

  constructor(
    private readonly fetch: (call: Call) => Promise<JWK[]>,
    private readonly now: () => number,
    private readonly cooldownMs: number,
    private readonly maxAgeMs: number,
  ) {}

  /**
   * The key with `kid`, or null. A set older than maxAge is fetched again; a kid the set lacks makes
   * one more fetch (key rotation), unless the set was fetched less than the cooldown ago, so answers
   * naming unknown kids cannot make us hammer the key store.
   */
  async find(call: Call, kid: string): Promise<CryptoKey | null> {
    const age = this.now() - this.fetchedAt;
    const known = this.keys.get(kid);
    if (known && age < this.maxAgeMs) return known;
    if (age >= this.cooldownMs || age >= this.maxAgeMs) await this.refresh(call);
    return this.keys.get(kid) ?? null;
  }

  private refresh(call: Call): Promise<void> {
    this.inflight ??= this.load(call).finally(() => {
      this.inflight = null;
    });
    return this.inflight;
  }

  private async load(call: Call): Promise<void> {
    const jwks = await this.fetch(call);
    const keys = new Map<string, CryptoKey>();
    for (const jwk of jwks) {
      if (jwk.kty !== 'RSA' || !jwk.kid || (jwk.use !== undefined && jwk.use !== 'sig')) continue;
      try {
        keys.set(jwk.kid, (await importJWK({ ...jwk, alg: 'PS256' }, 'PS256')) as CryptoKey);
      } catch {
        // A key we cannot use is as good as absent: an answer naming it is refused.
      }
    }
    this.keys = keys;
    this.fetchedAt = this.now();
  }
}

/** Why an answer is refused: the profile's code and what is wrong. */
class Refusal extends Error {
  constructor(
    readonly partnerCode: string,
    readonly issue: string,
  ) {
    super(issue);
  }
}

/** Verifies the bank's signature on the answers of the Payment Initiation API. */
export class AnswerVerifier {
  private readonly anchors: ReadonlySet<string>;
  private readonly toleranceSeconds: number;

  constructor(
    private readonly keys: BankKeys | null,
    private readonly options: Pick<OpenBankingSigning, 'issuer' | 'trustAnchors' | 'clockToleranceSeconds'>,
    private readonly now: () => number,
  ) {
    this.anchors = new Set(options.trustAnchors ?? [OB_DIRECTORY_TRUST_ANCHOR]);
    this.toleranceSeconds = options.clockToleranceSeconds ?? 60;
  }

  /** Resolves when `answer` carries a valid signature of the bank; throws the refusal otherwise. */
  async verify(call: Call, endpoint: string, answer: RawAnswer): Promise<void> {
    try {
      await this.check(call, answer);
    } catch (error) {
      if (!(error instanceof Refusal)) throw error;
      const refused = new PartnerError({
        partner: 'openbanking',
        code: 'PARTNER_CONTRACT_VIOLATION',
        status: answer.status,
        endpoint,
        partnerCode: error.partnerCode,
        issues: [`x-jws-signature: ${error.issue}`],
        retryable: false,
      });
      // Logged as an error: a payment answer we cannot trust leaves money in doubt.
      throw reportViolation(refused, call, 'error');
    }
  }

  private async check(call: Call, answer: RawAnswer): Promise<void> {
    const value = answer.headers['x-jws-signature'];
    if (!value) {
      throw new Refusal(
        'UK.OBIE.Signature.Missing',
        'the answer is unsigned; payment answers must be signed',
      );
    }
    const [encoded, payload, signature, ...rest] = value.split('.');
    if (!encoded || payload !== '' || !signature || rest.length > 0) {
      throw new Refusal('UK.OBIE.Signature.Malformed', 'not a detached JWS (<protected>..<signature>)');
    }
    const header = decodeHeader(encoded);
    const claim = this.claimProblem(header);
    if (claim) throw new Refusal(claim.code, claim.issue);
    if (!this.keys) {
      const issue =
        'no JWK Set of the bank is configured (OPENBANKING_JWKS_URL); its answers cannot be trusted';
      throw new Refusal('UK.OBIE.Signature.InvalidClaim', issue);
    }
    const kid = header.kid as string;
    const key = await this.keys.find(call, kid);
    if (!key) {
      throw new Refusal(
        'UK.OBIE.Signature.InvalidClaim',
        `kid ${kid} is not among the bank's published keys`,
      );
    }
    try {
      await flattenedVerify(
        {
          protected: encoded,
          payload: header.b64 === false ? answer.body : answer.body.toString('base64url'),
          signature,
        },
        key,
        { algorithms: ['PS256'], crit: { [IAT]: true, [ISS]: true, [TAN]: true } },
      );
    } catch {
      const issue = `the signature (kid ${kid}) does not verify over the body: changed after signing, or signed with another key`;
      throw new Refusal('UK.OBIE.Signature.Invalid', issue);
    }
  }

  /** The first problem of the JOSE header, as the profile's verification steps list them. */
  private claimProblem(header: Record<string, unknown>): { code: string; issue: string } | null {
    const missing = ['alg', 'kid', 'crit', ...OB_CLAIMS].find((name) => header[name] === undefined);
    if (missing) return { code: 'UK.OBIE.Signature.MissingClaim', issue: `the header has no ${missing}` };
    const invalid = (issue: string) => ({ code: 'UK.OBIE.Signature.InvalidClaim', issue });
    const unknown = Object.keys(header).find((name) => !ALLOWED.has(name));
    if (unknown) return invalid(`${unknown} is not a claim of the OB profile`);
    if (header.alg !== 'PS256') return invalid(`alg ${String(header.alg)} is not PS256`);
    if (typeof header.kid !== 'string' || header.kid === '') return invalid('kid is not a key id');
    if (header.typ !== undefined && header.typ !== 'JOSE') return invalid('typ is not JOSE');
    if (header.cty !== undefined && header.cty !== 'application/json' && header.cty !== 'json')
      return invalid(`cty ${String(header.cty)} is not application/json`);
    if (header.b64 !== undefined && header.b64 !== false) return invalid('b64 is present but not false');
    const expected = header.b64 === false ? ['b64', ...OB_CLAIMS] : OB_CLAIMS;
    const crit = header.crit;
    if (
      !Array.isArray(crit) ||
      crit.length !== expected.length ||
      !expected.every((name) => crit.includes(name))
    ) {
      return invalid(`crit must name exactly ${expected.join(', ')}`);
    }
    const iat = header[IAT];
    if (typeof iat !== 'number' || !Number.isFinite(iat)) return invalid(`${IAT} is not a number of seconds`);
    if (iat > this.now() / 1000 + this.toleranceSeconds) return invalid(`${IAT} is in the future`);
    const iss = header[ISS];
    if (typeof iss !== 'string' || iss === '') return invalid(`${ISS} is not the bank`);
    if (this.options.issuer !== null && iss !== this.options.issuer)
      return invalid(`${ISS} ${iss} is not the bank (${this.options.issuer})`);
    if (typeof header[TAN] !== 'string' || !this.anchors.has(header[TAN]))
      return invalid(`${TAN} ${String(header[TAN])} is not a trust anchor we trust`);
    return null;
  }
}

function decodeHeader(encoded: string): Record<string, unknown> {
  try {
    const header: unknown = JSON.parse(Buffer.from(encoded, 'base64url').toString('utf8'));
    if (typeof header === 'object' && header !== null && !Array.isArray(header)) {
      return header as Record<string, unknown>;
    }
  } catch {
    // Falls through to the refusal.
  }
  throw new Refusal('UK.OBIE.Signature.Malformed', 'the JOSE header is not a JSON object');
}

/**
 * The signing settings of an endpoint with our key read from its file and checked, once, when the
 * provider is built (a wrong file stops the boot, not the first payment). Null: nothing configured.
 */
export function loadSigning(signing: PartnerSigning | null | undefined): OpenBankingSigning | null {
  if (!signing) return null;
  const { key } = signing;
  if (!key) return { jwksUrl: signing.jwksUrl, issuer: signing.issuer, key: null };
  let pem: string;
  try {
    pem = readFileSync(key.keyFile, 'utf8');
  } catch (error) {
    throw new Error(`Open Banking signing: cannot read the signing key at ${key.keyFile}.`, { cause: error });
  }
  try {
    rsaKey(createPrivateKey(pem));
  } catch (error) {
    throw new Error(
      `Open Banking signing: ${key.keyFile} is not a PEM RSA private key of 2048 bits or more.`,
      {
        cause: error,
      },
    );
  }
  return { jwksUrl: signing.jwksUrl, issuer: signing.issuer, key: { pem, kid: key.kid, issuer: key.issuer } };
}

/** PS256 needs an RSA key; 2048 bits is the profile's floor. */
function rsaKey(key: KeyObject): KeyObject {
  if (key.asymmetricKeyType !== 'rsa' || (key.asymmetricKeyDetails?.modulusLength ?? 0) < 2048) {
    throw new Error('the Open Banking signing key must be an RSA key of at least 2048 bits (PS256)');
  }
  return key;
}

/** Signs our payment requests: a detached JWS over the exact body, with the OB claims. */
export class RequestSigner {
  private constructor(
    private readonly key: CryptoKey,
    readonly kid: string,
    private readonly issuer: string,
    private readonly now: () => number,
  ) {}

  /**
   * From a PEM private key (RSA, 2048 bits or more); `kid` defaults to the key's RFC 7638 thumbprint,
   * `issuer` to `clientId`.
   */
  static async load(
    key: NonNullable<OpenBankingSigning['key']>,
    clientId: string,
    now: () => number,
  ): Promise<RequestSigner> {
    const privateKey = rsaKey(createPrivateKey(key.pem));
    const kid =
      key.kid ?? (await calculateJwkThumbprint(createPublicKey(privateKey).export({ format: 'jwk' }) as JWK));
    const imported = (await importJWK(
      { ...(privateKey.export({ format: 'jwk' }) as JWK), alg: 'PS256' },
      'PS256',
    )) as CryptoKey;
    return new RequestSigner(imported, kid, key.issuer ?? clientId, now);
  }

  /** The `x-jws-signature` value for `body`. */
  async sign(body: string): Promise<string> {
    const jws = await new FlattenedSign(Buffer.from(body, 'utf8'))
      .setProtectedHeader({
        alg: 'PS256',
        kid: this.kid,
        b64: false,
        crit: ['b64', ...OB_CLAIMS],
        typ: 'JOSE',
        cty: 'application/json',
        [IAT]: Math.floor(this.now() / 1000),
        [ISS]: this.issuer,
        [TAN]: OB_DIRECTORY_TRUST_ANCHOR,
      })
      .sign(this.key, { crit: { [IAT]: true, [ISS]: true, [TAN]: true } });
    return `${jws.protected}..${jws.signature}`;
  }
}
