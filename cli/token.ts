import { resolve } from 'node:path';
import { ALL_SCOPES, loadDevKey, signDevToken } from '../server/auth.js';
import { configOrExit } from './common.js';

/** The longest development token `tributary token` issues: 30 days. */
export const MAX_TOKEN_TTL_SECONDS = 30 * 24 * 3600;

const UNITS: Readonly<Record<string, number>> = { s: 1, m: 60, h: 3600, d: 86_400 };

/**
 * A token lifetime from `--ttl`: whole seconds ("3600") or with a unit ("90s", "15m", "12h", "7d"),
 * at least one second and at most MAX_TOKEN_TTL_SECONDS. Anything else is a message for the user,
 * never an already-expired or decade-long token.
 */
export function parseTtl(text: string): { seconds: number } | { problem: string } {
  const match = /^\s*(\d{1,9})\s*([smhd]?)\s*$/.exec(text);
  if (!match) {
    return { problem: `--ttl ${JSON.stringify(text)}: give whole seconds or a duration like 15m, 12h or 7d` };
  }
  const seconds = Number(match[1]) * (UNITS[match[2] || 's'] ?? 1);
  if (seconds < 1) return { problem: '--ttl: a token must live at least one second' };
  if (seconds > MAX_TOKEN_TTL_SECONDS) {
    return { problem: `--ttl: at most ${MAX_TOKEN_TTL_SECONDS} seconds (30 days) for a development token` };
  }
  return { seconds };
}

export async function runToken(options: { subject: string; scopes: string; ttl: string }): Promise<void> {
  const config = configOrExit();
  if (config.production || config.auth.mode !== 'dev') {
    process.stderr.write(
      'tributary token issues development tokens only; this deployment uses a real identity provider.\n',
    );
    process.exit(2);
  }
  const ttl = parseTtl(options.ttl);
  if ('problem' in ttl) {
    process.stderr.write(`${ttl.problem}\n`);
    process.exit(2);
  }
  const scopes = options.scopes.split(/\s+/).filter(Boolean);
  const unknown = scopes.filter((scope) => !(ALL_SCOPES as readonly string[]).includes(scope));
  if (unknown.length > 0) {
    process.stderr.write(`unknown scopes: ${unknown.join(' ')}\nknown: ${ALL_SCOPES.join(' ')}\n`);
    process.exit(2);
  }
  // The server signs with the key in its data directory; a token signed with any other key is refused
  // there, so a missing key is an error naming the directory, never a fresh key.
  const dataDir = resolve(config.dataDir);
  const key = await loadDevKey(dataDir);
  if (!key) {
    process.stderr.write(
      [
        `No development signing key in ${dataDir} (TRIBUTARY_DATA_DIR=${config.dataDir}).`,
        'A token is only accepted by a server started on the same data directory: run `npm start` there first,',
        'or set TRIBUTARY_DATA_DIR to the directory the server uses (npm start prints the exact command).',
        '',
      ].join('\n'),
    );
    process.exit(2);
  }
  const token = await signDevToken(key, {
    subject: options.subject,
    scopes,
    issuer: config.auth.issuer,
    audience: config.auth.audience,
    ttlSeconds: ttl.seconds,
  });
  process.stdout.write(`${token}\n`);
}
