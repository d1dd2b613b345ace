/**
 * Benchmark processes: every server under test runs as its own child process (so its CPU time can be
 * read from /proc/<pid>/stat), pinned to CPU 0 with taskset when the machine has it; the sandboxes and
 * the load generator (this process) share CPU 1. A child reports readiness with one IPC message.
 */
import { spawn, spawnSync } from 'node:child_process';
import { readdirSync, readFileSync } from 'node:fs';
import { cpus } from 'node:os';
import { fileURLToPath } from 'node:url';

/** CPU numbers for the server under test and for everything else; null when pinning is unavailable. */
export interface Pinning {
  server: number;
  load: number;
}

export function detectPinning(): Pinning | null {
  if (cpus().length < 2) return null;
  const probe = spawnSync('taskset', ['-V'], { stdio: 'ignore' });
  return probe.status === 0 ? { server: 0, load: 1 } : null;
}

/** Moves every thread of this process to `cpu`. */
export function pinSelf(cpu: number): void {
  spawnSync('taskset', ['-a', '-cp', String(cpu), String(process.pid)], { stdio: 'ignore' });
}

export interface Child<M> {
  pid: number;
  /** The child's ready message. */
  ready: M;
  /** Sends a request over IPC and waits for the child's reply (the sandboxes' control channel). */
  call<R>(request: Record<string, unknown>): Promise<R>;
  stop(): Promise<void>;
}

/**
 * Starts `dist/bench/targets/<name>.js` (or `options.script`, another build's child) with a JSON
 * argument and waits for its ready message.
 */
export async function startChild<M>(
  name: string,
  argument: unknown,
  options: { cpu: number | null; env?: Record<string, string>; script?: string },
): Promise<Child<M>> {
  const script = options.script ?? fileURLToPath(new URL(`./targets/${name}.js`, import.meta.url));
  const node = [process.execPath, script, JSON.stringify(argument)];
  const [command, ...args] = options.cpu === null ? node : ['taskset', '-c', String(options.cpu), ...node];
  const child = spawn(command!, args, {
    // Logs go nowhere (their cost is still paid); errors stay visible.
    stdio: ['ignore', 'ignore', 'inherit', 'ipc'],
    env: { ...process.env, NODE_ENV: 'production', ...options.env },
  });
  const ready = await new Promise<M>((resolve, reject) => {
    const timer = setTimeout(() => reject(new Error(`${name} did not start within 120 s`)), 120_000);
    child.once('message', (message) => {
      clearTimeout(timer);
      resolve(message as M);
    });
    child.once('exit', (code) => {
      clearTimeout(timer);
      reject(new Error(`${name} exited with code ${code} before it was ready`));
    });
  });
  let next = 0;
  const pending = new Map<number, (reply: unknown) => void>();
  child.on('message', (message) => {
    const { id, reply } = message as { id?: number; reply?: unknown };
    if (id !== undefined) pending.get(id)?.(reply);
    if (id !== undefined) pending.delete(id);
  });
  return {
    pid: child.pid!,
    ready,
    call: <R>(request: Record<string, unknown>) =>
      new Promise<R>((resolve) => {
        const id = ++next;
        pending.set(id, (reply) => resolve(reply as R));
        child.send({ ...request, id });
      }),
    stop: () =>
      new Promise<void>((resolve) => {
        if (child.exitCode !== null) return resolve();
        child.once('exit', () => resolve());
        child.kill('SIGTERM');
      }),
  };
}

const TICKS_PER_SECOND = Number(spawnSync('getconf', ['CLK_TCK']).stdout?.toString().trim()) || 100;

/** User + system CPU time of a process so far, in microseconds; null where /proc is not available. */
export function cpuMicros(pid: number): number | null {
  try {
    const stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
    // Fields after the command name (which may hold spaces): state is the first, utime the 12th.
    const fields = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
    const ticks = Number(fields[11]) + Number(fields[12]);
    return (ticks * 1_000_000) / TICKS_PER_SECOND;
  } catch {
    return null;
  }
}

/**
 * User + system CPU time so far of every PostgreSQL process on this machine (the postmaster, its
 * backends and background workers), in microseconds; null when the database is not local (by its
 * URL's host) or no such process can be read. A backend that exits meanwhile takes its time with it;
 * the pool keeps its connections for the whole run.
 */
export function localPostgresCpuMicros(databaseUrl: string): number | null {
  const host = new URL(databaseUrl).hostname;
  if (!['127.0.0.1', 'localhost', '::1', '[::1]', ''].includes(host)) return null;
  let total = 0;
  let found = false;
  for (const entry of readdirSync('/proc')) {
    if (!/^\d+$/.test(entry)) continue;
    let command: string;
    try {
      command = readFileSync(`/proc/${entry}/comm`, 'utf8').trim();
    } catch {
      continue;
    }
    if (command !== 'postgres') continue;
    const micros = cpuMicros(Number(entry));
    if (micros === null) continue;
    total += micros;
    found = true;
  }
  return found ? total : null;
}
