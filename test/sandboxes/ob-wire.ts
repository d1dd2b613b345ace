/**
 * Raw HTTP helpers for the Open Banking sandbox suites: they speak the wire format directly (no
 * Tributary client), so the sandbox is checked on its own terms.
 */
import {
  AISP_BASE,
  authoriseInSandbox,
  OB_SANDBOX_CLIENT_ID,
  OB_SANDBOX_CLIENT_SECRET,
} from '../../sandboxes/openbanking/index.js';

export const BASIC = `Basic ${Buffer.from(`${OB_SANDBOX_CLIENT_ID}:${OB_SANDBOX_CLIENT_SECRET}`).toString('base64')}`;
export const FORM = 'application/x-www-form-urlencoded';
export const ALL = [
  'ReadAccountsDetail',
  'ReadBalances',
  'ReadTransactionsDetail',
  'ReadTransactionsCredits',
  'ReadTransactionsDebits',
];

export interface Answer {
  status: number;
  headers: Headers;
  body: unknown;
}

type Init = { token?: string; headers?: Record<string, string>; body?: string };

/** Wire helpers bound to one sandbox URL. */
export function obWire(url: string) {
  async function call(method: string, path: string, init: Init = {}): Promise<Answer> {
    const headers: Record<string, string> = { ...init.headers };
    if (init.token) headers.authorization = `Bearer ${init.token}`;
    const res = await fetch(`${url}${path}`, { method, headers, ...(init.body ? { body: init.body } : {}) });
    const text = await res.text();
    return { status: res.status, headers: res.headers, body: text ? JSON.parse(text) : undefined };
  }

  const token = (body: string, auth = BASIC) =>
    call('POST', '/token', { headers: { authorization: auth, 'content-type': FORM }, body });

  async function clientToken(): Promise<string> {
    const answer = await token('grant_type=client_credentials&scope=accounts');
    return (answer.body as { access_token: string }).access_token;
  }

  async function createConsent(permissions: string[] = ALL): Promise<Answer> {
    return call('POST', `${AISP_BASE}/account-access-consents`, {
      token: await clientToken(),
      headers: { 'content-type': 'application/json' },
      body: JSON.stringify({ Data: { Permissions: permissions }, Risk: {} }),
    });
  }

  /** Consent -> customer approval -> code exchange, as a TPP would. */
  async function psuTokens(psuId: string, permissions: string[] = ALL) {
    const consent = await createConsent(permissions);
    const consentId = (consent.body as { Data: { ConsentId: string } }).Data.ConsentId;
    const code = await authoriseInSandbox(url, consentId, psuId);
    const answer = await token(`grant_type=authorization_code&code=${code}`);
    return { consentId, code, ...(answer.body as { access_token: string; refresh_token: string }) };
  }

  return { call, token, clientToken, createConsent, psuTokens };
}
