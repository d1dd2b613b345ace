/**
 * The Open Banking sandbox's message signing, checked on its own terms with jose (not Tributary's
 * client): every Payment Initiation answer carries a detached JWS of its exact bytes by the bank's
 * published key, with the OB header claims; payment requests not signed with the TPP's registered key
 * are refused with the profile's codes, and create nothing.
 */
import { generateKeyPairSync } from 'node:crypto';
import {
  createLocalJWKSet,
  FlattenedSign,
  flattenedVerify,
  type JWK,
  type ProtectedHeaderParameters,
} from 'jose';
import { afterAll, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import {
  OB_SANDBOX_JWKS_PATH,
  OB_SANDBOX_ORG_ID,
  PISP_BASE,
  SEED_BASE_DATE,
} from '../../sandboxes/openbanking/index.js';
import {
  consentBody,
  data,
  errorCode,
  startPisSandbox,
  tppSignature,
  type Answer,
  type PisSandbox,
} from './openbanking-pis-wire.js';

const OB = 'http://openbanking.org.uk/';
const CRIT = { [`${OB}iat`]: true, [`${OB}iss`]: true, [`${OB}tan`]: true };
const CONSENTS = `${PISP_BASE}/domestic-payment-consents`;

const time = SEED_BASE_DATE.getTime();
let ob: PisSandbox;
beforeAll(async () => {
  ob = await startPisSandbox({ now: () => time });
});
afterAll(async () => {
  await ob.close();
});
beforeEach(() => ob.sandbox.setFaults([]));

async function publishedKeys(): Promise<JWK[]> {
  const jwks = await ob.call('GET', OB_SANDBOX_JWKS_PATH);
  expect(jwks.status).toBe(200);
  return (jwks.body as { keys: JWK[] }).keys;
}

/** Verifies an answer's detached JWS over its raw bytes against the published keys; its header. */
async function verified(answer: Answer): Promise<ProtectedHeaderParameters> {
  const value = answer.headers['x-jws-signature'];
  expect(value, `x-jws-signature on a ${answer.status}`).toBeTruthy();
  const [encoded, payload, signature] = value!.split('.');
  expect(payload).toBe('');
  const keys = createLocalJWKSet({ keys: await publishedKeys() });
  const result = await flattenedVerify(
    { protected: encoded!, payload: answer.raw, signature: signature! },
    keys,
    { algorithms: ['PS256'], crit: CRIT },
  );
  return result.protectedHeader!;
}

/** A consent request signed by `sign` (default: the registered TPP key, honestly). */
async function consentSignedWith(signature: string, body: unknown = consentBody('3.00'), key = 'signed-1') {
  return ob.call('POST', CONSENTS, {
    token: await ob.clientToken(),
    headers: { 'x-idempotency-key': key, 'x-jws-signature': signature },
    body: JSON.stringify(body),
  });
}

const iat = () => Math.floor(time / 1000) - 1;

describe('Open Banking sandbox message signing', () => {
  it('signs every payment answer (201, 200, 400, 403) over its exact bytes, with the OB claims, by a published key', async () => {
    const keys = await publishedKeys();
    expect(keys).toHaveLength(1);
    expect(keys[0]).toMatchObject({ kty: 'RSA', use: 'sig', alg: 'PS256' });
    expect(keys[0]).not.toHaveProperty('d');
    const { consent, consentId, payment } = await ob.pay('7.00');
    const token = await ob.clientToken();
    const id = data<{ DomesticPaymentId: string }>(payment).DomesticPaymentId;
    const answers = [
      consent,
      payment,
      await ob.call('GET', `${CONSENTS}/${consentId}`, { token }),
      await ob.call('GET', `${PISP_BASE}/domestic-payments/${id}`, { token }),
      await ob.call('GET', `${PISP_BASE}/domestic-payments/${id}/payment-details`, { token }),
      await ob.call('GET', `${PISP_BASE}/domestic-payments/dp-unknown`, { token }),
      await ob.call('GET', `${PISP_BASE}/domestic-payments/${id}`, {
        token: await ob.clientToken('accounts'),
      }),
    ];
    expect(answers.map((answer) => answer.status)).toEqual([201, 201, 200, 200, 200, 400, 403]);
    for (const answer of answers) {
      expect(await verified(answer)).toEqual({
        alg: 'PS256',
        kid: keys[0]!.kid,
        b64: false,
        crit: ['b64', `${OB}iat`, `${OB}iss`, `${OB}tan`],
        typ: 'JOSE',
        cty: 'application/json',
        [`${OB}iat`]: Math.floor(time / 1000),
        [`${OB}iss`]: OB_SANDBOX_ORG_ID,
        [`${OB}tan`]: 'openbanking.org.uk',
      });
    }
  });

  it('refuses payment requests unsigned, malformed, forged, signed with another key or with claims it does not accept, creating nothing', async () => {
    const body = consentBody('3.00');
    const text = JSON.stringify(body);
    const kid = ob.signingJwk.kid!;
    const honest = (claims: Partial<{ kid: string; iss: string; iat: number }> = {}) =>
      tppSignature(text, ob.tls.signingKey, { kid, iss: 'tributary-dev', iat: iat(), ...claims });
    const stranger = generateKeyPairSync('rsa', { modulusLength: 2048 })
      .privateKey.export({ type: 'pkcs8', format: 'pem' })
      .toString();
    const extraCrit = await new FlattenedSign(Buffer.from(text))
      .setProtectedHeader({
        alg: 'PS256',
        kid,
        b64: false,
        crit: ['b64', `${OB}iat`, `${OB}iss`, `${OB}tan`, `${OB}extra`],
        [`${OB}iat`]: iat(),
        [`${OB}iss`]: 'tributary-dev',
        [`${OB}tan`]: 'openbanking.org.uk',
        [`${OB}extra`]: 1,
      })
      .sign(generateKeyPairSync('rsa', { modulusLength: 2048 }).privateKey, {
        crit: { ...CRIT, [`${OB}extra`]: true },
      });
    const unsigned = await ob.call('POST', CONSENTS, {
      token: await ob.clientToken(),
      headers: { 'x-idempotency-key': 'signed-1' },
      body,
      unsigned: true,
    });
    const refusals: [Answer, string, string][] = [
      [unsigned, 'UK.OBIE.Signature.Missing', 'x-jws-signature'],
      [await consentSignedWith('not-a-jws'), 'UK.OBIE.Signature.Malformed', 'x-jws-signature'],
      [
        await consentSignedWith(await honest(), consentBody('3000.00')),
        'UK.OBIE.Signature.Invalid',
        'x-jws-signature',
      ],
      [
        await consentSignedWith(
          await tppSignature(text, stranger, { kid, iss: 'tributary-dev', iat: iat() }),
        ),
        'UK.OBIE.Signature.Invalid',
        'x-jws-signature',
      ],
      [
        await consentSignedWith(await honest({ kid: 'not-registered' })),
        'UK.OBIE.Signature.InvalidClaim',
        'kid',
      ],
      [
        await consentSignedWith(await honest({ iss: 'someone-else' })),
        'UK.OBIE.Signature.InvalidClaim',
        `${OB}iss`,
      ],
      [
        await consentSignedWith(await honest({ iat: iat() + 3600 })),
        'UK.OBIE.Signature.InvalidClaim',
        `${OB}iat`,
      ],
      [
        await consentSignedWith(`${extraCrit.protected}..${extraCrit.signature}`),
        'UK.OBIE.Signature.InvalidClaim',
        `${OB}extra`,
      ],
    ];
    for (const [answer, code, path] of refusals) {
      expect([answer.status, errorCode(answer)], code).toEqual([400, code]);
      expect(answer.body).toMatchObject({ Errors: [{ Path: path }] });
    }
    // Nothing was created, not even the idempotency key: the honest request is the first under it.
    const accepted = await consentSignedWith(await honest());
    expect(accepted.status).toBe(201);
    expect(data(accepted)).toMatchObject({ Status: 'AwaitingAuthorisation' });
  });

  it('answers unsigned under the unsigned fault, and with the body changed after signing under the tamper fault', async () => {
    const { payment } = await ob.pay('2.00');
    const id = data<{ DomesticPaymentId: string }>(payment).DomesticPaymentId;
    const token = await ob.clientToken();
    const read = () => ob.call('GET', `${PISP_BASE}/domestic-payments/${id}`, { token });
    ob.sandbox.setFaults([{ match: `${PISP_BASE}/domestic-payments/{DomesticPaymentId}`, kind: 'unsigned' }]);
    const unsigned = await read();
    expect(unsigned.status).toBe(200);
    expect(unsigned.headers['x-jws-signature']).toBeUndefined();
    ob.sandbox.setFaults([{ match: `${PISP_BASE}/domestic-payments/{DomesticPaymentId}`, kind: 'tamper' }]);
    const tampered = await read();
    ob.sandbox.setFaults([]);
    const honest = await read();
    expect(data(tampered).Status).not.toBe(data(honest).Status);
    await expect(verified(tampered)).rejects.toThrow(/signature verification failed/);
    await verified(honest);
  });

  it('rotates its key: answers are signed with the new kid, and the set keeps the old one until retired', async () => {
    const [before] = await publishedKeys();
    const rotated = await ob.call('POST', '/__sandbox/openbanking/jwks/rotate', { body: {} });
    const kid = (rotated.body as { kid: string }).kid;
    expect(kid).not.toBe(before!.kid);
    expect((await publishedKeys()).map((key) => key.kid)).toEqual([kid, before!.kid]);
    const consent = await ob.createConsent(consentBody('4.00'), 'after-rotation');
    expect((await verified(consent)).kid).toBe(kid);
    await ob.call('POST', '/__sandbox/openbanking/jwks/rotate', { body: { retire: true } });
    expect(await publishedKeys()).toHaveLength(1);
  });
});
