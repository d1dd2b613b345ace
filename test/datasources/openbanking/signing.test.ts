/**
 * Signed Open Banking payment answers and requests, against the sandbox over mutual TLS: the client
 * uses a payment answer only once the bank's detached JWS over its raw bytes verifies against the
 * bank's published keys, refuses unsigned, tampered and wrongly keyed answers with a typed error, follows
 * a key rotation with one more fetch of the key set (never more than one per cooldown), and signs its
 * own payment requests, which the bank refuses unsigned.
 */
import { generateKeyPairSync } from 'node:crypto';
import { exportJWK, FlattenedSign, generateKeyPair, type CryptoKey, type JWK } from 'jose';
import { afterAll, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { AnswerVerifier, BankKeys } from '../../../datasources/openbanking/jws.js';
import { createOpenBankingProvider } from '../../../datasources/openbanking/provider.js';
import { PartnerError } from '../../../domain/errors.js';
import type { SandboxHandle } from '../../../sandboxes/kit/sandbox.js';
import {
  OB_SANDBOX_JWKS_PATH,
  OB_SANDBOX_ORG_ID,
  startOpenBankingSandbox,
} from '../../../sandboxes/openbanking/index.js';
import { ctx, failure, JWKS, logger, startHarness, type Harness } from './harness.js';
import { CREATE_PAYMENT, GET_PAYMENT, paymentRequest } from './pis-fixtures.js';

let h: Harness;
beforeAll(async () => {
  h = await startHarness();
  await h.connect('cust_alice');
});
afterAll(() => h.close());
beforeEach(() => {
  h.sandbox.setFaults([]);
});

const alice = () => ctx('cust_alice');
const jwksFetches = (sandbox: SandboxHandle = h.sandbox) => sandbox.ledger().requests[JWKS] ?? 0;

/** A provider like the harness's, with other signing settings. */
function providerWith(signing: Partial<NonNullable<Harness['options']['signing']>>) {
  return createOpenBankingProvider(
    { ...h.options, signing: { ...h.options.signing!, ...signing } },
    { credentials: h.credentials, logger },
  );
}

async function refusal(promise: Promise<unknown>): Promise<PartnerError> {
  const error = await failure(promise);
  expect(error).toBeInstanceOf(PartnerError);
  return error as PartnerError;
}

describe('signed Open Banking payment answers', () => {
  it("uses a payment answer only with the bank's signature, fetching the key set once for many answers", async () => {
    const fresh = providerWith({});
    const before = jwksFetches();
    const payment = await fresh.payments.createPayment(alice(), paymentRequest('3.10'));
    for (let poll = 0; poll < 3; poll += 1) {
      expect(
        (await fresh.payments.getPayments(alice(), [payment.partnerId])).get(payment.partnerId),
      ).toMatchObject({
        status: 'PROCESSING',
      });
    }
    expect(jwksFetches() - before).toBe(1);
    await fresh.close();
  });

  it('refuses an unsigned answer: PARTNER_CONTRACT_VIOLATION UK.OBIE.Signature.Missing, and no payment from it', async () => {
    const payment = await h.provider.payments.createPayment(alice(), paymentRequest('3.20'));
    h.sandbox.setFaults([{ match: GET_PAYMENT, kind: 'unsigned' }]);
    const error = await refusal(h.provider.payments.getPayments(alice(), [payment.partnerId]));
    expect(error).toMatchObject({
      code: 'PARTNER_CONTRACT_VIOLATION',
      partnerCode: 'UK.OBIE.Signature.Missing',
      status: 200,
      endpoint: 'GET /domestic-payments/{DomesticPaymentId}',
      retryable: false,
    });
    expect(error.issues).toEqual(['x-jws-signature: the answer is unsigned; payment answers must be signed']);
    expect(error.message).toBe('openbanking answered with data that breaks its contract.');
  });

  it('refuses an answer whose body was changed after signing (a forged status), on read and on create', async () => {
    const payment = await h.provider.payments.createPayment(alice(), paymentRequest('3.30'));
    h.sandbox.setFaults([{ match: GET_PAYMENT, kind: 'tamper' }]);
    const read = await refusal(h.provider.payments.getPayments(alice(), [payment.partnerId]));
    expect(read).toMatchObject({
      code: 'PARTNER_CONTRACT_VIOLATION',
      partnerCode: 'UK.OBIE.Signature.Invalid',
    });
    expect(read.issues?.[0]).toMatch(
      /^x-jws-signature: the signature \(kid .+\) does not verify over the body/,
    );

    h.sandbox.resetLedger();
    const request = paymentRequest('3.31');
    h.sandbox.setFaults([{ match: CREATE_PAYMENT, kind: 'tamper', times: 1 }]);
    const created = await refusal(h.provider.payments.createPayment(alice(), request));
    expect(created).toMatchObject({
      partnerCode: 'UK.OBIE.Signature.Invalid',
      endpoint: 'POST /domestic-payments',
    });
    // The bank did make the payment; asking again with the same key gets it, verified, exactly once.
    const again = await h.provider.payments.createPayment(alice(), request);
    expect(h.sandbox.ledger().movements).toEqual([
      expect.objectContaining({ id: again.partnerId, amount: '3.31' }),
    ]);
  });

  it('refuses an answer signed with another key under the same kid, and one whose kid the bank does not publish', async () => {
    const bankKid = await publishedKid(h.sandbox.url);
    const impostor = await startOpenBankingSandbox({ signingKid: bankKid });
    const stranger = await startOpenBankingSandbox();
    const payment = await h.provider.payments.createPayment(alice(), paymentRequest('3.40'));
    try {
      const sameKid = providerWith({ jwksUrl: `${impostor.url}${OB_SANDBOX_JWKS_PATH}` });
      const wrongKey = await refusal(sameKid.payments.getPayments(alice(), [payment.partnerId]));
      expect(wrongKey).toMatchObject({ partnerCode: 'UK.OBIE.Signature.Invalid' });
      await sameKid.close();

      const otherKids = providerWith({ jwksUrl: `${stranger.url}${OB_SANDBOX_JWKS_PATH}` });
      for (let attempt = 0; attempt < 3; attempt += 1) {
        const unknown = await refusal(otherKids.payments.getPayments(alice(), [payment.partnerId]));
        expect(unknown).toMatchObject({ partnerCode: 'UK.OBIE.Signature.InvalidClaim' });
        expect(unknown.issues).toEqual([
          `x-jws-signature: kid ${bankKid} is not among the bank's published keys`,
        ]);
      }
      // An unknown kid fetches the set again, but not more than once per cooldown (10 s).
      expect(jwksFetches(stranger)).toBe(1);
      h.clock.advance(10_001);
      await refusal(otherKids.payments.getPayments(alice(), [payment.partnerId]));
      expect(jwksFetches(stranger)).toBe(2);
      await otherKids.close();
    } finally {
      await impostor.close();
      await stranger.close();
    }
  });

  it('refuses every answer when no key set of the bank is configured, and an answer from another issuer', async () => {
    const payment = await h.provider.payments.createPayment(alice(), paymentRequest('3.60'));
    const blind = providerWith({ jwksUrl: null });
    const none = await refusal(blind.payments.getPayments(alice(), [payment.partnerId]));
    expect(none.issues?.[0]).toMatch(/no JWK Set of the bank is configured \(OPENBANKING_JWKS_URL\)/);
    await blind.close();
    const picky = providerWith({ issuer: 'another-bank' });
    const foreign = await refusal(picky.payments.getPayments(alice(), [payment.partnerId]));
    expect(foreign.issues).toEqual([
      `x-jws-signature: http://openbanking.org.uk/iss ${OB_SANDBOX_ORG_ID} is not the bank (another-bank)`,
    ]);
    await picky.close();
  });

  it('signs its payment requests; without a signing key the bank refuses them (400 UK.OBIE.Signature.Missing)', async () => {
    h.sandbox.resetLedger();
    const unsigned = providerWith({ key: null });
    const error = await refusal(unsigned.payments.createPayment(alice(), paymentRequest('3.70')));
    expect(error).toMatchObject({
      code: 'PARTNER_CONTRACT_VIOLATION',
      status: 400,
      partnerCode: 'UK.OBIE.Signature.Missing',
      endpoint: 'POST /domestic-payment-consents',
    });
    await unsigned.close();
    const stranger = providerWith({
      key: {
        pem: generateKeyPairSync('rsa', { modulusLength: 2048 })
          .privateKey.export({ type: 'pkcs8', format: 'pem' })
          .toString(),
        kid: null,
        issuer: null,
      },
    });
    expect(await refusal(stranger.payments.createPayment(alice(), paymentRequest('3.71')))).toMatchObject({
      status: 400,
      partnerCode: 'UK.OBIE.Signature.InvalidClaim',
    });
    await stranger.close();
    expect(h.sandbox.ledger().movements).toEqual([]);
  });
  it('follows a key rotation: the new kid fetches the key set once more, then verifies', async () => {
    const fresh = providerWith({});
    const payment = await fresh.payments.createPayment(alice(), paymentRequest('3.50'));
    const before = jwksFetches();
    h.clock.advance(10_001);
    await rotate(h.sandbox.url);
    const polled = await fresh.payments.getPayments(alice(), [payment.partnerId]);
    expect(polled.get(payment.partnerId)?.status).toBeDefined();
    expect(jwksFetches() - before).toBe(1);
    await fresh.close();
  });
});

describe('the answer verifier on its own', () => {
  const IAT = 'http://openbanking.org.uk/iat';
  const ISS = 'http://openbanking.org.uk/iss';
  const TAN = 'http://openbanking.org.uk/tan';
  let key: { privateKey: CryptoKey; jwk: JWK };
  const now = Date.parse('2025-03-14T12:00:00Z');
  const body = Buffer.from('{"Data":{"Status":"Pending"}}');

  beforeAll(async () => {
    const pair = await generateKeyPair('PS256', { extractable: true });
    key = { privateKey: pair.privateKey, jwk: { ...(await exportJWK(pair.publicKey)), kid: 'k1' } };
  });

  const verifier = () =>
    new AnswerVerifier(
      new BankKeys(
        async () => [key.jwk],
        () => now,
        10_000,
        600_000,
      ),
      { issuer: 'bank' },
      () => now,
    );
  const sign = async (header: Record<string, unknown>, crit: string[]) => {
    const jws = await new FlattenedSign(body)
      .setProtectedHeader({
        alg: 'PS256',
        kid: 'k1',
        [IAT]: now / 1000,
        [ISS]: 'bank',
        [TAN]: 'openbanking.org.uk',
        crit,
        ...header,
      })
      .sign(key.privateKey, {
        crit: Object.fromEntries(crit.filter((c) => c !== 'b64').map((c) => [c, true])),
      });
    return `${jws.protected}..${jws.signature}`;
  };
  const check = (signature: string) =>
    verifier().verify(ctx('cust_alice'), 'GET /domestic-payments/{DomesticPaymentId}', {
      status: 200,
      headers: { 'x-jws-signature': signature },
      body,
    });

  it('accepts both forms banks use: b64 false (named in crit) and, since v3.1.4, the base64url payload', async () => {
    await check(await sign({ b64: false }, ['b64', IAT, ISS, TAN]));
    await check(await sign({}, [IAT, ISS, TAN]));
  });

  it('refuses a crit naming more or fewer claims, an iat in the future, another trust anchor, another alg', async () => {
    const cases: [Promise<string>, RegExp][] = [
      [
        sign({ b64: false, [`${IAT}x`]: 1 }, ['b64', IAT, ISS, TAN, `${IAT}x`]),
        /is not a claim of the OB profile/,
      ],
      [sign({ b64: false }, ['b64', IAT, ISS]), /crit must name exactly/],
      [sign({ b64: false, [IAT]: now / 1000 + 3600 }, ['b64', IAT, ISS, TAN]), /iat is in the future/],
      [
        sign({ b64: false, [TAN]: 'elsewhere.example' }, ['b64', IAT, ISS, TAN]),
        /not a trust anchor we trust/,
      ],
    ];
    for (const [signature, issue] of cases) {
      const error = await failure(check(await signature));
      expect(error).toMatchObject({ partnerCode: 'UK.OBIE.Signature.InvalidClaim' });
      expect((error as PartnerError).issues?.[0]).toMatch(issue);
    }
    const malformed = await failure(check('eyJhbGciOiJQUzI1NiJ9.e30.c2ln'));
    expect(malformed).toMatchObject({ partnerCode: 'UK.OBIE.Signature.Malformed' });
  });
});

async function publishedKid(url: string): Promise<string> {
  const { Agent, request } = await import('undici');
  const { sharedSandboxTls } = await import('../../../sandboxes/certs.js');
  const tls = await sharedSandboxTls();
  const agent = new Agent({ connect: { ca: tls.ca, ...tls.client } });
  try {
    const res = await request(`${url}${OB_SANDBOX_JWKS_PATH}`, { dispatcher: agent });
    return ((await res.body.json()) as { keys: { kid: string }[] }).keys[0]!.kid;
  } finally {
    await agent.close();
  }
}

async function rotate(url: string): Promise<void> {
  const { Agent, request } = await import('undici');
  const { sharedSandboxTls } = await import('../../../sandboxes/certs.js');
  const tls = await sharedSandboxTls();
  const agent = new Agent({ connect: { ca: tls.ca, ...tls.client } });
  try {
    const res = await request(`${url}/__sandbox/openbanking/jwks/rotate`, {
      method: 'POST',
      dispatcher: agent,
      body: '{}',
    });
    expect(res.statusCode).toBe(200);
    await res.body.dump();
  } finally {
    await agent.close();
  }
}
