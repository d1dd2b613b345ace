/**
 * The CLI beside a running server on the embedded database. PGlite has one owner (store/owner-lock.ts):
 * while a server holds `<dataDir>/tributary.lock`, commands that would open the database run through
 * that server's ops API (server/ops-routes.ts) instead, with an ops token: TRIBUTARY_OPS_TOKEN, or in
 * development one signed with the data directory's key (scopes ops:read ops:write, subject the
 * user name: the server audits it as `operator:<username>`). A command with no API equivalent refuses and says who holds the directory.
 */
import { userInfo } from 'node:os';
import { resolve } from 'node:path';
import { loadDevKey, OPS_SCOPES, signDevToken } from '../server/auth.js';
import type { Config } from '../server/config.js';
import { databaseOwner, type DatabaseOwner } from '../store/owner-lock.js';

/** A live server holding the embedded database, with its address. */
export interface RunningOwner extends DatabaseOwner {
  url: string;
  dataDir: string;
}

/** How long to wait for a server that holds the lock but does not listen yet. */
const STARTING_WAIT_MS = 15_000;

/**
 * The live server holding this configuration's embedded database, or null (PostgreSQL, no lock, a
 * stale lock): then the command opens the database itself.
 */
export async function runningServer(config: Config): Promise<RunningOwner | null> {
  if (config.database.url) return null;
  const dataDir = config.database.dataDir;
  const deadline = Date.now() + STARTING_WAIT_MS;
  for (;;) {
    const owner = await databaseOwner(dataDir);
    if (!owner) return null;
    if (owner.url) return { ...owner, url: owner.url, dataDir };
    if (Date.now() > deadline) {
      process.stderr.write(
        `the Tributary server (pid ${owner.pid}) holding ${resolve(dataDir)} has not started listening; ` +
          'try again once it serves, or stop it\n',
      );
      process.exit(2);
    }
    await new Promise((done) => setTimeout(done, 250));
  }
}

/** Exit 2 for a command that needs the database itself: the server holds it. */
export function refuseWhileServing(owner: RunningOwner, command: string): never {
  process.stderr.write(
    `${command}: the server at ${owner.url} (pid ${owner.pid}) holds ${resolve(owner.dataDir)}; stop it first\n`,
  );
  process.exit(2);
}

/** Where a command ran: through the running server, or on the database itself. */
export function announceRemote(owner: RunningOwner): void {
  process.stderr.write(`(through the running server at ${owner.url}, pid ${owner.pid})\n`);
}

/**
 * The operator's token subject: the user name (odd characters replaced). The server records the actor
 * as `operator:<subject>`, so the audit log says `operator:<username>` as it does for a local run.
 */
export function operatorSubject(): string {
  return (
    userInfo()
      .username.replace(/[^A-Za-z0-9_.@-]/g, '_')
      .slice(0, 128) || 'unknown'
  );
}

async function opsToken(config: Config, owner: RunningOwner): Promise<string> {
  if (config.opsToken) return config.opsToken;
  const key = config.auth.mode === 'dev' && !config.production ? await loadDevKey(owner.dataDir) : null;
  if (!key) {
    process.stderr.write(
      `the server at ${owner.url} (pid ${owner.pid}) holds ${resolve(owner.dataDir)}: ` +
        'set TRIBUTARY_OPS_TOKEN (a token with ops:read ops:write) to run this through it, or stop it first\n',
    );
    process.exit(2);
  }
  return signDevToken(key, {
    subject: operatorSubject(),
    scopes: OPS_SCOPES,
    issuer: config.auth.issuer,
    audience: config.auth.audience,
    ttlSeconds: 600,
  });
}

/** An ops API answer that is not a success: its status and what the server said. */
export class OpsRequestError extends Error {
  override name = 'OpsRequestError';
  constructor(
    readonly status: number,
    message: string,
    readonly code: string | null,
  ) {
    super(message);
  }
}

/**
 * Calls the running server's ops API (`path` from `/ops/api/...`), JSON in and out. Throws
 * OpsRequestError on an answer outside 2xx; exits 2 when the server does not answer at all.
 */
export async function opsRequest<T>(
  config: Config,
  owner: RunningOwner,
  method: 'GET' | 'POST',
  path: string,
  body?: unknown,
): Promise<T> {
  const token = await opsToken(config, owner);
  let response: Response;
  try {
    response = await fetch(`${owner.url}${path}`, {
      method,
      headers: {
        authorization: `Bearer ${token}`,
        accept: 'application/json',
        ...(body === undefined ? {} : { 'content-type': 'application/json' }),
      },
      ...(body === undefined ? {} : { body: JSON.stringify(body) }),
      signal: AbortSignal.timeout(10 * 60_000),
    });
  } catch (error) {
    process.stderr.write(
      `the server at ${owner.url} (pid ${owner.pid}) holds ${resolve(owner.dataDir)} but did not answer ` +
        `(${(error as Error).message}); stop it, or try again\n`,
    );
    process.exit(2);
  }
  const text = await response.text();
  let parsed: unknown = null;
  try {
    parsed = text ? JSON.parse(text) : null;
  } catch {
    parsed = null;
  }
  if (!response.ok) {
    const { message, code } = errorOf(parsed) ?? { message: text.slice(0, 500), code: null };
    throw new OpsRequestError(response.status, `${method} ${path}: ${response.status} ${message}`, code);
  }
  return parsed as T;
}

/** The message of an error answer: the ops API's `{ error: { code, message } }`. */
function errorOf(body: unknown): { message: string; code: string | null } | null {
  if (!body || typeof body !== 'object') return null;
  const error = (body as { error?: unknown }).error;
  if (!error || typeof error !== 'object') return null;
  const { message, code } = error as { message?: unknown; code?: unknown };
  if (typeof message !== 'string') return null;
  return { message, code: typeof code === 'string' ? code : null };
}

/** Runs `fn` and turns an ops API refusal into a message on stderr and exit 1 (2 for 401/403/404). */
export async function orFail<T>(fn: () => Promise<T>): Promise<T> {
  try {
    return await fn();
  } catch (error) {
    if (!(error instanceof OpsRequestError)) throw error;
    process.stderr.write(`${error.message}\n`);
    process.exit([401, 403, 404].includes(error.status) ? 2 : 1);
  }
}
