import { describe, expect, it } from 'vitest';
import { loadConfig } from '../../server/config.js';
import { problemsOf } from '../helpers/config.js';
import { DEV_WEBHOOK_SECRETS } from '../helpers/webhook-secrets.js';

describe('webhook configuration', () => {
  it('uses the development secrets outside production and reads rotation lists', () => {
    const dev = loadConfig({}).partners;
    expect(dev.stripe?.webhookSecrets).toEqual([DEV_WEBHOOK_SECRETS.stripe]);
    expect(dev.openbanking?.webhookSecrets).toEqual([DEV_WEBHOOK_SECRETS.openbanking]);
    const config = loadConfig({
      STRIPE_WEBHOOK_SECRETS: 'whsec_new, whsec_old',
      PLAID_WEBHOOK_ALLOW_CIDRS: '52.21.26.131/32,2001:db8::/32',
      WEBHOOK_TOLERANCE_SECONDS: '120',
    });
    expect(config.partners.stripe?.webhookSecrets).toEqual(['whsec_new', 'whsec_old']);
    expect(config.partners.plaid?.webhookAllowCidrs).toEqual(['52.21.26.131/32', '2001:db8::/32']);
    expect(config.partners.stripe?.webhookAllowCidrs).toEqual([]);
    expect(config.webhooks).toMatchObject({ toleranceSeconds: 120 });
  });

  it('refuses malformed CIDR blocks and, in production, the development secrets', () => {
    expect(problemsOf({ STRIPE_WEBHOOK_ALLOW_CIDRS: '10.0.0.0/33,nope' }).join('\n')).toMatch(
      /STRIPE_WEBHOOK_ALLOW_CIDRS/,
    );
    const production = problemsOf({
      NODE_ENV: 'production',
      STRIPE_WEBHOOK_SECRETS: DEV_WEBHOOK_SECRETS.stripe,
    });
    expect(production.join('\n')).toMatch(
      /STRIPE_WEBHOOK_SECRETS: production refuses the development webhook secret/,
    );
  });

  it('has no secrets in production unless configured', () => {
    const env = {
      NODE_ENV: 'production',
      DATABASE_URL: 'postgres://db.internal:5432/tributary',
      AUTH_JWKS_URL: 'https://id.example/.well-known/jwks.json',
      AUTH_ISSUER: 'https://id.example/',
      AUTH_AUDIENCE: 'tributary',
      ROUTER_SECRET: 'r'.repeat(40),
      SECRETS_KEY: `k1:${Buffer.alloc(32, 1).toString('base64')}`,
      PLAID_BASE_URL: 'https://plaid.example',
      PLAID_CLIENT_ID: 'client',
      PLAID_SECRET: 'secret',
    };
    const partners = loadConfig(env).partners;
    expect(partners.stripe?.webhookSecrets).toEqual([]);
    expect(partners.openbanking?.webhookSecrets).toEqual([]);
  });
});
