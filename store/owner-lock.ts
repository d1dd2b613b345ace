/**
 * One owner for the embedded database. PGlite is a single process's database: a second process opening
 * the same directory works on its own copy of the pages, and what either writes afterwards can vanish.
 * So the server that opens `<dataDir>` takes `<dataDir>/tributary.lock` (created exclusively) holding
 * `{ pid, url, startedAt }`, fills in its address once it listens, and removes the file on a clean
 * shutdown. A lock whose pid is no longer alive (a crash, SIGKILL) is stale and taken over. PostgreSQL
 * needs none of this: it has many clients by design.
 */
import { readFile, rename, stat, unlink, writeFile } from 'node:fs/promises';
import { mkdirSync, readFileSync, unlinkSync } from 'node:fs';
import { join } from 'node:path';

export const OWNER_LOCK_FILE = 'tributary.lock';

/** What the owner wrote: its process id, its HTTP base address (null until it listens), when it started. */
export interface DatabaseOwner {
  pid: number;
  url: string | null;
  startedAt: string;
}

/** Another live process holds the embedded database in `dataDir`. */
export class DatabaseInUseError extends Error {
  override name = 'DatabaseInUseError';
  constructor(
    readonly dataDir: string,
    readonly owner: DatabaseOwner,
  ) {
    super(
      `the embedded database in ${dataDir} is held by the Tributary server at ${owner.url ?? '(still starting)'} ` +
        `(pid ${owner.pid}, since ${owner.startedAt}); stop it first, or use another TRIBUTARY_DATA_DIR`,
    );
  }
}

/** Whether a process with this id is running (EPERM: it is, under another user). */
export function processAlive(pid: number): boolean {
  if (!Number.isInteger(pid) || pid <= 0) return false;
  try {
    process.kill(pid, 0);
    return true;
  } catch (error) {
    return (error as NodeJS.ErrnoException).code === 'EPERM';
  }
}

const lockPath = (dataDir: string) => join(dataDir, OWNER_LOCK_FILE);

/** A lock file being written right now may be empty for a moment; older than this, unreadable is stale. */
const FRESH_MS = 5_000;

type LockState = { kind: 'none' } | { kind: 'live'; owner: DatabaseOwner } | { kind: 'stale' };

async function lockState(dataDir: string): Promise<LockState> {
  const file = lockPath(dataDir);
  let text: string;
  try {
    text = await readFile(file, 'utf8');
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code === 'ENOENT') return { kind: 'none' };
    throw error;
  }
  let owner: DatabaseOwner | null = null;
  try {
    const parsed = JSON.parse(text) as Partial<DatabaseOwner>;
    if (typeof parsed.pid === 'number')
      owner = {
        pid: parsed.pid,
        url: typeof parsed.url === 'string' ? parsed.url : null,
        startedAt: typeof parsed.startedAt === 'string' ? parsed.startedAt : '?',
      };
  } catch {
    owner = null;
  }
  if (owner) return processAlive(owner.pid) ? { kind: 'live', owner } : { kind: 'stale' };
  const age = await stat(file).then(
    (stats) => Date.now() - stats.mtimeMs,
    () => Infinity,
  );
  return age < FRESH_MS
    ? { kind: 'live', owner: { pid: 0, url: null, startedAt: new Date().toISOString() } }
    : { kind: 'stale' };
}

/** The live process holding the embedded database in `dataDir`, or null (no lock, or a stale one). */
export async function databaseOwner(dataDir: string): Promise<DatabaseOwner | null> {
  const state = await lockState(dataDir);
  return state.kind === 'live' ? state.owner : null;
}

export interface OwnerLock {
  /** Records where the owner listens, for the CLI to reach it. */
  announce(url: string): Promise<void>;
  /** Removes the lock if it is still this process's. */
  release(): Promise<void>;
}

/**
 * Takes the embedded database in `dataDir` for this process; throws DatabaseInUseError while another
 * live process holds it. A stale lock is taken over.
 */
export async function claimDatabase(dataDir: string, pid: number = process.pid): Promise<OwnerLock> {
  mkdirSync(dataDir, { recursive: true });
  const file = lockPath(dataDir);
  const startedAt = new Date().toISOString();
  const content = (url: string | null) => JSON.stringify({ pid, url, startedAt } satisfies DatabaseOwner);
  for (let attempt = 0; ; attempt++) {
    try {
      await writeFile(file, content(null), { flag: 'wx', mode: 0o644 });
      break;
    } catch (error) {
      if ((error as NodeJS.ErrnoException).code !== 'EEXIST') throw error;
    }
    const state = await lockState(dataDir);
    if (state.kind === 'live' && state.owner.pid !== pid) throw new DatabaseInUseError(dataDir, state.owner);
    if (attempt >= 3) throw new Error(`could not take ${file}`);
    // Stale (or this very process's, left by an earlier start in it): remove and take it.
    await unlink(file).catch((error: NodeJS.ErrnoException) => {
      if (error.code !== 'ENOENT') throw error;
    });
  }
  const ours = async () => (await databaseOwner(dataDir))?.pid === pid;
  // However the process ends (process.exit on a signal, the database engine exiting), a clean exit
  // leaves no lock behind; only a kill or a crash of the runtime leaves a stale one.
  const onExit = () => {
    try {
      if ((JSON.parse(readFileSync(file, 'utf8')) as DatabaseOwner).pid === pid) unlinkSync(file);
    } catch {
      // Gone already, or another's: nothing to do.
    }
  };
  process.once('exit', onExit);
  return {
    async announce(url) {
      // Written beside and renamed over, so a reader never sees half a file.
      const next = `${file}.${pid}.tmp`;
      await writeFile(next, content(url), { mode: 0o644 });
      await rename(next, file);
    },
    async release() {
      process.off('exit', onExit);
      if (await ours())
        await unlink(file).catch((error: NodeJS.ErrnoException) => {
          if (error.code !== 'ENOENT') throw error;
        });
    },
  };
}
