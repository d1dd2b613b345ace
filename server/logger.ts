/**
 * The pino root logger. Everything else logs through a child of it carrying `correlationId` (and
 * `partner` in datasources). Secrets, tokens, account numbers and every field marked `@pii` in the SDL
 * are redacted wherever they appear: every logged object is walked for those keys, at any depth, before
 * it is written (errors included). pino's own path-based redaction is not used: with a wildcard path per
 * key and depth it cost ~60 µs per log line, more than the rest of the line.
 */
import { destination, pino, type DestinationStream, type Logger, type LoggerOptions } from 'pino';
import { sdlPiiFields } from './sdl.js';

/** Keys that are never logged, wherever they appear. */
const SECRET_KEYS = [
  'authorization',
  'router-authorization',
  'cookie',
  'set-cookie',
  'x-api-key',
  'password',
  'secret',
  'clientSecret',
  'client_secret',
  'accessToken',
  'access_token',
  'refreshToken',
  'refresh_token',
  'idToken',
  'token',
  'accountNumber',
  'iban',
  'Identification',
  'pan',
  'cardNumber',
];

export interface LoggerSettings {
  level: string;
  /** Field names redacted like secrets; default: every field marked `@pii` in the SDL. */
  piiFields?: readonly string[];
  /** Write to this stream instead of stdout (tests capture logs with it). */
  destination?: DestinationStream;
}

const CENSOR = '[redacted]';
/** Deeper than any log object is meant to be: past it, values are dropped rather than walked. */
const MAX_DEPTH = 12;

const isPlain = (value: object): boolean => {
  const prototype = Object.getPrototypeOf(value) as unknown;
  return prototype === Object.prototype || prototype === null;
};

/**
 * The value with every property named in `keys` censored, at any depth of plain objects, arrays and
 * errors (their own enumerable properties and their `cause`); other class instances (a request, a
 * socket) are left to their serializers. The same value comes back when there is nothing to censor (no
 * copy on the common path). An error with something censored becomes the plain object pino's error
 * serializer would have written (type, message, stack, its properties).
 */
export function redactDeep(value: unknown, keys: ReadonlySet<string>, depth = 0): unknown {
  if (value === null || typeof value !== 'object') return value;
  if (depth > MAX_DEPTH) return CENSOR;
  if (Array.isArray(value)) {
    let copy: unknown[] | null = null;
    for (let index = 0; index < value.length; index++) {
      const item: unknown = value[index];
      const redacted = redactDeep(item, keys, depth + 1);
      if (redacted !== item) (copy ??= [...(value as unknown[])])[index] = redacted;
    }
    return copy ?? value;
  }
  const error = value instanceof Error;
  if (!error && !isPlain(value)) return value;
  let copy: Record<string, unknown> | null = null;
  for (const key in value) {
    if (!Object.prototype.hasOwnProperty.call(value, key)) continue;
    const item = (value as Record<string, unknown>)[key];
    const redacted = keys.has(key) ? CENSOR : redactDeep(item, keys, depth + 1);
    if (redacted !== item) (copy ??= { ...(value as Record<string, unknown>) })[key] = redacted;
  }
  if (!error) return copy ?? value;
  const cause = value.cause === undefined ? undefined : redactDeep(value.cause, keys, depth + 1);
  if (copy === null && cause === value.cause) return value;
  return {
    ...(copy ?? value),
    type: value.constructor.name,
    message: value.message,
    stack: value.stack,
    ...(cause === undefined ? {} : { cause }),
  };
}

export function createLogger(settings: LoggerSettings): Logger {
  const keys = [...SECRET_KEYS, ...(settings.piiFields ?? sdlPiiFields())];
  const keySet = new Set(keys);
  const options: LoggerOptions = {
    level: settings.level,
    base: { service: 'tributary' },
    timestamp: pino.stdTimeFunctions.isoTime,
    formatters: {
      level: (label) => ({ level: label }),
      log: (object) => redactDeep(object, keySet) as Record<string, unknown>,
    },
  };
  // Standard output is written asynchronously: lines logged while a write is in flight go out together
  // in the next one (one system call for many lines under load, none held back when idle). pino
  // flushes what is pending synchronously when the process exits.
  return pino(options, settings.destination ?? destination({ dest: 1, sync: false }));
}

export type { Logger };
