/**
 * The operations console in a real browser (Chromium through playwright-core) against a real
 * `tributary start`: an operator logs in with an ops token and sees every page; the Stripe sandbox is
 * broken over its fault endpoint (POST /__sandbox/faults) and the partner turns red; a payment webhook
 * that could not be processed while the partner failed is dead-lettered (WEBHOOK_MAX_ATTEMPTS=1), then
 * replayed from the console and turns PROCESSED; a read-only operator's replay is refused; a customer
 * token does not get in. Screenshots of each page go to test-artifacts/console/ and docs/console/.
 *
 * Chromium is required, not optional: without it this suite fails and says how to get it.
 */
import { existsSync } from 'node:fs';
import { copyFile, mkdir, mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { randomBytes } from 'node:crypto';
import { chromium, type Browser, type Page } from 'playwright-core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { decodeId } from '../../domain/ids.js';
import { loadDevKey, signDevToken, type DevSigningKey } from '../../server/auth.js';
import { DEV_AUDIENCE, DEV_ISSUER } from '../../server/config.js';
import { fromRoot } from '../../store/paths.js';
import { startTributary, stopProcess, type Started } from '../helpers/cli.js';
import { INITIATE } from '../services/payments/replicas.js';

const CHROMIUM = process.env.CHROMIUM_PATH ?? '/usr/bin/chromium';
const ARTIFACTS = fromRoot('test-artifacts', 'console');
const DOCS = fromRoot('docs', 'console');
const WAIT = { timeout: 60_000 };
/**
 * A partner turns red when half of its calls over the last minute failed (datasources/partner-health.ts).
 * While Stripe is broken, the webhook's one failed call is all the traffic it gets, so the payment's
 * own successful calls must first leave that minute: red comes about 60 s after the payment was made.
 */
const RED_WAIT = { timeout: 150_000 };

let dataDir: string;
let started: Started;
let browser: Browser;
let key: DevSigningKey;

const token = (subject: string, scopes: string[]) =>
  signDevToken(key, { subject, scopes, issuer: DEV_ISSUER, audience: DEV_AUDIENCE });

async function shot(page: Page, name: string): Promise<void> {
  const file = join(ARTIFACTS, `${name}.png`);
  await page.screenshot({ path: file });
  await copyFile(file, join(DOCS, `${name}.png`));
}

async function login(page: Page, bearer: string): Promise<void> {
  await page.goto(`${started.url}/ops/`);
  await page.getByTestId('token-input').fill(bearer);
  await page.getByTestId('login-submit').click();
}

async function faults(rules: unknown[] | null): Promise<void> {
  const response = await fetch(`${started.sandboxes.stripe}/__sandbox/faults`, {
    method: rules ? 'POST' : 'DELETE',
    headers: { 'content-type': 'application/json' },
    ...(rules ? { body: JSON.stringify(rules) } : {}),
  });
  expect(response.ok).toBe(true);
}

beforeAll(async () => {
  if (!existsSync(CHROMIUM)) {
    throw new Error(
      `Chromium not found at ${CHROMIUM}: the console's browser tests need it. ` +
        'Run `apt-get install chromium`, or set CHROMIUM_PATH to a Chromium binary.',
    );
  }
  await mkdir(ARTIFACTS, { recursive: true });
  await mkdir(DOCS, { recursive: true });
  dataDir = await mkdtemp(join(tmpdir(), 'tributary-console-'));
  // One attempt per webhook: an event that fails once is a dead letter, waiting for an operator.
  started = await startTributary(dataDir, { WEBHOOK_MAX_ATTEMPTS: '1' });
  expect(started.sandboxes.stripe).toBeDefined();
  key = (await loadDevKey(dataDir))!;
  browser = await chromium.launch({ executablePath: CHROMIUM, args: ['--no-sandbox'] });
}, 180_000);

afterAll(async () => {
  await browser?.close();
  if (started) await stopProcess(started.child);
  if (dataDir) await rm(dataDir, { recursive: true, force: true });
});

describe('the ops console', { timeout: 300_000 }, () => {
  it('logs in with an ops token and shows every page', async () => {
    const page = await browser.newPage({ viewport: { width: 1280, height: 800 } });
    await login(page, await token('ops_oncall', ['ops:read', 'ops:write']));
    await page.getByTestId('partner-row-stripe').waitFor(WAIT);
    await page.getByTestId('latency-chart').waitFor(WAIT);
    for (const name of ['webhooks', 'payments', 'reconciliation', 'audit']) {
      await page.getByTestId(`nav-${name}`).click();
      await page.getByTestId(`page-${name}`).waitFor(WAIT);
    }
    await page.locator('[data-testid="audit-status"][data-ok="true"]').waitFor(WAIT);
    await expect(page.getByTestId('audit-status').textContent()).resolves.toContain('intact');
    await page.close();
  });

  it('turns a failing partner red, dead-letters its webhook, and replays it to PROCESSED', async () => {
    // A card payment, left PROCESSING at the partner.
    const initiated = await fetch(`${started.url}/graphql`, {
      method: 'POST',
      headers: { 'content-type': 'application/json', authorization: `Bearer ${started.token}` },
      body: JSON.stringify({
        query: INITIATE,
        variables: {
          input: {
            paymentMethodId: 'pm_sandbox_processing',
            amount: { amount: '12.34', currency: 'GBP' },
            reference: 'Console e2e',
          },
          key: `console-${randomBytes(8).toString('hex')}`,
        },
      }),
    });
    const answer = (await initiated.json()) as {
      data?: { initiatePayment: { payment: { id: string } } };
      errors?: unknown;
    };
    expect(answer.errors).toBeUndefined();
    const paymentId = answer.data!.initiatePayment.payment.id;
    const intentId = decodeId(paymentId, 'Payment')!.partnerId;

    const page = await browser.newPage({ viewport: { width: 1280, height: 800 } });
    await login(page, await token('ops_oncall', ['ops:read', 'ops:write']));
    await page.getByTestId('partner-row-stripe').waitFor(WAIT);

    // The partner fails every call; it settles the charge and tells us by webhook, which we cannot check.
    await faults([{ kind: 'status', status: 503 }]);
    const settled = await fetch(
      `${started.sandboxes.stripe}/__sandbox/stripe/payment_intents/${intentId}/status`,
      {
        method: 'POST',
        headers: { 'content-type': 'application/json' },
        body: '{"status":"succeeded"}',
      },
    );
    expect(settled.status).toBe(200);
    await page.locator('[data-testid="breaker-stripe"][data-health="red"]').waitFor(RED_WAIT);
    await shot(page, 'partners');

    await page.getByTestId('nav-webhooks').click();
    const dead = page.locator('[data-testid="webhook-row"][data-status="DEAD_LETTER"]').first();
    await dead.waitFor(WAIT);
    // Dead letters come first.
    await expect(page.getByTestId('webhook-row').first().getAttribute('data-status')).resolves.toBe(
      'DEAD_LETTER',
    );
    await dead.click();
    await page.locator('[data-testid="detail-status"][data-status="DEAD_LETTER"]').waitFor(WAIT);
    await shot(page, 'webhooks');

    // The partner is back; the operator replays the event (confirming the dialog).
    await faults(null);
    await page.getByTestId('replay-button').click();
    await page.getByTestId('replay-dialog').waitFor(WAIT);
    await page.getByTestId('replay-confirm').click();
    await page.getByTestId('replay-result').filter({ hasText: 'Replayed' }).waitFor(WAIT);
    await page.locator('[data-testid="detail-status"][data-status="PROCESSED"]').waitFor(WAIT);
    await shot(page, 'webhook-replayed');

    for (const name of ['payments', 'audit']) {
      await page.getByTestId(`nav-${name}`).click();
      await page.getByTestId(`page-${name}`).waitFor(WAIT);
    }
    await page.locator('[data-testid="audit-status"][data-ok="true"]').waitFor(WAIT);
    await shot(page, 'audit');
    await page.getByTestId('nav-payments').click();
    await page.getByTestId('page-payments').waitFor(WAIT);
    await page
      .locator('[data-testid="attention-empty"], [data-testid="attention-row"]')
      .first()
      .waitFor(WAIT);
    await shot(page, 'payments');
    await page.getByTestId('nav-reconciliation').click();
    await page.getByTestId('reconcile-run').click();
    await page.getByTestId('reconciliation-summary').filter({ hasText: 'operator:ops_oncall' }).waitFor(WAIT);
    await shot(page, 'reconciliation');
    await page.close();
  });

  it('refuses a replay to an operator without ops:write', async () => {
    const page = await browser.newPage({ viewport: { width: 1280, height: 800 } });
    await login(page, await token('ops_reader', ['ops:read']));
    await page.getByTestId('partner-row-stripe').waitFor(WAIT);
    await page.getByTestId('nav-webhooks').click();
    const row = page.getByTestId('webhook-row').first();
    await row.waitFor(WAIT);
    await row.click();
    await page.getByTestId('webhook-detail').waitFor(WAIT);
    await page.getByTestId('replay-button').click();
    await page.getByTestId('replay-confirm').click();
    await page.getByTestId('error').filter({ hasText: 'needs ops:write' }).waitFor(WAIT);
    await page.close();
  });

  it('refuses a customer token at login', async () => {
    const page = await browser.newPage({ viewport: { width: 1280, height: 800 } });
    await login(page, started.token);
    await page.getByTestId('error').filter({ hasText: 'needs ops:read' }).waitFor(WAIT);
    await expect(page.getByTestId('login').isVisible()).resolves.toBe(true);
    await expect(page.getByTestId('main').isVisible()).resolves.toBe(false);
    await shot(page, 'login-refused');
    await page.close();
  });
});
