import { describe, expect, it } from 'vitest';
import { loadConfig } from '../../server/config.js';
import { problemsOf } from '../helpers/config.js';

describe('per-partner call settings', () => {
  it('gives every partner the PARTNER_* defaults: reads the read timeout, writes the payment timeout', () => {
    const { partners } = loadConfig({ PARTNER_READ_TIMEOUT_MS: '4000', PARTNER_PAYMENT_TIMEOUT_MS: '20000' });
    for (const settings of Object.values(partners)) {
      expect(settings.calls.timeoutMs).toEqual({ read: 4_000, write: 20_000 });
    }
  });

  it("lets one partner's variables override the defaults for that partner only", () => {
    const { partners } = loadConfig({
      STRIPE_READ_TIMEOUT_MS: '2500',
      STRIPE_RETRY_ATTEMPTS: '0',
      STRIPE_BREAKER_FAILURE_RATIO: '0.25',
      PLAID_MAX_CONNECTIONS: '4',
    });
    expect(partners.stripe?.calls).toMatchObject({
      timeoutMs: { read: 2_500, write: 15_000 },
      retryAttempts: 0,
      breakerFailureRatio: 0.25,
      maxConnections: 32,
    });
    expect(partners.plaid?.calls).toMatchObject({
      timeoutMs: { read: 5_000 },
      maxConnections: 4,
      retryAttempts: 2,
    });
    expect(partners.openbanking?.calls).toMatchObject({ timeoutMs: { read: 5_000 }, retryAttempts: 2 });
  });

  it('reports a bad partner override by its variable name, with every other problem', () => {
    const problems = problemsOf({
      STRIPE_READ_TIMEOUT_MS: 'soon',
      PLAID_BREAKER_FAILURE_RATIO: '2',
      PORT: '-1',
    });
    expect(problems.join('\n')).toMatch(/STRIPE_READ_TIMEOUT_MS/);
    expect(problems.join('\n')).toMatch(/PLAID_BREAKER_FAILURE_RATIO/);
    expect(problems.join('\n')).toMatch(/PORT/);
  });

  it('requires the credentials with a partner URL', () => {
    expect(problemsOf({ STRIPE_BASE_URL: 'https://api.stripe.example' }).join('\n')).toMatch(
      /STRIPE_SECRET_KEY required with STRIPE_BASE_URL/,
    );
    expect(problemsOf({ PLAID_BASE_URL: 'https://plaid.example', PLAID_SECRET: 's' }).join('\n')).toMatch(
      /PLAID_CLIENT_ID and PLAID_SECRET required with PLAID_BASE_URL/,
    );
  });
});
