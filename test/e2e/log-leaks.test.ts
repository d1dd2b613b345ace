/**
 * No personal data and no secret in the logs: a real Tributary logging at debug level into a buffer
 * serves the traffic the e2e suites make (the dashboard, card and bank payments with a creditor, the
 * consent journey, webhooks, failing partners and hostile input), and every value that is personal
 * (fields marked @pii, creditor details) or secret (partner secrets and tokens, webhook secrets, the
 * bearer token, authorisation codes, the OAuth state) is then looked for in every log line.
 */
import { randomBytes } from 'node:crypto';
import { readFileSync } from 'node:fs';
import { Writable } from 'node:stream';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { DEV_SECRETS_KEY } from '../../server/config.js';
import { customerAnswersAtBank } from '../../sandboxes/openbanking/index.js';
import { customerCompletesLink } from '../../sandboxes/plaid/index.js';
import { startTestApp, type TestApp } from '../helpers/app.js';

const lines: string[] = [];
const logs = new Writable({
  write(chunk: Buffer, _encoding, done) {
    lines.push(...chunk.toString('utf8').split('\n').filter(Boolean));
    done();
  },
});

/** Personal values and secrets the traffic below puts in front of the server: none may be logged. */
const sensitive = new Map<string, string>();
const remember = (what: string, value: string | null | undefined) => {
  // Short values (a currency, "GBP") would match by accident; everything personal here is longer.
  if (value && value.length >= 6) sensitive.set(value, what);
};

const key = () => `log-leaks-${randomBytes(8).toString('hex')}`;
let app: TestApp;

beforeAll(async () => {
  app = await startTestApp({ env: { LOG_LEVEL: 'debug' }, logs });
  for (const [name, sandbox] of Object.entries(app.sandboxes))
    remember(`${name} client secret`, sandbox!.clientSecret);
  for (const [name, settings] of Object.entries(app.config.partners))
    for (const secret of settings.webhookSecrets) remember(`${name} webhook secret`, secret);
  remember('secrets key', DEV_SECRETS_KEY.split(':')[1]);
}, 120_000);
afterAll(() => app?.close());

async function graphql(subject: string, query: string, variables?: Record<string, unknown>) {
  const token = await app.token(subject);
  remember('bearer token', token);
  const answer = await app.graphql(query, variables, { token });
  return answer;
}

