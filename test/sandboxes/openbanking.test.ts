import { readFileSync } from 'node:fs';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { SandboxHandle } from '../../sandboxes/kit/sandbox.js';
import { AISP_BASE, startOpenBankingSandbox } from '../../sandboxes/openbanking/index.js';
import { fromRoot } from '../../store/paths.js';
import { ALL, obWire, type Answer } from './ob-wire.js';
import { OpenApiSpec } from './openapi.js';

const SPEC_FILE = fromRoot(
  '..',
  'shared',
  'partner-specs',
  'openbanking-v3.1.11',
  'account-info-openapi.json',
);
const spec = OpenApiSpec.load(SPEC_FILE);

let sandbox: SandboxHandle;
let ob: ReturnType<typeof obWire>;
beforeAll(async () => {
  sandbox = await startOpenBankingSandbox({ pageSize: 10 });
  ob = obWire(sandbox.url);
});
afterAll(async () => {
  await sandbox.close();
});

describe.skipIf(spec === null)(
  spec === null
    ? `Open Banking sandbox vs the OB v3.1.11 spec (skipped: ${SPEC_FILE} is absent)`
    : 'Open Banking sandbox vs the OB v3.1.11 spec',
  () => {
    const conforms = (specPath: string, method: string, status: number, answer: Answer) => {
      expect(answer.status).toBe(status);
      for (const header of spec!.requiredHeaders(specPath, method, status)) {
        expect(answer.headers.get(header), `${header} on ${method} ${specPath}`).toBeTruthy();
      }
      const schema = spec!.responseSchema(specPath, method, status);
      if (schema) expect(spec!.validate(schema, answer.body)).toEqual([]);
    };

    it('sends a consent request that the spec accepts and answers it with OBReadConsentResponse1', async () => {
      const request = {
        Data: { Permissions: ALL, ExpirationDateTime: '2099-01-01T00:00:00+00:00' },
        Risk: {},
      };
      expect(spec!.validate(spec!.requestSchema('/account-access-consents', 'post'), request)).toEqual([]);
      const answer = await ob.call('POST', `${AISP_BASE}/account-access-consents`, {
        token: await ob.clientToken(),
        headers: { 'content-type': 'application/json' },
        body: JSON.stringify(request),
      });
      conforms('/account-access-consents', 'post', 201, answer);
      const consentId = (answer.body as { Data: { ConsentId: string; Status: string } }).Data.ConsentId;
      expect((answer.body as { Data: { Status: string } }).Data.Status).toBe('AwaitingAuthorisation');
      const read = await ob.call('GET', `${AISP_BASE}/account-access-consents/${consentId}`, {
        token: await ob.clientToken(),
      });
      conforms('/account-access-consents/{ConsentId}', 'get', 200, read);
    });

    it.each([
      ['/accounts', '/accounts'],
      ['/accounts/{AccountId}', '/accounts/alice-card-01'],
      ['/balances', '/balances'],
      ['/accounts/{AccountId}/balances', '/accounts/alice-current-01/balances'],
      ['/transactions', '/transactions'],
      ['/transactions', '/transactions?page=3&fromBookingDateTime=2025-01-01T00:00:00'],
      [
        '/accounts/{AccountId}/transactions',
        '/accounts/alice-current-01/transactions?toBookingDateTime=2025-03-10',
      ],
    ])('answers GET %s (%s) as the spec describes', async (specPath, path) => {
      const { access_token } = await ob.psuTokens('cust_alice');
      conforms(specPath, 'get', 200, await ob.call('GET', `${AISP_BASE}${path}`, { token: access_token }));
    });

    it.each([
      ['/accounts/{AccountId}', ''],
      ['/accounts/{AccountId}/balances', '/balances'],
      ['/accounts/{AccountId}/transactions', '/transactions'],
    ])(
      'answers GET %s for an account outside the consent with the 403 the spec declares (it declares no 404), an unknown id with its 400',
      async (specPath, suffix) => {
        expect(() => spec!.responseSchema(specPath, 'get', 404)).toThrow(/has no 404/);
        const { access_token } = await ob.psuTokens('cust_bob');
        const outside = await ob.call('GET', `${AISP_BASE}/accounts/alice-current-01${suffix}`, {
          token: access_token,
        });
        conforms(specPath, 'get', 403, outside);
        expect(outside.body).toMatchObject({
          Errors: [{ ErrorCode: 'UK.OBIE.Resource.ConsentMismatch', Path: 'AccountId' }],
        });
        const unknown = await ob.call('GET', `${AISP_BASE}/accounts/no-such-account${suffix}`, {
          token: access_token,
        });
        conforms(specPath, 'get', 400, unknown);
        expect(unknown.body).toMatchObject({
          Errors: [{ ErrorCode: 'UK.OBIE.Resource.NotFound', Path: 'AccountId' }],
        });
      },
    );

    it('has a checker that does catch a payload breaking the spec', () => {
      const schema = spec!.responseSchema('/balances', 'get', 200)!;
      const broken = {
        Data: {
          Balance: [
            {
              AccountId: 'a',
              CreditDebitIndicator: 'Sideways',
              Type: 'InterimBooked',
              DateTime: '2025-03-14',
              Amount: { Amount: '-1.00', Currency: 'GBP' },
            },
          ],
        },
        Links: { Self: 'not a uri' },
        Extra: 1,
      };
      expect(spec!.validate(schema, broken)).toEqual([
        '$.Data.Balance[0].CreditDebitIndicator: Sideways not in enum',
        '$.Data.Balance[0].DateTime: not an RFC 3339 date-time with offset',
        '$.Data.Balance[0].Amount.Amount: does not match ^\\d{1,13}$|^\\d{1,13}\\.\\d{1,5}$',
        '$.Links.Self: not a URI',
        '$.Extra: not allowed',
      ]);
    });

    it.each([
      ['accounts-alice.json', '/accounts', 200],
      ['accounts-carol.json', '/accounts', 200],
      ['balances-alice.json', '/balances', 200],
      ['balances-bob.json', '/balances', 200],
      ['balances-carol.json', '/balances', 200],
      ['transactions-alice-page1.json', '/transactions', 200],
      ['transactions-alice-page3.json', '/transactions', 200],
      ['transactions-carol.json', '/transactions', 200],
      ['error-403-balances.json', '/balances', 403],
      ['consent-created.json', '/account-access-consents', 201],
    ])('keeps the recorded fixture %s valid against the spec', (file, specPath, status) => {
      const body: unknown = JSON.parse(
        readFileSync(fromRoot('test', 'fixtures', 'openbanking', file), 'utf8'),
      );
      const method = specPath === '/account-access-consents' ? 'post' : 'get';
      expect(spec!.validate(spec!.responseSchema(specPath, method, status)!, body)).toEqual([]);
    });

    it('answers errors in the OBErrorResponse1 shape the spec gives 400 and 403', async () => {
      const { access_token } = await ob.psuTokens('cust_alice', ['ReadAccountsBasic']);
      const badDate = await ob.call(
        'GET',
        `${AISP_BASE}/accounts/alice-current-01/transactions?fromBookingDateTime=yesterday`,
        {
          token: (await ob.psuTokens('cust_alice')).access_token,
        },
      );
      conforms('/accounts/{AccountId}/transactions', 'get', 400, badDate);
      expect(badDate.body).toMatchObject({
        Errors: [{ ErrorCode: 'UK.OBIE.Field.Invalid', Path: 'fromBookingDateTime' }],
      });
      const forbidden = await ob.call('GET', `${AISP_BASE}/balances`, { token: access_token });
      conforms('/balances', 'get', 403, forbidden);
      const badConsent = await ob.call('POST', `${AISP_BASE}/account-access-consents`, {
        token: await ob.clientToken(),
        headers: { 'content-type': 'application/json' },
        body: JSON.stringify({ Data: { Permissions: ['ReadTransactionsDetail'] }, Risk: {} }),
      });
      conforms('/account-access-consents', 'post', 400, badConsent);
    });
  },
);
