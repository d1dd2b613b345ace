/**
 * Starting, calling and killing replica processes (replica-process.ts) from an end-to-end test.
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import { CUSTOMER_SCOPES, loadOrCreateDevKey, signDevToken } from '../../../server/auth.js';
import { DEV_AUDIENCE, DEV_ISSUER } from '../../../server/config.js';

const ENTRY = fileURLToPath(new URL('./replica-process.ts', import.meta.url));

export interface Replica {
  url: string;
  child: ChildProcess;
  /** Resolves with how the process ended. */
  exited: Promise<{ code: number | null; signal: NodeJS.Signals | null }>;
  stop(): Promise<void>;
}

/** Spawns a replica and resolves once it prints READY. */
export async function startReplica(env: Record<string, string>): Promise<Replica> {
  const child = spawn(process.execPath, ['--import', 'tsx', ENTRY], {
    env: { ...process.env, ...env },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  const exited = new Promise<{ code: number | null; signal: NodeJS.Signals | null }>((resolve) =>
    child.once('exit', (code, signal) => resolve({ code, signal })),
  );
  let stderr = '';
  child.stderr!.on('data', (chunk: Buffer) => {
    stderr = (stderr + chunk.toString()).slice(-4000);
  });
  const url = await new Promise<string>((resolve, reject) => {
    let out = '';
    const timer = setTimeout(() => reject(new Error(`replica did not start in time: ${stderr}`)), 150_000);
    child.stdout!.on('data', (chunk: Buffer) => {
      out += chunk.toString();
      const match = /READY (\S+)/.exec(out);
      if (match) {
        clearTimeout(timer);
        resolve(match[1]!);
      }
    });
    void exited.then(({ code, signal }) => {
      clearTimeout(timer);
      reject(new Error(`replica exited (${code ?? signal}) before it was ready: ${stderr}`));
    });
  });
  return {
    url,
    child,
    exited,
    async stop() {
      if (child.exitCode === null && child.signalCode === null) child.kill('SIGTERM');
      await exited;
    },
  };
}

/** A token the replicas accept: they share the dev signing key in the data directory. */
export async function tokenFor(dataDir: string, subject: string): Promise<string> {
  const key = await loadOrCreateDevKey(dataDir);
  return signDevToken(key, { subject, scopes: CUSTOMER_SCOPES, issuer: DEV_ISSUER, audience: DEV_AUDIENCE });
}

export interface Answer {
  status: number;
  replayedHeader: string | null;
  body: {
    data?: Record<string, unknown> | null;
    errors?: { message: string; extensions?: Record<string, unknown> }[];
    extensions?: Record<string, unknown>;
  };
}

/** POSTs one GraphQL request. */
export async function post(
  url: string,
  token: string,
  query: string,
  variables: Record<string, unknown>,
): Promise<Answer> {
  const response = await fetch(`${url}/graphql`, {
    method: 'POST',
    headers: { 'content-type': 'application/json', authorization: `Bearer ${token}` },
    body: JSON.stringify({ query, variables }),
  });
  return {
    status: response.status,
    replayedHeader: response.headers.get('idempotent-replayed'),
    body: (await response.json()) as Answer['body'],
  };
}

export const INITIATE = /* GraphQL */ `
  mutation Pay($input: InitiatePaymentInput!, $key: String!) {
    initiatePayment(input: $input, idempotencyKey: $key) {
      payment {
        id
        status
        amount {
          amount
          currency
        }
        events {
          status
          source
        }
      }
      userErrors {
        code
        message
        field
      }
    }
  }
`;
