/**
 * The real command line as a user runs it: `tributary start` as a child process on a free port with its
 * own data directory (resolved once it printed its URL, its token and its sandboxes), and one-shot
 * commands such as `tributary token` against the same data directory.
 */
import { execFile, spawn, type ChildProcess } from 'node:child_process';
import { tmpdir } from 'node:os';
import { fromRoot } from '../../store/paths.js';

export interface Started {
  child: ChildProcess;
  /** The server's origin, without `/graphql`. */
  url: string;
  /** The printed development token (cust_alice, every customer scope). */
  token: string;
  /** The partner sandboxes' base URLs by partner name, as printed. */
  sandboxes: Record<string, string>;
  output: () => string;
}

const running = new Set<ChildProcess>();

/** The environment a user's shell would give the CLI: a data directory, a free port, quiet logs. */
export function cliEnv(dataDir: string, extra: Record<string, string> = {}): NodeJS.ProcessEnv {
  return {
    PATH: process.env.PATH ?? '',
    HOME: process.env.HOME ?? tmpdir(),
    NODE_ENV: 'development',
    HOST: '127.0.0.1',
    PORT: '0',
    LOG_LEVEL: 'warn',
    TRIBUTARY_DATA_DIR: dataDir,
    ...extra,
  };
}

/** Runs `tributary start` from source and resolves once it printed its URL, token and sandboxes. */
export function startTributary(
  dataDir: string,
  extra: Record<string, string> = {},
  args: readonly string[] = [],
): Promise<Started> {
  const child = spawn(process.execPath, ['--import', 'tsx', fromRoot('cli', 'main.ts'), 'start', ...args], {
    cwd: fromRoot(),
    env: cliEnv(dataDir, extra),
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  running.add(child);
  let stdout = '';
  let stderr = '';
  const output = () => `stdout:\n${stdout}\nstderr:\n${stderr}`;
  return new Promise((resolve, reject) => {
    const timer = setTimeout(() => reject(new Error(`no token within 150 s\n${output()}`)), 150_000);
    child.stderr!.on('data', (chunk: Buffer) => (stderr += chunk.toString()));
    child.stdout!.on('data', (chunk: Buffer) => {
      stdout += chunk.toString();
      const url = /Tributary is serving on (http:\/\/\S+)\/graphql/.exec(stdout)?.[1];
      const token = /export TOKEN=(\S+)/.exec(stdout)?.[1];
      // The banner ends with its last line; the sandboxes' block, when there is one, comes before it.
      if (url && token && stdout.includes('Stop with Ctrl-C.')) {
        clearTimeout(timer);
        const block = /Partner sandboxes[^\n]*\n\n((?: {2}\S+ +\S+\n)+)/.exec(stdout)?.[1] ?? '';
        const sandboxes = Object.fromEntries(
          [...block.matchAll(/^ {2}(\w+) +(https?:\/\/\S+)$/gm)].map((match) => [match[1]!, match[2]!]),
        );
        resolve({ child, url, token, sandboxes, output });
      }
    });
    child.on('exit', (code, signal) => {
      clearTimeout(timer);
      reject(new Error(`tributary start exited (${code ?? signal}) before printing a token\n${output()}`));
    });
  });
}

/** Stops a started process: SIGTERM (graceful close), SIGKILL if it lingers. */
export async function stopProcess(child: ChildProcess): Promise<void> {
  if (child.exitCode === null && child.signalCode === null) {
    const exited = new Promise<void>((resolve) => child.once('exit', () => resolve()));
    child.kill('SIGTERM');
    const timer = setTimeout(() => child.kill('SIGKILL'), 10_000);
    await exited;
    clearTimeout(timer);
  }
  running.delete(child);
}

/** Stops every process this file started and has not stopped yet (for afterAll). */
export async function stopAll(): Promise<void> {
  for (const child of running) await stopProcess(child);
}

export interface CliResult {
  code: number;
  stdout: string;
  stderr: string;
}

/** Runs one `tributary` command from source to completion. */
export function runCli(args: string[], env: NodeJS.ProcessEnv): Promise<CliResult> {
  return new Promise((resolve) => {
    execFile(
      process.execPath,
      ['--import', 'tsx', fromRoot('cli', 'main.ts'), ...args],
      { cwd: fromRoot(), env, timeout: 60_000 },
      (error, stdout, stderr) => {
        const code = error ? (typeof error.code === 'number' ? error.code : 1) : 0;
        resolve({ code, stdout, stderr });
      },
    );
  });
}
