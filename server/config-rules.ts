/**
 * The environment's rules that span several variables (config.ts reports them with the field errors),
 * above all what production refuses: the development signing key, sandbox partners, the dev secrets
 * key, no router secret, the embedded database, partner traffic in the clear.
 */
import { PARTNER_MODULES, partnersWith } from '../datasources/modules.js';
import { parseRouteTable } from '../services/payments/routing.js';

/** The dev secrets key: usable only outside production (config refuses it there). */
export const DEV_SECRETS_KEY = `dev:${Buffer.alloc(32, 7).toString('base64')}`;

/** https, or http to a loopback address. */
function trustedTransport(value: string): boolean {
  let url: URL;
  try {
    url = new URL(value);
  } catch {
    return true; // Reported by the field's own rule.
  }
  if (url.protocol === 'https:') return true;
  const host = url.hostname.replace(/^\[|\]$/g, '');
  return url.protocol === 'http:' && (host === 'localhost' || host === '::1' || /^127\./.test(host));
}

/** Rules that span several variables, checked on the raw values so they are reported with the rest. */
export function crossFieldProblems(env: NodeJS.ProcessEnv): string[] {
  const has = (name: string) => (env[name] ?? '').trim() !== '';
  const problems: string[] = [];
  if (has('AUTH_JWKS_URL') && (!has('AUTH_ISSUER') || !has('AUTH_AUDIENCE'))) {
    problems.push('AUTH_ISSUER and AUTH_AUDIENCE are required with AUTH_JWKS_URL');
  }
  for (const module of PARTNER_MODULES)
    problems.push(...module.env.problems(env, env.NODE_ENV === 'production'));
  if (has('PAYMENT_ROUTES'))
    problems.push(...parseRouteTable(env.PAYMENT_ROUTES!, partnersWith('card-payments')).problems);
  const metricsPort = env.METRICS_PORT?.trim();
  if (metricsPort && metricsPort !== '0' && Number(metricsPort) === Number(env.PORT?.trim() || 4001))
    problems.push('METRICS_PORT: must differ from PORT (it is a listener of its own)');
  if (env.NODE_ENV === 'production') {
    if (has('TRIBUTARY_CRASH_AT'))
      problems.push('TRIBUTARY_CRASH_AT: the crash switch is for tests and refused in production');
    if (!has('AUTH_JWKS_URL'))
      problems.push('AUTH_JWKS_URL: production refuses the development signing key; set a JWKS');
    if (!has('ROUTER_SECRET')) problems.push('ROUTER_SECRET: production requires the router shared secret');
    if (!has('SECRETS_KEY') || env.SECRETS_KEY?.trim() === DEV_SECRETS_KEY) {
      problems.push('SECRETS_KEY: production requires a real key ring (kid:base64 of 32 bytes)');
    }
    if (!has('DATABASE_URL'))
      problems.push('DATABASE_URL: production requires PostgreSQL, not the embedded database');
    const urls = PARTNER_MODULES.map((module) => `${module.name.toUpperCase()}_BASE_URL`);
    // Keys and partner traffic cross the network only over TLS (loopback aside: a local proxy, tests).
    for (const name of ['AUTH_JWKS_URL', ...urls]) {
      if (has(name) && !trustedTransport(env[name]!.trim()))
        problems.push(`${name}: production requires https (plain http only to a loopback address)`);
    }
    if (!urls.some(has))
      problems.push(
        `${urls.join(' / ')}: production refuses the local sandboxes; configure at least one partner`,
      );
  }
  return problems;
}
