/**
 * The bank's authorisation endpoint: the customer's consent journey with PKCE and a signed request
 * object, the code it ends with, and what becomes of the consent (rejected, expired, deleted).
 */
import { createHash, randomBytes } from 'node:crypto';
import { SignJWT } from 'jose';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { SandboxHandle } from '../../sandboxes/kit/sandbox.js';
import {
  AISP_BASE,
  customerAnswersAtBank,
  OB_SANDBOX_CLIENT_ID,
  OB_SANDBOX_CLIENT_SECRET,
  SandboxAuthorisationError,
  SEEDED_ACCOUNTS,
  startOpenBankingSandbox,
} from '../../sandboxes/openbanking/index.js';
import { ALL, FORM, obWire } from './ob-wire.js';

const OTHER_ID = 'other-tpp';
const OTHER_SECRET = 'other-tpp-secret-0123456789abcdef';
const REDIRECT = 'https://app.example.test/callback?from=ob';

let clock = Date.parse('2025-03-14T12:00:00Z');
let sandbox: SandboxHandle;
let ob: ReturnType<typeof obWire>;
beforeAll(async () => {
  sandbox = await startOpenBankingSandbox({
    now: () => clock,
    accessTokenTtlSeconds: 86_400,
    clients: { [OTHER_ID]: OTHER_SECRET },
  });
  ob = obWire(sandbox.url);
});
afterAll(async () => {
  await sandbox.close();
});

const basic = (id: string, secret: string) => `Basic ${Buffer.from(`${id}:${secret}`).toString('base64')}`;

function pkce() {
  const verifier = randomBytes(32).toString('base64url');
  return { verifier, challenge: createHash('sha256').update(verifier).digest('base64url') };
}

/** A consent awaiting authorisation, created by the given client. */
async function consent(
  data: Record<string, unknown> = {},
  auth = basic(OB_SANDBOX_CLIENT_ID, OB_SANDBOX_CLIENT_SECRET),
): Promise<string> {
  const token = await ob.token('grant_type=client_credentials&scope=accounts', auth);
  const created = await ob.call('POST', `${AISP_BASE}/account-access-consents`, {
    token: (token.body as { access_token: string }).access_token,
    headers: { 'content-type': 'application/json' },
    body: JSON.stringify({ Data: { Permissions: ALL, ...data }, Risk: {} }),
  });
  expect(created.status).toBe(201);
  return (created.body as { Data: { ConsentId: string } }).Data.ConsentId;
}

interface UrlOptions {
  consentId: string;
  challenge: string;
  clientId?: string;
  /** The key the request object is signed with. */
  secret?: string;
  redirectUri?: string;
  /** The redirect_uri inside the request object, when it should differ. */
  signedRedirectUri?: string;
  method?: string;
  state?: string | null;
}

/** The authorisation URL a TPP sends its customer to. */
async function authorisationUrl(options: UrlOptions): Promise<string> {
  const clientId = options.clientId ?? OB_SANDBOX_CLIENT_ID;
  const redirectUri = options.redirectUri ?? REDIRECT;
  const intent = { openbanking_intent_id: { value: options.consentId, essential: true } };
  const issuedAt = Math.floor(clock / 1000);
  const request = await new SignJWT({
    client_id: clientId,
    redirect_uri: options.signedRedirectUri ?? redirectUri,
    scope: 'openid accounts',
    claims: { id_token: intent },
  })
    .setProtectedHeader({ alg: 'HS256' })
    .setIssuer(clientId)
    .setIssuedAt(issuedAt)
    .setExpirationTime(issuedAt + 600)
    .sign(new TextEncoder().encode(options.secret ?? OB_SANDBOX_CLIENT_SECRET));
  const url = new URL('/authorize', sandbox.url);
  const params: Record<string, string | null> = {
    response_type: 'code',
    client_id: clientId,
    redirect_uri: redirectUri,
    scope: 'openid accounts',
    state: options.state === undefined ? 'st-123' : options.state,
    nonce: 'n-1',
    code_challenge: options.challenge,
    code_challenge_method: options.method ?? 'S256',
    request,
  };
  for (const [name, value] of Object.entries(params)) if (value !== null) url.searchParams.set(name, value);
  return url.toString();
}

/** The customer approves as `psuId`: the code and what the token request must repeat. */
async function journey(psuId = 'cust_bob') {
  const consentId = await consent();
  const { verifier, challenge } = pkce();
  const back = await customerAnswersAtBank(
    await authorisationUrl({ consentId, challenge }),
    psuId,
    'approve',
  );
  return { consentId, verifier, code: back.searchParams.get('code') ?? '', back };
}

const exchange = (code: string, verifier: string | null, redirectUri: string | null = REDIRECT) => {
  const form = new URLSearchParams({ grant_type: 'authorization_code', code });
  if (verifier !== null) form.set('code_verifier', verifier);
  if (redirectUri !== null) form.set('redirect_uri', redirectUri);
  return ob.token(form.toString());
};

