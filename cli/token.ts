import { ALL_SCOPES, loadOrCreateDevKey, signDevToken } from '../server/auth.js';
import { configOrExit } from './common.js';

export async function runToken(options: { subject: string; scopes: string; ttl: string }): Promise<void> {
  const config = configOrExit();
  if (config.production || config.auth.mode !== 'dev') {
    process.stderr.write(
      'tributary token issues development tokens only; this deployment uses a real identity provider.\n',
    );
    process.exit(2);
  }
  const scopes = options.scopes.split(/\s+/).filter(Boolean);
  const unknown = scopes.filter((scope) => !(ALL_SCOPES as readonly string[]).includes(scope));
  if (unknown.length > 0) {
    process.stderr.write(`unknown scopes: ${unknown.join(' ')}\nknown: ${ALL_SCOPES.join(' ')}\n`);
    process.exit(2);
  }
  const key = await loadOrCreateDevKey(config.dataDir);
  const token = await signDevToken(key, {
    subject: options.subject,
    scopes,
    issuer: config.auth.issuer,
    audience: config.auth.audience,
    ttlSeconds: Number(options.ttl),
  });
  process.stdout.write(`${token}\n`);
}