describe('logs', () => {
  it('carry no personal value and no secret through a day of traffic', async () => {
    // The dashboard, with every @pii field the accounts graph has.
    const dashboard = await graphql(
      'cust_alice',
      `
        {
          accounts(first: 50) {
            edges {
              node {
                id
                provider
                name
                maskedNumber
                balance {
                  current {
                    amount
                  }
                }
                transactions(first: 20) {
                  edges {
                    node {
                      description
                    }
                  }
                }
              }
            }
          }
        }
      `,
    );
    expect(dashboard.body.errors).toBeUndefined();
    type Node = {
      id: string;
      provider: string;
      maskedNumber: string | null;
      transactions: { edges: { node: { description: string } }[] };
    };
    const accounts = (dashboard.body.data!.accounts as { edges: { node: Node }[] }).edges.map(
      (edge) => edge.node,
    );
    for (const account of accounts) {
      remember('maskedNumber', account.maskedNumber);
      for (const edge of account.transactions.edges)
        remember('transaction description', edge.node.description);
    }
    for (const provider of ['openbanking', 'plaid', 'stripe'] as const) {
      const credential = await app.server.services.consents.credentials.get('cust_alice', provider);
      remember(`${provider} access token`, credential?.accessToken);
      remember(`${provider} refresh token`, credential?.refreshToken);
    }

    // Money: a bank payment with a creditor, a card payment, a refused one, a replay.
    const pay = `mutation($input: InitiatePaymentInput!, $key: String!) { initiatePayment(input: $input, idempotencyKey: $key) {
      payment { id status creditor { name maskedAccountNumber } reference } userErrors { code } } }`;
    const creditor = { name: 'Quentin Leakproof', sortCode: '040004', accountNumber: '87654321' };
    remember('creditor name', creditor.name);
    remember('creditor account number', creditor.accountNumber);
    const bankKey = key();
    const bankInput = {
      debtorAccountId: accounts.find((account) => account.provider === 'OPENBANKING')!.id,
      amount: { amount: '12.34', currency: 'GBP' },
      creditor,
      reference: 'Leak ref 4711',
    };
    remember('payment reference', bankInput.reference);
    const bank = await graphql('cust_alice', pay, { input: bankInput, key: bankKey });
    expect(bank.body.errors).toBeUndefined();
    await graphql('cust_alice', pay, { input: bankInput, key: bankKey });
    const card = await graphql('cust_alice', pay, {
      input: {
        paymentMethodId: 'pm_card_visa',
        amount: { amount: '9.99', currency: 'GBP' },
        reference: 'Card leak 0815',
      },
      key: key(),
    });
    remember('payment reference', 'Card leak 0815');
    expect(card.body.errors).toBeUndefined();
    await graphql('cust_alice', pay, {
      input: {
        paymentMethodId: 'pm_card_chargeDeclined',
        amount: { amount: '3.00', currency: 'GBP' },
        reference: 'Declined leak 42',
      },
      key: key(),
    });
    remember('payment reference', 'Declined leak 42');

    // The consent journey, both partners: state, codes, tokens.
    const grant = `mutation($input: GrantConsentInput!, $key: String!) { grantConsent(input: $input, idempotencyKey: $key) {
      consent { id } authorisation { url linkToken state } } }`;
    const ob = await graphql('cust_carol', grant, {
      input: { provider: 'OPENBANKING', permissions: ['accounts:read'] },
      key: key(),
    });
    const obGrant = ob.body.data!.grantConsent as {
      consent: { id: string };
      authorisation: { url: string; state: string };
    };
    remember('OAuth state', obGrant.authorisation.state);
    remember('request object', new URL(obGrant.authorisation.url).searchParams.get('request'));
    const files = app.sandboxes.openbanking!.tls!;
    const back = await customerAnswersAtBank(obGrant.authorisation.url, 'cust_carol', 'approve', {
      ca: readFileSync(files.caFile!),
      cert: readFileSync(files.certFile),
      key: readFileSync(files.keyFile),
    });
    remember('authorisation code', back.searchParams.get('code'));
    expect((await fetch(back)).status).toBe(200);
    const carol = await app.server.services.consents.credentials.get('cust_carol', 'openbanking');
    remember('openbanking access token (carol)', carol?.accessToken);
    remember('openbanking refresh token (carol)', carol?.refreshToken);
    await graphql(
      'cust_carol',
      `
        mutation ($id: ID!, $key: String!) {
          revokeConsent(id: $id, idempotencyKey: $key) {
            consent {
              status
            }
          }
        }
      `,
      {
        id: obGrant.consent.id,
        key: key(),
      },
    );
    const plaid = await graphql('cust_carol', grant, {
      input: { provider: 'PLAID', permissions: ['accounts:read'] },
      key: key(),
    });
    const plaidGrant = plaid.body.data!.grantConsent as {
      authorisation: { linkToken: string; state: string };
    };
    remember('Plaid link token', plaidGrant.authorisation.linkToken);
    remember('OAuth state', plaidGrant.authorisation.state);
    const linked = await customerCompletesLink(
      app.sandboxes.plaid!.handle.url,
      plaidGrant.authorisation.linkToken,
      'cust_carol',
    );
    const publicToken = (linked as { publicToken: string }).publicToken;
    remember('Plaid public token', publicToken);
    await graphql(
      'cust_carol',
      `
        mutation ($input: CompleteConsentInput!, $key: String!) {
          completeConsent(input: $input, idempotencyKey: $key) {
            consent {
              status
            }
          }
        }
      `,
      {
        input: { state: plaidGrant.authorisation.state, code: publicToken },
        key: key(),
      },
    );
    const plaidCarol = await app.server.services.consents.credentials.get('cust_carol', 'plaid');
    remember('Plaid access token (carol)', plaidCarol?.accessToken);

    // Failures: a partner erroring, hostile and malformed input, a forged webhook, a bad token.
    app.sandboxes.openbanking!.handle.setFaults([{ kind: 'status', status: 500 }]);
    await app.graphql(`{ accounts { edges { node { id } } } }`, undefined, {
      token: await app.token('cust_alice'),
      headers: { 'cache-control': 'no-cache' },
    });
    app.sandboxes.openbanking!.handle.setFaults([]);
    await graphql('cust_alice', pay, {
      input: { ...bankInput, amount: { amount: '1.00', currency: 'QQQ' } },
      key: key(),
    });
    await graphql('cust_alice', '{ accounts { edges { node { id } }');
    const forgedToken = `${(await app.token('cust_alice')).slice(0, -4)}AAAA`;
    remember('forged bearer token', forgedToken);
    await app.graphql('{ accounts { edges { node { id } } } }', undefined, { token: forgedToken });
    const forged = await fetch(`${app.url}/webhooks/stripe`, {
      method: 'POST',
      headers: { 'content-type': 'application/json', 'stripe-signature': 't=1,v1=deadbeef' },
      body: JSON.stringify({
        id: 'evt_forged',
        data: { object: { billing_details: { name: 'Mallory Forgewell' } } },
      }),
    });
    remember('name in a forged webhook', 'Mallory Forgewell');
    expect(forged.status).toBeGreaterThanOrEqual(400);

    // Let the webhook inbox settle what the payments caused, so its log lines are in too.
    await expect
      .poll(
        async () =>
          (
            await app.server.services.webhooks.operations.list({
              first: 100,
              statuses: ['pending', 'processing'],
            })
          ).events.length,
        { timeout: 20_000 },
      )
      .toBe(0);

    expect(lines.length).toBeGreaterThan(50);
    expect(sensitive.size).toBeGreaterThan(25);
    const leaks = [...sensitive].flatMap(([value, what]) =>
      lines.filter((line) => line.includes(value)).map((line) => `${what} in: ${line.slice(0, 300)}`),
    );
    expect(leaks).toEqual([]);
  }, 120_000);
});
