/**
 * The Adyen provider against a fresh Adyen sandbox, built exactly as the registry builds it (the
 * module's createProvider, the partner's resilience policy, the module's tables on PGlite), with a
 * loopback webhook endpoint that verifies each delivery with the module's verifier (which records
 * verified items) and answers `[accepted]`. Helpers play the shopper and wait for notifications.
 */
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { pino } from 'pino';
import { afterAll, beforeAll } from 'vitest';
import { adyen } from '../../../datasources/adyen/index.js';
import type { AdyenPayments } from '../../../datasources/adyen/payments.js';
import type { AdyenProvider } from '../../../datasources/adyen/provider.js';
import { migrationDirs } from '../../../datasources/modules.js';
import { PartnerPolicy, policySettings } from '../../../datasources/resilience.js';
import type { VerificationResult } from '../../../datasources/webhook-verify.js';
import { money } from '../../../domain/money.js';
import type { CallContext, CreatePaymentRequest } from '../../../domain/providers.js';
import {
  ADYEN_SANDBOX_API_KEY,
  ADYEN_SANDBOX_MERCHANT_ACCOUNT,
  ADYEN_TEST_METHODS,
  startAdyenSandbox,
  type AdyenSandboxHandle,
  type AdyenSandboxOptions,
} from '../../../sandboxes/adyen/index.js';
import { loadConfig } from '../../../server/config.js';
import type { Db } from '../../../store/db.js';
import { migrate } from '../../../store/migrate.js';
import { fromRoot } from '../../../store/paths.js';
import { MemoryCredentials } from '../plaid/harness.js';
import { testBackends } from '../../helpers/db.js';

export const logger = pino({ level: 'silent' });
export const HMAC_KEY = '0F1E2D3C4B5A69788796A5B4C3D2E1F00F1E2D3C4B5A69788796A5B4C3D2E1F0';
let seq = 0;

export const ctx = (subject: string): CallContext => ({ subject, correlationId: `adyen-${++seq}`, logger });
export const key = () => `tribk_test_${process.pid}_${Date.now()}_${++seq}`;
export type TestMethod = keyof typeof ADYEN_TEST_METHODS;

/** A card payment request paying with one of the sandbox's test methods. */
export function cardPayment(
  method: TestMethod,
  overrides: Partial<CreatePaymentRequest> = {},
): CreatePaymentRequest {
  return {
    amount: money(2599, 'EUR'),
    reference: 'Order 77',
    debtorPartnerAccountId: null,
    paymentMethodId: JSON.stringify(ADYEN_TEST_METHODS[method]),
    creditor: { name: 'Tributary Shop', sortCode: null, accountNumber: null, iban: null },
    partnerIdempotencyKey: key(),
    ...overrides,
  };
}

export interface AdyenHarness {
  readonly sandbox: AdyenSandboxHandle;
  readonly provider: AdyenProvider;
  readonly payments: AdyenPayments;
  readonly db: Db;
  /** Every delivery the loopback endpoint received, with the verifier's verdict. */
  readonly deliveries: VerificationResult[];
  /** The shopper's 3-D Secure answer at the sandbox: the `details` for /payments/details. */
  shopper(psp: string, result: 'pass' | 'fail'): Promise<Record<string, string>>;
  /** Calls a control route of the sandbox. */
  control(path: string, body: unknown): Promise<Record<string, unknown>>;
  /** Waits until the sandbox has no delivery in flight. */
  settle(): Promise<void>;
}

/** Registers the suite's hooks; the harness's fields are set once beforeAll has run. */
export function useAdyenHarness(options: AdyenSandboxOptions = {}): AdyenHarness {
  const harness = { deliveries: [] as VerificationResult[] } as AdyenHarness & Record<string, unknown>;
  let receiver: Server;
  beforeAll(async () => {
    const sandbox = await startAdyenSandbox({ host: '127.0.0.1', port: 0, ...options });
    const db = await testBackends()[0]!.open();
    await migrate(db, { dirs: [...new Set([...migrationDirs(), fromRoot('datasources/adyen/migrations')])] });
    const calls = loadConfig({ NODE_ENV: 'test', LOG_LEVEL: 'silent' }).partners.stripe!.calls;
    const endpoint = {
      baseUrl: sandbox.url,
      clientId: ADYEN_SANDBOX_MERCHANT_ACCOUNT,
      clientSecret: ADYEN_SANDBOX_API_KEY,
    };
    const provider = adyen.createProvider(
      {
        endpoint,
        calls,
        returnUrl: 'https://app.example/return',
        policy: new PartnerPolicy('adyen', policySettings(calls), { logger }),
        sandbox: {},
      },
      { credentials: new MemoryCredentials(), db, logger },
    ) as AdyenProvider;
    const verifier = adyen.webhooks.createVerifier({
      settings: { endpoint, webhookSecrets: [HMAC_KEY], webhookAllowCidrs: [], calls },
      toleranceSeconds: 300,
      endpoint,
      logger,
      db,
    });
    receiver = createServer((req, res) => {
      const chunks: Buffer[] = [];
      req.on('data', (chunk: Buffer) => chunks.push(chunk));
      req.on('end', () => {
        void verifier
          .verify({ body: Buffer.concat(chunks), headers: {}, receivedAt: new Date() })
          .then((result) => {
            harness.deliveries.push(result);
            res.writeHead(result.ok ? 200 : 401, { 'content-type': 'text/plain' });
            res.end(result.ok ? adyen.webhooks.acknowledgement!.body : 'refused');
          });
      });
    });
    await new Promise<void>((resolve) => receiver.listen(0, '127.0.0.1', resolve));
    const url = `http://127.0.0.1:${(receiver.address() as AddressInfo).port}/webhooks/adyen`;
    const control = async (path: string, body: unknown) => {
      const answer = await fetch(`${sandbox.url}${path}`, {
        method: 'POST',
        headers: { 'content-type': 'application/json' },
        body: JSON.stringify(body),
      });
      if (!answer.ok) throw new Error(`${path}: HTTP ${answer.status} ${await answer.text()}`);
      return (await answer.json()) as Record<string, unknown>;
    };
    await control('/__sandbox/adyen/webhooks', { url, hmacKey: HMAC_KEY });
    Object.assign(harness, {
      sandbox,
      provider,
      payments: provider.payments,
      db,
      control,
      async shopper(psp: string, result: 'pass' | 'fail') {
        return (await control(`/__sandbox/adyen/3ds/${psp}`, { result })).details as Record<string, string>;
      },
      async settle() {
        await fetch(`${sandbox.url}/__sandbox/adyen/webhooks`);
      },
    });
  });
  afterAll(async () => {
    await harness.provider?.close();
    await new Promise((resolve) => receiver?.close(resolve));
    await harness.sandbox?.close();
    await harness.db?.close();
  });
  return harness;
}

/** Polls `read` until `done` holds, or fails after `ms` (conditions, never fixed sleeps). */
export async function eventually<T>(
  read: () => Promise<T>,
  done: (value: T) => boolean,
  ms = 15_000,
): Promise<T> {
  const deadline = Date.now() + ms;
  for (;;) {
    const value = await read();
    if (done(value)) return value;
    if (Date.now() > deadline)
      throw new Error(
        `condition not reached: ${JSON.stringify(value, (_, v: unknown) => (typeof v === 'bigint' ? String(v) : v))}`,
      );
    await new Promise((resolve) => setTimeout(resolve, 50));
  }
}

export async function failure(promise: Promise<unknown>): Promise<unknown> {
  try {
    await promise;
  } catch (error) {
    return error;
  }
  throw new Error('expected a failure');
}
