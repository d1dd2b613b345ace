/**
 * The pino root logger. Everything else logs through a child of it carrying `correlationId` (and
 * `partner` in datasources). Secrets, tokens, account numbers and every field marked `@pii` in the SDL
 * are redacted, at the top level and up to two levels deep.
 */
import { pino, type DestinationStream, type Logger, type LoggerOptions } from 'pino';

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
  /** Field names marked @pii in the SDL, redacted like secrets. */
  piiFields?: readonly string[];
  /** Write to this stream instead of stdout (tests capture logs with it). */
  destination?: DestinationStream;
}

export function createLogger(settings: LoggerSettings): Logger {
  const options: LoggerOptions = {
    level: settings.level,
    base: { service: 'tributary' },
    timestamp: pino.stdTimeFunctions.isoTime,
    redact: { paths: redactPaths([...SECRET_KEYS, ...(settings.piiFields ?? [])]), censor: '[redacted]' },
    formatters: { level: (label) => ({ level: label }) },
  };
  return settings.destination ? pino(options, settings.destination) : pino(options);
}

export type { Logger };