const readConsent = async (consentId: string) =>
  ob.call('GET', `${AISP_BASE}/account-access-consents/${consentId}`, { token: await ob.clientToken() });

/** GET /authorize without following a redirect. */
const open = (url: string) => fetch(url, { redirect: 'manual' });

describe('Open Banking authorisation endpoint', () => {
  it('sends the approving customer back with a PKCE-bound code that works once', async () => {
    const { consentId, verifier, code, back } = await journey('cust_bob');
    expect(`${back.origin}${back.pathname}`).toBe('https://app.example.test/callback');
    expect(back.searchParams.get('from')).toBe('ob');
    expect(back.searchParams.get('state')).toBe('st-123');
    expect(code).not.toBe('');
    expect(await readConsent(consentId)).toMatchObject({ body: { Data: { Status: 'Authorised' } } });
    const tokens = await exchange(code, verifier);
    expect(tokens.status).toBe(200);
    const { access_token } = tokens.body as { access_token: string; refresh_token: string };
    const accounts = await ob.call('GET', `${AISP_BASE}/accounts`, { token: access_token });
    const ids = (accounts.body as { Data: { Account: Array<{ AccountId: string }> } }).Data.Account;
    expect(ids.map((a) => a.AccountId)).toEqual(SEEDED_ACCOUNTS.cust_bob);
    expect((await exchange(code, verifier)).body).toMatchObject({ error: 'invalid_grant' });
  });

  it('refuses the code with a wrong or missing verifier or another redirect_uri, and spends it', async () => {
    const wrong = await journey();
    expect((await exchange(wrong.code, pkce().verifier)).body).toMatchObject({
      error: 'invalid_grant',
      error_description: 'code_verifier does not match the code_challenge',
    });
    expect((await exchange(wrong.code, wrong.verifier)).body).toMatchObject({ error: 'invalid_grant' });
    const missing = await journey();
    expect((await exchange(missing.code, null)).body).toMatchObject({ error: 'invalid_grant' });
    const elsewhere = await journey();
    const answer = await exchange(elsewhere.code, elsewhere.verifier, 'https://app.example.test/callback');
    expect([answer.status, answer.body]).toEqual([
      400,
      { error: 'invalid_grant', error_description: 'redirect_uri does not match the authorisation request' },
    ]);
  });

  it('keeps the codes of /__sandbox/authorise working without PKCE', async () => {
    const { access_token } = await ob.psuTokens('cust_alice');
    expect((await ob.call('GET', `${AISP_BASE}/accounts`, { token: access_token })).status).toBe(200);
  });

  it('marks a rejected consent Rejected and tells the client access_denied', async () => {
    const consentId = await consent();
    const url = await authorisationUrl({ consentId, challenge: pkce().challenge });
    const back = await customerAnswersAtBank(url, 'cust_bob', 'reject');
    expect(back.searchParams.get('error')).toBe('access_denied');
    expect(back.searchParams.get('state')).toBe('st-123');
    expect(back.searchParams.has('code')).toBe(false);
    const read = await readConsent(consentId);
    expect(read.body).toMatchObject({
      Data: { Status: 'Rejected', StatusUpdateDateTime: expect.any(String) },
    });
  });

  it('answers access_denied for a customer the bank does not know and leaves the consent waiting', async () => {
    const consentId = await consent();
    const url = await authorisationUrl({ consentId, challenge: pkce().challenge });
    const back = await customerAnswersAtBank(url, 'cust_nobody', 'approve');
    expect(back.search).toContain('error=access_denied&error_description=unknown+customer&state=st-123');
    expect(await readConsent(consentId)).toMatchObject({
      body: { Data: { Status: 'AwaitingAuthorisation' } },
    });
  });

  it('never redirects when the client, the redirect_uri or the request object cannot be trusted', async () => {
    const consentId = await consent();
    const foreign = await consent({}, basic(OTHER_ID, OTHER_SECRET));
    const { challenge } = pkce();
    const untrusted = [
      await authorisationUrl({ consentId, challenge, secret: 'not-the-client-secret-0123456789' }),
      await authorisationUrl({ consentId: foreign, challenge }),
      await authorisationUrl({ consentId: 'aac-unknown', challenge }),
      await authorisationUrl({ consentId, challenge, clientId: 'nobody', secret: 'whatever' }),
      await authorisationUrl({ consentId, challenge, redirectUri: 'app.example.test/callback' }),
      await authorisationUrl({ consentId, challenge, signedRedirectUri: 'https://evil.example.test/' }),
    ];
    for (const url of untrusted) {
      const answer = await open(url);
      expect(answer.status, url).toBe(400);
      expect(answer.headers.get('location')).toBeNull();
      expect(answer.headers.get('content-type')).toContain('text/plain');
    }
    await expect(customerAnswersAtBank(untrusted[0] ?? '', 'cust_bob', 'approve')).rejects.toThrow(
      SandboxAuthorisationError,
    );
    expect(await readConsent(consentId)).toMatchObject({
      body: { Data: { Status: 'AwaitingAuthorisation' } },
    });
  });

  it('redirects the plain challenge method, a missing state and a consent no longer waiting back as errors', async () => {
    const consentId = await consent();
    const { challenge } = pkce();
    const plain = await open(await authorisationUrl({ consentId, challenge, method: 'plain' }));
    expect(plain.status).toBe(302);
    const location = new URL(plain.headers.get('location') ?? '');
    expect(location.searchParams.get('error')).toBe('invalid_request');
    expect(location.searchParams.get('state')).toBe('st-123');
    const stateless = await open(await authorisationUrl({ consentId, challenge, state: null }));
    const noState = new URL(stateless.headers.get('location') ?? '');
    expect([noState.searchParams.get('error'), noState.searchParams.has('state')]).toEqual([
      'invalid_request',
      false,
    ]);
    const { consentId: done } = await journey();
    const again = await open(await authorisationUrl({ consentId: done, challenge }));
    expect(new URL(again.headers.get('location') ?? '').searchParams.get('error_description')).toBe(
      'the consent is Authorised',
    );
  });

  it('shows a page whose ticket is single use and lasts ten minutes', async () => {
    const page = async () => {
      const consentId = await consent();
      const answer = await open(await authorisationUrl({ consentId, challenge: pkce().challenge }));
      expect(answer.headers.get('content-type')).toContain('text/html');
      const html = await answer.text();
      expect(html).toContain('ReadTransactionsDetail');
      return /name="ticket" value="([^"]+)"/.exec(html)?.[1] ?? '';
    };
    const post = (ticket: string) =>
      fetch(`${sandbox.url}/authorize`, {
        method: 'POST',
        redirect: 'manual',
        headers: { 'content-type': FORM },
        body: new URLSearchParams({ ticket, psu_id: 'cust_bob', decision: 'approve' }).toString(),
      });
    const ticket = await page();
    expect((await post(ticket)).status).toBe(302);
    expect((await post(ticket)).status).toBe(400);
    expect((await post('made-up')).status).toBe(400);
    const stale = await page();
    clock += 10 * 60_000 + 1000;
    expect((await post(stale)).status).toBe(400);
  });

  it('refuses reads and refreshes once the consent expires, while it still reads Authorised', async () => {
    const consentId = await consent({ ExpirationDateTime: new Date(clock + 3_600_000).toISOString() });
    const { verifier, challenge } = pkce();
    const back = await customerAnswersAtBank(
      await authorisationUrl({ consentId, challenge }),
      'cust_alice',
      'approve',
    );
    const tokens = await exchange(back.searchParams.get('code') ?? '', verifier);
    const { access_token, refresh_token } = tokens.body as { access_token: string; refresh_token: string };
    expect((await ob.call('GET', `${AISP_BASE}/balances`, { token: access_token })).status).toBe(200);
    clock += 3_600_000;
    const refused = await ob.call('GET', `${AISP_BASE}/balances`, { token: access_token });
    expect(refused.status).toBe(403);
    expect(refused.body).toMatchObject({ Errors: [{ ErrorCode: 'UK.OBIE.Resource.InvalidConsentStatus' }] });
    expect((await ob.token(`grant_type=refresh_token&refresh_token=${refresh_token}`)).body).toMatchObject({
      error: 'invalid_grant',
    });
    // OB v3.1.11 has no Expired status.
    expect(await readConsent(consentId)).toMatchObject({ body: { Data: { Status: 'Authorised' } } });
  });

  it('deletes Authorised and Rejected consents; a second DELETE answers Resource.NotFound', async () => {
    const authorised = await journey();
    const { access_token } = (await exchange(authorised.code, authorised.verifier)).body as {
      access_token: string;
    };
    const rejected = await consent();
    await customerAnswersAtBank(
      await authorisationUrl({ consentId: rejected, challenge: pkce().challenge }),
      'cust_bob',
      'reject',
    );
    for (const consentId of [authorised.consentId, rejected]) {
      const remove = async () =>
        ob.call('DELETE', `${AISP_BASE}/account-access-consents/${consentId}`, {
          token: await ob.clientToken(),
        });
      expect((await remove()).status).toBe(204);
      const twice = await remove();
      expect(twice.status).toBe(400);
      expect(twice.body).toMatchObject({ Errors: [{ ErrorCode: 'UK.OBIE.Resource.NotFound' }] });
      expect((await readConsent(consentId)).status).toBe(400);
    }
    expect((await ob.call('GET', `${AISP_BASE}/accounts`, { token: access_token })).status).toBe(401);
  });
});
