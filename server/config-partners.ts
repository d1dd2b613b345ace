/**
 * The partner section of the configuration: where each partner is and how it is authenticated, read
 * from the environment config.ts parsed, with the rules that span several partner variables.
 */
import { existsSync } from 'node:fs';
import { z } from 'zod';
import { PROVIDERS, type ProviderName } from '../domain/model.js';
import { optionalText, optionalUrl } from './config-fields.js';

export const PartnerEnvSchema = z.object({
  OPENBANKING_BASE_URL: optionalUrl,
  OPENBANKING_CLIENT_ID: optionalText,
  OPENBANKING_CLIENT_SECRET: optionalText,
  OPENBANKING_TLS_CERT: optionalText,
  OPENBANKING_TLS_KEY: optionalText,
  OPENBANKING_TLS_CA: optionalText,
  PLAID_BASE_URL: optionalUrl,
  PLAID_CLIENT_ID: optionalText,
  PLAID_SECRET: optionalText,
  STRIPE_BASE_URL: optionalUrl,
  STRIPE_SECRET_KEY: optionalText,
  PAYMENT_RETURN_URL: optionalUrl,
});
type PartnerEnv = z.infer<typeof PartnerEnvSchema>;

/** A partner reached at a configured URL with its credentials. */
export interface PartnerEndpointConfig {
  baseUrl: string;
  /** Null for partners that authenticate with a secret alone (Stripe). */
  clientId: string | null;
  clientSecret: string;
  /** Client certificate for mutual TLS (Open Banking requires one); null: plain server-verified TLS. */
  tls?: PartnerTlsFiles | null;
}

/** PEM files for mutual TLS with a partner. */
export interface PartnerTlsFiles {
  certFile: string;
  keyFile: string;
  /** The CA that issued the partner's server certificate; null: the system's trust store. */
  caFile: string | null;
}

/** Where each partner's endpoint and credentials come from in the environment. */
const PARTNER_ENV = {
  openbanking: {
    url: 'OPENBANKING_BASE_URL',
    id: 'OPENBANKING_CLIENT_ID',
    secret: 'OPENBANKING_CLIENT_SECRET',
  },
  plaid: { url: 'PLAID_BASE_URL', id: 'PLAID_CLIENT_ID', secret: 'PLAID_SECRET' },
  stripe: { url: 'STRIPE_BASE_URL', id: null, secret: 'STRIPE_SECRET_KEY' },
} satisfies Record<ProviderName, { url: string; id: string | null; secret: string }>;

/** Each partner's endpoint; null for a partner the environment does not configure. */
export function partnersFrom(e: PartnerEnv): Record<ProviderName, PartnerEndpointConfig | null> {
  return Object.fromEntries(
    PROVIDERS.map((name) => {
      const names = PARTNER_ENV[name];
      const env = e as unknown as Record<string, string | undefined>;
      const baseUrl = env[names.url];
      const endpoint = baseUrl
        ? {
            baseUrl,
            clientId: names.id ? env[names.id]! : null,
            clientSecret: env[names.secret]!,
            ...(name === 'openbanking' ? { tls: openBankingTls(e) } : {}),
          }
        : null;
      return [name, endpoint];
    }),
  ) as Record<ProviderName, PartnerEndpointConfig | null>;
}

/** The Open Banking client certificate files, when configured. */
function openBankingTls(e: PartnerEnv): PartnerTlsFiles | null {
  if (!e.OPENBANKING_TLS_CERT || !e.OPENBANKING_TLS_KEY) return null;
  return {
    certFile: e.OPENBANKING_TLS_CERT,
    keyFile: e.OPENBANKING_TLS_KEY,
    caFile: e.OPENBANKING_TLS_CA ?? null,
  };
}

/** Open Banking's mutual TLS: certificate and key together, files present, required in production. */
function tlsProblems(env: NodeJS.ProcessEnv, has: (name: string) => boolean): string[] {
  const problems: string[] = [];
  if (
    has('OPENBANKING_TLS_CERT') !== has('OPENBANKING_TLS_KEY') ||
    (has('OPENBANKING_TLS_CA') && !has('OPENBANKING_TLS_CERT'))
  ) {
    problems.push(
      'OPENBANKING_TLS_CERT and OPENBANKING_TLS_KEY go together, and OPENBANKING_TLS_CA needs them',
    );
  }
  for (const name of ['OPENBANKING_TLS_CERT', 'OPENBANKING_TLS_KEY', 'OPENBANKING_TLS_CA']) {
    if (has(name) && !existsSync(env[name]!.trim()))
      problems.push(`${name}: no file at ${env[name]!.trim()}`);
  }
  if (env.NODE_ENV === 'production' && has('OPENBANKING_BASE_URL') && !has('OPENBANKING_TLS_CERT')) {
    problems.push(
      'OPENBANKING_TLS_CERT / OPENBANKING_TLS_KEY: production requires a client certificate for Open Banking (mutual TLS)',
    );
  }
  return problems;
}

/** Partner rules across variables: credentials with each URL, TLS files, and production's demands. */
export function partnerProblems(env: NodeJS.ProcessEnv, has: (name: string) => boolean): string[] {
  const problems: string[] = [];
  for (const names of Object.values(PARTNER_ENV)) {
    const required: string[] = names.id ? [names.id, names.secret] : [names.secret];
    if (has(names.url) && required.some((name) => !has(name))) {
      problems.push(`${required.join(' and ')} required with ${names.url}`);
    }
  }
  problems.push(...tlsProblems(env, has));
  if (env.NODE_ENV === 'production') {
    if (!Object.values(PARTNER_ENV).some((names) => has(names.url))) {
      problems.push(
        'OPENBANKING_BASE_URL / PLAID_BASE_URL / STRIPE_BASE_URL: production refuses the local sandboxes; configure at least one partner',
      );
    }
  }
  return problems;
}
