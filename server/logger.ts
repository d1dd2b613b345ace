/**
 * The pino root logger. Everything else logs through a child of it carrying `correlationId` (and
 * `partner` in datasources). Secrets, tokens, account numbers and every field marked `@pii` in the SDL
 * are redacted wherever they appear: pino's redaction covers the top level and two levels down (errors
 * included, after their serializer), and every plain object or array deeper than that (a GraphQL
 * operation's variables at debug level) is walked for the same keys before it is written.
 */
import { pino, type DestinationStream, type Logger, type LoggerOptions } from 'pino';
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

function redactPaths(keys: readonly string[]): string[] {
  const paths = new Set<string>();
  for (const key of keys) {
    const segment = /^[A-Za-z_$][\w$]*$/.test(key) ? key : `["${key}"]`;
    const join = (prefix: string) =>
      segment.startsWith('[') ? `${prefix}${segment}` : `${prefix}.${segment}`;
    paths.add(segment);
    paths.add(join('*'));
    paths.add(join('*.*'));
  }
  return [...paths];
}

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
 * The value with every property named in `keys` censored, at any depth of plain objects and arrays;
 * the same value when there is nothing to censor (no copy on the common path).
 */
export function redactDeep(value: unknown, keys: ReadonlySet<string>, depth = 0): unknown {
  if (value === null || typeof value !== 'object') return value;
  if (depth > MAX_DEPTH) return CENSOR;
  if (Array.isArray(value)) {
    let copy: unknown[] | null = null;
    value.forEach((item, index) => {
      const redacted = redactDeep(item, keys, depth + 1);
      if (redacted !== item) (copy ??= [...value])[index] = redacted;
    });
    return copy ?? value;
  }
  if (!isPlain(value)) return value;
  let copy: Record<string, unknown> | null = null;
  for (const [key, item] of Object.entries(value)) {
    const redacted = keys.has(key) ? CENSOR : redactDeep(item, keys, depth + 1);
    if (redacted !== item) (copy ??= { ...(value as Record<string, unknown>) })[key] = redacted;
  }
  return copy ?? value;
}

export function createLogger(settings: LoggerSettings): Logger {
  const keys = [...SECRET_KEYS, ...(settings.piiFields ?? sdlPiiFields())];
  const keySet = new Set(keys);
  const options: LoggerOptions = {
    level: settings.level,
    base: { service: 'tributary' },
    timestamp: pino.stdTimeFunctions.isoTime,
    redact: { paths: redactPaths(keys), censor: CENSOR },
    formatters: {
      level: (label) => ({ level: label }),
      log: (object) => redactDeep(object, keySet) as Record<string, unknown>,
    },
  };
  return settings.destination ? pino(options, settings.destination) : pino(options);
}

export type { Logger };
