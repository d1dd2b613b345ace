/**
 * The README's examples, run as a reader would paste them, against `tributary start` (what `npm start`
 * runs): the dashboard `curl` from "Two commands", the `initiatePayment` mutation from "Trying
 * payments", and every row of its table of test cards with the `curl` commands it gives. Only the
 * host and port (free here, 4001 in the README) and the idempotency key (one per row) are changed.
 */
import { execFile } from 'node:child_process';
import { randomUUID } from 'node:crypto';
import { readFileSync } from 'node:fs';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { decodeId } from '../../domain/ids.js';
import { fromRoot } from '../../store/paths.js';
import { startTributary, stopAll, type Started } from '../helpers/cli.js';

const README = readFileSync(fromRoot('README.md'), 'utf8');

/** The text of the README section that starts with `heading`. */
function section(heading: string): string {
  const start = README.indexOf(`\n${heading}\n`);
  expect(start, heading).toBeGreaterThan(-1);
  const rest = README.slice(start + heading.length + 2);
  const next = rest.search(/\n#{2,3} /);
  return next === -1 ? rest : rest.slice(0, next);
}

function fenced(text: string, language: string): string[] {
  return [...text.matchAll(new RegExp('```' + language + '\\n([\\s\\S]*?)```', 'g'))].map(
    (match) => match[1]!,
  );
}

/** Runs a shell command as pasted, with the variables the README tells the reader to set. */
function shell(command: string, env: Record<string, string>): Promise<string> {
  return new Promise((resolve, reject) => {
    execFile(
      'sh',
      ['-c', command],
      { env: { PATH: process.env.PATH ?? '', ...env }, timeout: 30_000 },
      (error, stdout, stderr) => (error ? reject(new Error(`${command}\n${stderr}`)) : resolve(stdout)),
    );
  });
}

interface Row {
  method: string;
  status: string;
  failureCode: string | null;
  curl: string | null;
}

const ROWS: Row[] = section('### Trying payments')
  .split('\n')
  .filter((line) => line.startsWith('| `pm_'))
  .map((line) => {
    const [method, status, then] = line.split(/ \| /).map((cell) => cell.replace(/^\| /, '').trim());
    return {
      method: method!.replaceAll('`', ''),
      status: status!.replaceAll('`', ''),
      failureCode: /failureCode: ([A-Z_]+)/.exec(then ?? '')?.[1] ?? null,
      curl: /`(curl [^`]+)`/.exec(then ?? '')?.[1] ?? null,
    };
  });

let started: Started;
let dataDir: string;

async function post(query: string, variables: Record<string, unknown> = {}) {
  const response = await fetch(`${started.url}/graphql`, {
    method: 'POST',
    headers: { 'content-type': 'application/json', authorization: `Bearer ${started.token}` },
    body: JSON.stringify({ query, variables }),
  });
  // eslint-disable-next-line @typescript-eslint/no-explicit-any -- answers are checked field by field
  return (await response.json()) as { data?: Record<string, any> | null; errors?: unknown[] };
}

beforeAll(async () => {
  dataDir = await mkdtemp(join(tmpdir(), 'tributary-readme-'));
  started = await startTributary(dataDir);
}, 200_000);

afterAll(async () => {
  await stopAll();
  if (dataDir) await rm(dataDir, { recursive: true, force: true });
}, 30_000);

describe('the README examples against npm start', { timeout: 90_000 }, () => {
  it("runs the dashboard curl of 'Two commands' with the printed token", async () => {
    const [curl] = fenced(section('## Two commands'), 'sh').filter((block) => block.startsWith('curl'));
    expect(curl).toBeDefined();
    const output = await shell(curl!.replace('http://localhost:4001', started.url), { TOKEN: started.token });
    const body = JSON.parse(output) as {
      data: { accounts: { edges: { node: { transactions: unknown } }[] } };
    };
    expect(body).not.toHaveProperty('errors');
    expect(body.data.accounts.edges.length).toBeGreaterThan(0);
  });

  it("settles the initiatePayment example of 'Trying payments' as written", async () => {
    const [mutation] = fenced(section('### Trying payments'), 'graphql');
    const answer = await post(mutation!);
    expect(answer.errors, JSON.stringify(answer.errors)).toBeUndefined();
    expect(answer.data?.initiatePayment).toMatchObject({
      payment: { status: 'SETTLED', failureCode: null, nextAction: null },
      userErrors: [],
    });
  });

  it('lists every test card of the Stripe sandbox', () => {
    expect(ROWS.map((row) => row.method)).toEqual([
      'pm_card_visa',
      'pm_card_mastercard',
      'pm_card_chargeDeclined',
      'pm_card_chargeDeclinedInsufficientFunds',
      'pm_card_chargeDeclinedExpiredCard',
      'pm_card_chargeDeclinedIncorrectCvc',
      'pm_card_authenticationRequired',
      'pm_sandbox_processing',
      'pm_card_createDispute',
    ]);
  });

  it.each(ROWS.map((row) => [row.method, row] as const))(
    'does what the table says for %s',
    async (_, row) => {
      const [mutation] = fenced(section('### Trying payments'), 'graphql');
      const withCard = mutation!
        .replace('"pm_card_visa"', JSON.stringify(row.method))
        .replace('"coffee-beans-0001"', JSON.stringify(`readme-${randomUUID()}`));
      const answer = await post(withCard);
      expect(answer.errors).toBeUndefined();
      const { payment, userErrors } = answer.data!.initiatePayment as {
        payment: { id: string; status: string; failureCode: string | null };
        userErrors: unknown[];
      };
      expect(userErrors).toEqual([]);
      expect(payment).toMatchObject({ status: row.status, failureCode: row.failureCode });
      if (!row.curl) return;

      const PI = decodeId(payment.id, 'Payment')!.partnerId;
      await shell(row.curl, { STRIPE: started.sandboxes.stripe!, PI });
      let status = row.status;
      if (row.status === 'REQUIRES_ACTION') {
        const confirmed = await post(
          'mutation($id: ID!, $key: String!) { confirmPayment(id: $id, idempotencyKey: $key) { payment { status } } }',
          { id: payment.id, key: `readme-confirm-${randomUUID()}` },
        );
        status = confirmed.data?.confirmPayment.payment.status;
      } else {
        const deadline = Date.now() + 60_000;
        while (status !== 'SETTLED' && Date.now() < deadline) {
          await new Promise((resolve) => setTimeout(resolve, 200));
          status = (await post('query($id: ID!) { payment(id: $id) { status } }', { id: payment.id })).data
            ?.payment.status;
        }
      }
      expect(status).toBe('SETTLED');
    },
  );
});
