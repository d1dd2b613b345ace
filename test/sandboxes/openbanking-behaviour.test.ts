import { createHash } from 'node:crypto';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { SandboxHandle } from '../../sandboxes/kit/sandbox.js';
import {
  AISP_BASE,
  OB_SANDBOX_CLIENT_ID,
  OB_SANDBOX_CLIENT_SECRET,
  SEEDED_ACCOUNTS,
  startOpenBankingSandbox,
  TOKEN_GRANTS_PATH,
  type TokenGrantRecord,
} from '../../sandboxes/openbanking/index.js';
import { BASIC, FORM, obWire } from './ob-wire.js';

let sandbox: SandboxHandle;
let ob: ReturnType<typeof obWire>;
beforeAll(async () => {
  sandbox = await startOpenBankingSandbox({ pageSize: 10 });
  ob = obWire(sandbox.url);
});
afterAll(async () => {
  await sandbox.close();
});

describe('Open Banking sandbox behaviour', () => {
  it('echoes x-fapi-interaction-id, or generates one', async () => {
    const echoed = await ob.call('POST', '/token', { headers: { 'x-fapi-interaction-id': 'corr-42' } });
    expect(echoed.headers.get('x-fapi-interaction-id')).toBe('corr-42');
    const generated = await ob.call('GET', `${AISP_BASE}/accounts`);
    expect(generated.headers.get('x-fapi-interaction-id')).toMatch(/^[0-9a-f-]{36}$/);
  });

  it('authenticates clients by HTTP Basic or client_secret_post and refuses a wrong secret', async () => {
    const post = await ob.token(
      `grant_type=client_credentials&client_id=${OB_SANDBOX_CLIENT_ID}&client_secret=${OB_SANDBOX_CLIENT_SECRET}`,
      '',
    );
    expect(post.status).toBe(200);
    expect(post.body).toMatchObject({ token_type: 'Bearer', expires_in: 300 });
    expect(post.headers.get('cache-control')).toBe('no-store');
    const wrong = await ob.token(
      'grant_type=client_credentials',
      `Basic ${Buffer.from(`${OB_SANDBOX_CLIENT_ID}:nope`).toString('base64')}`,
    );
    expect([wrong.status, (wrong.body as { error: string }).error]).toEqual([401, 'invalid_client']);
    expect(wrong.headers.get('www-authenticate')).toContain('Basic');
    expect((await ob.token('grant_type=password')).body).toMatchObject({ error: 'unsupported_grant_type' });
    const json = await ob.call('POST', '/token', {
      headers: { authorization: BASIC, 'content-type': 'application/json' },
      body: '{}',
    });
    expect(json.body).toMatchObject({ error: 'invalid_request' });
  });

  it('redeems an authorisation code once and rotates refresh tokens', async () => {
    const first = await ob.psuTokens('cust_bob');
    expect((await ob.token(`grant_type=authorization_code&code=${first.code}`)).body).toMatchObject({
      error: 'invalid_grant',
    });
    const refreshed = await ob.token(`grant_type=refresh_token&refresh_token=${first.refresh_token}`);
    expect(refreshed.status).toBe(200);
    expect((refreshed.body as { refresh_token: string }).refresh_token).not.toBe(first.refresh_token);
    const reused = await ob.token(`grant_type=refresh_token&refresh_token=${first.refresh_token}`);
    expect(reused.body).toMatchObject({ error: 'invalid_grant' });
    // The bank's record of its answers: one issue, then one refusal, for that refresh token.
    const digest = createHash('sha256').update(first.refresh_token).digest('hex');
    const { grants } = (await ob.call('GET', TOKEN_GRANTS_PATH)).body as { grants: TokenGrantRecord[] };
    expect(grants.filter((grant) => grant.refreshTokenSha256 === digest)).toEqual([
      expect.objectContaining({ grantType: 'refresh_token', outcome: 'issued', consentId: first.consentId }),
      expect.objectContaining({ grantType: 'refresh_token', outcome: 'refused', consentId: null }),
    ]);
  });

  it('marks a consent Authorised for the customer who approved it', async () => {
    const { consentId } = await ob.psuTokens('cust_bob');
    const read = await ob.call('GET', `${AISP_BASE}/account-access-consents/${consentId}`, {
      token: await ob.clientToken(),
    });
    expect(read.body).toMatchObject({ Data: { Status: 'Authorised' } });
  });

  it('shows a customer only their own accounts, answers 403 for an account outside the consent and 400 for an unknown id', async () => {
    const bob = await ob.psuTokens('cust_bob');
    const accounts = await ob.call('GET', `${AISP_BASE}/accounts`, { token: bob.access_token });
    const ids = (accounts.body as { Data: { Account: Array<{ AccountId: string }> } }).Data.Account.map(
      (a) => a.AccountId,
    );
    expect(ids).toEqual(SEEDED_ACCOUNTS.cust_bob);
    for (const suffix of ['', '/balances', '/transactions']) {
      const other = await ob.call('GET', `${AISP_BASE}/accounts/alice-current-01${suffix}`, {
        token: bob.access_token,
      });
      expect([other.status, other.body], `GET /accounts/{AccountId}${suffix}`).toMatchObject([
        403,
        { Errors: [{ ErrorCode: 'UK.OBIE.Resource.ConsentMismatch', Path: 'AccountId' }] },
      ]);
      const unknown = await ob.call('GET', `${AISP_BASE}/accounts/no-such-account${suffix}`, {
        token: bob.access_token,
      });
      expect([unknown.status, unknown.body], `GET /accounts/{AccountId}${suffix}`).toMatchObject([
        400,
        { Errors: [{ ErrorCode: 'UK.OBIE.Resource.NotFound', Path: 'AccountId' }] },
      ]);
    }
  });

  it('answers 401 with a Bearer challenge for a missing, unknown or client-credentials token', async () => {
    for (const bearer of [undefined, 'not-a-token', await ob.clientToken()]) {
      const answer = await ob.call('GET', `${AISP_BASE}/accounts`, bearer ? { token: bearer } : {});
      expect(answer.status).toBe(401);
      expect(answer.headers.get('www-authenticate')).toContain('Bearer');
    }
  });

  it('expires access tokens on its clock', async () => {
    let clock = Date.parse('2025-03-14T12:00:00Z');
    const timed = await startOpenBankingSandbox({ now: () => clock, accessTokenTtlSeconds: 60 });
    const answer = await fetch(`${timed.url}/token`, {
      method: 'POST',
      headers: { authorization: BASIC, 'content-type': FORM },
      body: 'grant_type=client_credentials',
    });
    const { access_token, expires_in } = (await answer.json()) as {
      access_token: string;
      expires_in: number;
    };
    expect(expires_in).toBe(60);
    const consents = `${timed.url}${AISP_BASE}/account-access-consents/none`;
    expect((await fetch(consents, { headers: { authorization: `Bearer ${access_token}` } })).status).toBe(
      400,
    );
    clock += 61_000;
    expect((await fetch(consents, { headers: { authorization: `Bearer ${access_token}` } })).status).toBe(
      401,
    );
    await timed.close();
  });

  it('revokes every token of a deleted consent', async () => {
    const bob = await ob.psuTokens('cust_bob');
    const deleted = await ob.call('DELETE', `${AISP_BASE}/account-access-consents/${bob.consentId}`, {
      token: await ob.clientToken(),
    });
    expect(deleted.status).toBe(204);
    expect((await ob.call('GET', `${AISP_BASE}/accounts`, { token: bob.access_token })).status).toBe(401);
    expect((await ob.token(`grant_type=refresh_token&refresh_token=${bob.refresh_token}`)).status).toBe(400);
  });

  it('filters bookings by date, ignoring any timezone as the spec requires', async () => {
    const { access_token } = await ob.psuTokens('cust_alice');
    const list = async (query: string) => {
      const answer = await ob.call('GET', `${AISP_BASE}/accounts/alice-current-01/transactions?${query}`, {
        token: access_token,
      });
      return (answer.body as { Data: { Transaction: Array<{ BookingDateTime: string }> } }).Data.Transaction;
    };
    const utc = await list('fromBookingDateTime=2025-03-10T00:00:00&toBookingDateTime=2025-03-12T23:59:59');
    const zoned = await list(
      'fromBookingDateTime=2025-03-10T00:00:00%2B05:00&toBookingDateTime=2025-03-12T23:59:59-08:00',
    );
    expect(utc.length).toBeGreaterThan(0);
    expect(zoned).toEqual(utc);
    expect(utc.every((tx) => tx.BookingDateTime >= '2025-03-10' && tx.BookingDateTime < '2025-03-13')).toBe(
      true,
    );
  });

  it('leaves out details a Basic consent does not grant and masks card numbers without ReadPAN', async () => {
    const basic = await ob.psuTokens('cust_alice', [
      'ReadAccountsBasic',
      'ReadTransactionsBasic',
      'ReadTransactionsDebits',
    ]);
    const accounts = await ob.call('GET', `${AISP_BASE}/accounts`, { token: basic.access_token });
    expect(JSON.stringify(accounts.body)).not.toContain('Identification');
    const txs = await ob.call('GET', `${AISP_BASE}/transactions`, { token: basic.access_token });
    const list = (txs.body as { Data: { Transaction: Array<Record<string, unknown>> } }).Data.Transaction;
    expect(list.every((tx) => tx.CreditDebitIndicator === 'Debit' && !('MerchantDetails' in tx))).toBe(true);
    const detail = await ob.psuTokens('cust_alice');
    const card = await ob.call('GET', `${AISP_BASE}/accounts/alice-card-01`, { token: detail.access_token });
    expect(JSON.stringify(card.body)).toContain('555544******2222');
  });

  it('seeds the same bank every time, plus the extra accounts asked for', async () => {
    expect(SEEDED_ACCOUNTS).toMatchObject({
      cust_alice: ['alice-current-01', 'alice-savings-01', 'alice-card-01'],
      cust_bob: ['bob-current-01', 'bob-savings-01'],
    });
    const read = async (box: SandboxHandle, psuId: string) => {
      const wire = obWire(box.url);
      const { access_token } = await wire.psuTokens(psuId);
      const accounts = await wire.call('GET', `${AISP_BASE}/accounts`, { token: access_token });
      const txs = await wire.call('GET', `${AISP_BASE}/accounts/alice-current-01/transactions`, {
        token: access_token,
      });
      return { accounts: accounts.body, txs: (txs.body as { Data: unknown }).Data };
    };
    const other = await startOpenBankingSandbox({ pageSize: 10, extraAccounts: { cust_alice: 2 } });
    const mine = await read(sandbox, 'cust_alice');
    const theirs = await read(other, 'cust_alice');
    expect(theirs.txs).toEqual(mine.txs);
    const ids = (theirs.accounts as { Data: { Account: Array<{ AccountId: string }> } }).Data.Account.map(
      (a) => a.AccountId,
    );
    expect(ids).toEqual([...(SEEDED_ACCOUNTS.cust_alice ?? []), 'alice-extra-001', 'alice-extra-002']);
    await other.close();
  });
});
