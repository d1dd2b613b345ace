/**
 * The crash switch: kills the process with SIGKILL when a money-moving operation reaches a recovery
 * point, so end-to-end tests can prove that a real crash (no cleanup, no lease release, no rollback
 * hooks) between the partner call and the local commit loses nothing and duplicates nothing.
 *
 * Development and test only: it is refused in production, and it is enabled by configuration
 * (`TRIBUTARY_CRASH_AT=<point>[:<mutation>]`, read by server/config.ts), never by a request.
 */
import { IDEMPOTENT_MUTATIONS, type IdempotentMutation } from './keys.js';
import type { Checkpoint, CrashPoint } from './runner.js';

/** Every point the switch can name, in the order an operation reaches them. */
export const CRASH_POINTS: readonly CrashPoint[] = [
  'started',
  'partner_requested',
  'partner_called',
  'partner_confirmed',
];

/** Parses `<point>[:<mutation>]`; throws on anything else, so a typo cannot silently disable a test. */
export function parseCrashSwitch(value: string): { point: CrashPoint; mutation: IdempotentMutation | null } {
  const [point, mutation = null] = value.split(':');
  if (!CRASH_POINTS.includes(point as CrashPoint)) {
    throw new Error(`Unknown crash point "${point}"; use one of ${CRASH_POINTS.join(', ')}.`);
  }
  if (mutation !== null && !(IDEMPOTENT_MUTATIONS as readonly string[]).includes(mutation)) {
    throw new Error(`Unknown mutation "${mutation}" in the crash switch.`);
  }
  return { point: point as CrashPoint, mutation: mutation as IdempotentMutation | null };
}

/** A checkpoint that SIGKILLs this process at the switch's point. Refused in production. */
export function crashSwitch(value: string, production: boolean): Checkpoint {
  if (production) throw new Error('The crash switch is for development and tests only.');
  const target = parseCrashSwitch(value);
  return (point, mutation) => {
    if (point === target.point && (target.mutation === null || target.mutation === mutation)) {
      process.kill(process.pid, 'SIGKILL');
    }
  };
}
